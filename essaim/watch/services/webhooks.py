"""Alerts delivered to the webhooks HQ configures, as JSON POSTed through the guarded fetcher.

Each request carries `X-Essaim-Timestamp` (seconds since the epoch) and
`X-Essaim-Signature: sha256=<hex>`, the HMAC-SHA256, keyed with the endpoint's secret, of the
timestamp, a dot and the raw body (`b"1765152000." + body`): the receiver recomputes it over
the bytes it got, compares in constant time and refuses old timestamps (no replay).

One WebhookDelivery per alert and endpoint: tried at once (a task after the commit), then, on
failure (no answer, or a status other than 2xx), again after BACKOFF by the periodic
`retry_watch_webhooks`, until MAX_ATTEMPTS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from essaim.lib.fetcher import FetchError, fetch_sync
from essaim.watch.models import Alert, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

BACKOFF = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
# The task calls back into this module: enqueued by its dotted name (tasks import services).
DELIVER_TASK = "essaim.watch.tasks.deliver_webhook"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def payload(alert: Alert) -> bytes:
    return json.dumps(
        {
            "id": alert.pk,
            "kind": alert.kind,
            "title": alert.title,
            "story": alert.story_id,
            "watchlist": alert.watchlist_id,
            "explanation": alert.explanation,
            "created_at": alert.created_at,
        },
        cls=DjangoJSONEncoder,
        ensure_ascii=False,
        sort_keys=True,
    ).encode()


def queue(alert: Alert) -> list[int]:
    """A delivery per active endpoint, each tried once the transaction commits."""
    task = import_string(DELIVER_TASK)
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(endpoint_id=pk, alert=alert)
            for pk in WebhookEndpoint.objects.filter(active=True).values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    ids = list(WebhookDelivery.objects.filter(alert=alert).values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(partial(task.enqueue, pk))
    return ids


def claim(delivery: WebhookDelivery, now: dt.datetime) -> bool:
    """Count the attempt before the POST, on the condition that nobody counted it meanwhile,
    and keep the periodic retry away while it is in flight: two workers never send one alert
    twice. False when another worker has it."""
    in_flight = now + dt.timedelta(seconds=2 * settings.FETCH_TOTAL_TIMEOUT)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, delivered_at__isnull=True
    ).update(attempts=F("attempts") + 1, next_attempt_at=in_flight)
    if claimed:
        delivery.attempts += 1
    return bool(claimed)


def attempt(delivery_id: int, now: dt.datetime | None = None) -> bool:
    """Try one delivery; True once delivered."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("endpoint", "alert").get(pk=delivery_id)
    if delivery.delivered_at is not None or delivery.attempts >= MAX_ATTEMPTS:
        return delivery.delivered_at is not None
    if not claim(delivery, now):
        return False  # another worker is sending it
    body = payload(delivery.alert)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "X-Essaim-Timestamp": str(timestamp),
        "X-Essaim-Signature": sign(delivery.endpoint.secret, timestamp, body),
        "X-Essaim-Event": f"alert.{delivery.alert.kind}",
    }
    error = ""
    try:
        result = fetch_sync(delivery.endpoint.url, data=body, headers=headers)
        if not 200 <= result.status < 300:
            error = f"HTTP {result.status}"
    except FetchError as exc:
        error = f"{exc.code}: {exc}"[:500]
    attempts = delivery.attempts  # counted by the claim
    if not error:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts, delivered_at=now, next_attempt_at=None, last_error=""
        )
        return True
    logger.info(
        "webhook %s for alert %s failed: %s", delivery.endpoint_id, delivery.alert_id, error
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        last_error=error,
        next_attempt_at=now + BACKOFF[attempts - 1] if attempts < MAX_ATTEMPTS else None,
    )
    return False


def retry_due(now: dt.datetime | None = None) -> int:
    """Try again the deliveries whose next attempt has come; how many went through."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        Q(delivered_at__isnull=True), next_attempt_at__lte=now, attempts__lt=MAX_ATTEMPTS
    ).values_list("pk", flat=True)
    return sum(attempt(pk, now) for pk in list(due[:500]))
