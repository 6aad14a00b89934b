"""Alerts delivered to HQ's webhooks: JSON POSTed through the guarded fetcher, signed with
HMAC-SHA256 over the timestamp and the raw body; a failure is tried again after its wait, and a
delivery never goes twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from django.utils import timezone

from essaim.lib.testing import LocalHttpServer, serve_http
from essaim.watch.models import Alert, WebhookDelivery, WebhookEndpoint
from essaim.watch.services import webhooks

pytestmark = pytest.mark.django_db


class Receiver:
    def __init__(self) -> None:
        self.bodies: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(
            ({k.lower(): v for k, v in request.headers.items()}, await request.read())
        )
        return web.Response(status=self.statuses.pop(0) if self.statuses else 204)


@pytest.fixture
def receiver(settings: Any) -> Iterator[tuple[Receiver, LocalHttpServer]]:
    got = Receiver()
    app = web.Application()
    app.router.add_post("/hook", got.handle)
    with serve_http(app, "127.0.0.1") as server:
        settings.FETCH_ALLOW_ADDRESSES = ["127.0.0.1"]
        settings.FETCH_ALLOWED_PORTS = [server.port]
        yield got, server


def test_an_alert_reaches_the_webhook_signed_over_timestamp_and_body(
    receiver: tuple[Receiver, LocalHttpServer], django_capture_on_commit_callbacks: Any
) -> None:
    got, server = receiver
    WebhookEndpoint.objects.create(url=server.url("/hook"), secret="s3cret")
    WebhookEndpoint.objects.create(url=server.url("/off"), secret="x", active=False)
    alert = Alert.objects.create(
        kind="spike", title="Candidats", explanation={"top_terms": ["dupont"]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = webhooks.queue(alert)
    # The task delivered it after the commit; a second attempt sends nothing again.
    assert webhooks.attempt(delivery_id) is True
    [(headers, body)] = got.bodies
    expected = hmac.new(
        b"s3cret", headers["x-essaim-timestamp"].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert headers["x-essaim-signature"] == f"sha256={expected}"
    assert headers["content-type"] == "application/json"
    assert headers["x-essaim-event"] == "alert.spike"
    sent = json.loads(body)
    assert (sent["id"], sent["kind"], sent["explanation"]) == (
        alert.pk,
        "spike",
        {"top_terms": ["dupont"]},
    )
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.last_error) == (1, "")
    assert delivery.delivered_at is not None


def test_a_delivery_claimed_by_another_worker_is_not_posted_again(
    receiver: tuple[Receiver, LocalHttpServer],
) -> None:
    got, server = receiver
    endpoint = WebhookEndpoint.objects.create(url=server.url("/hook"), secret="s3cret")
    alert = Alert.objects.create(kind="spike", title="Candidats", explanation={})
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, alert=alert)
    now = timezone.now()
    # Two workers read the row at once; the first to count the attempt sends it.
    first = WebhookDelivery.objects.get(pk=delivery.pk)
    second = WebhookDelivery.objects.get(pk=delivery.pk)
    assert webhooks.claim(first, now) is True
    assert webhooks.claim(second, now) is False
    # While it is in flight, the periodic retry leaves it alone.
    assert webhooks.retry_due(now + dt.timedelta(minutes=1)) == 0
    assert got.bodies == []
    assert WebhookDelivery.objects.get().attempts == 1


def test_a_failed_delivery_is_tried_again_after_its_wait_then_stops(
    receiver: tuple[Receiver, LocalHttpServer],
) -> None:
    got, server = receiver
    endpoint = WebhookEndpoint.objects.create(url=server.url("/hook"), secret="k")
    alert = Alert.objects.create(kind="urgent", title="Sujet")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, alert=alert)
    now = timezone.now()
    got.statuses = [500]
    assert webhooks.attempt(delivery.pk, now) is False
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_error, delivery.next_attempt_at) == (
        1,
        "HTTP 500",
        now + webhooks.BACKOFF[0],
    )
    # Not yet due: nothing sent.
    assert webhooks.retry_due(now + dt.timedelta(seconds=30)) == 0
    assert len(got.bodies) == 1
    assert webhooks.retry_due(now + webhooks.BACKOFF[0]) == 1
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.next_attempt_at) == (2, None)
    assert len(got.bodies) == 2


def test_a_webhook_to_a_refused_address_fails_without_connecting(settings: Any) -> None:
    settings.FETCH_ALLOW_ADDRESSES = []
    endpoint = WebhookEndpoint.objects.create(url="http://127.0.0.1/hook", secret="k")
    alert = Alert.objects.create(kind="urgent", title="Sujet")
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, alert=alert)
    assert webhooks.attempt(delivery.pk) is False
    delivery.refresh_from_db()
    assert delivery.last_error.startswith("forbidden_address")
    assert delivery.attempts == 1


def test_hq_adds_a_webhook_whose_secret_is_shown_once_in_the_answer_itself(
    hq_client: Any,
) -> None:
    from django.contrib.messages import get_messages
    from django.urls import reverse

    response = hq_client.post(
        reverse("watch:webhook_list"), {"url": "https://hooks.exemple.fr/essaim"}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == "https://hooks.exemple.fr/essaim"
    assert len(endpoint.secret) >= 40
    # In the POST's own page, not behind a redirect, and not kept by any cache.
    assert response.status_code == 200
    assert endpoint.secret in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    # Nothing the browser keeps carries it: no cookie, no message waiting for the next page.
    for morsel in response.cookies.values():
        assert endpoint.secret not in morsel.value
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    listed = hq_client.get(reverse("watch:webhook_list"))
    assert endpoint.secret not in listed.content.decode()
    assert endpoint.url in listed.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_removing_a_webhook_asks_first_and_deletes_nothing(hq_client: Any, method: str) -> None:
    from django.urls import reverse

    from essaim.accounts.models import AuditEvent

    endpoint = WebhookEndpoint.objects.create(url="https://hooks.exemple.fr/essaim", secret="s")
    url = reverse("watch:webhook_delete", args=[endpoint.pk])
    response = getattr(hq_client, method)(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert f'action="{url}"' in page
    assert 'name="confirm" value="1"' in page
    assert list(WebhookEndpoint.objects.values_list("pk", flat=True)) == [endpoint.pk]
    # A confirm that is not "1" is not a confirmation either.
    assert hq_client.post(url, {"confirm": "oui"}).status_code == 200
    assert WebhookEndpoint.objects.count() == 1
    assert AuditEvent.objects.filter(action="watch.webhook_removed").count() == 0


def test_hq_removes_a_webhook_once_confirmed_and_it_is_audited(hq_client: Any) -> None:
    from django.urls import reverse

    from essaim.accounts.models import AuditEvent

    hq_client.post(reverse("watch:webhook_list"), {"url": "https://hooks.exemple.fr/essaim"})
    endpoint = WebhookEndpoint.objects.get()
    response = hq_client.post(reverse("watch:webhook_delete", args=[endpoint.pk]), {"confirm": "1"})
    assert response.status_code == 302
    assert response["Location"] == reverse("watch:webhook_list")
    assert WebhookEndpoint.objects.count() == 0
    assert sorted(
        AuditEvent.objects.filter(action__startswith="watch.webhook").values_list(
            "action", "details__url"
        )
    ) == [
        ("watch.webhook_added", "https://hooks.exemple.fr/essaim"),
        ("watch.webhook_removed", "https://hooks.exemple.fr/essaim"),
    ]


@pytest.mark.parametrize("url", ["", "ftp://hooks.exemple.fr/", "javascript:alert(1)", "https://"])
def test_a_webhook_needs_a_web_address(hq_client: Any, url: str) -> None:
    from django.urls import reverse

    response = hq_client.post(reverse("watch:webhook_list"), {"url": url})
    assert response.status_code == 400
    assert WebhookEndpoint.objects.count() == 0


def test_coordinators_cannot_add_or_remove_webhooks(coordinator_client: Any) -> None:
    from django.urls import reverse

    endpoint = WebhookEndpoint.objects.create(url="https://hooks.exemple.fr/", secret="k")
    assert (
        coordinator_client.post(reverse("watch:webhook_list"), {"url": "https://x.fr/"}).status_code
        == 403
    )
    assert (
        coordinator_client.post(
            reverse("watch:webhook_delete", args=[endpoint.pk]), {"confirm": "1"}
        ).status_code
        == 403
    )
    assert list(WebhookEndpoint.objects.values_list("pk", "url")) == [
        (endpoint.pk, "https://hooks.exemple.fr/")
    ]
