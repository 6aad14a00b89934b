"""The sender's statements on the delivery ledger (synchronous; run in the sender's DB thread).

Each function is one short transaction. The claim is committed before any byte goes on the
wire; every later move of a claimed row is guarded by `status='claimed' AND claimed_by=<me>`,
so that the janitor and a slow sender never overwrite each other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from essaim.lib.text import InvalidValue, normalize_email
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Contact, Purpose, Suppression
from essaim.people.services.contacts import record_event, withdraw_consent
from essaim.people.services.suppression import suppress

log = logging.getLogger("essaim.mailing.sender")

D = Delivery.Status


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    campaign_id: int
    contact_id: int | None
    email: str
    email_hash: str
    first_name: str
    provider: str
    attempts: int
    departement: str


@dataclass(frozen=True, slots=True)
class Settlement:
    id: int
    status: str
    code: int | None = None
    reply: str = ""
    next_attempt_at: dt.datetime | None = None


def _ts(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


# Settled as "suppressed" at claim time: the address was suppressed, or the contact withdrew
# consent for the campaign's purpose, since the audience was frozen. Evaluated inside the claim
# statement itself, so a claim never hands out a row that was already unsubscribed.
_CLAIM_SQL = """
UPDATE mailing_delivery SET
    status = CASE
        WHEN EXISTS (SELECT 1 FROM people_suppression s
                     WHERE s.email_hash = mailing_delivery.email_hash)
          OR (mailing_delivery.contact_id IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM people_consent c
                WHERE c.contact_id = mailing_delivery.contact_id
                  AND c.purpose = %s AND c.status = 'granted'))
        THEN 'suppressed' ELSE 'claimed' END,
    claimed_by = %s, lease_until = %s, last_change_at = %s, attempts = attempts + 1
WHERE id IN ({pick})
RETURNING id, contact_id, email, email_hash, first_name, provider, attempts, status, departement
"""
# PostgreSQL: the same in one statement (one round trip, committed by itself in autocommit):
# the due deferred rows first, then pending ones after the keyset cursor up to the limit.
# MATERIALIZED: each pick runs once, whatever the plan of the UPDATE. Constant LIMITs (fresh
# rows beyond the limit are locked for the statement only) and scalar subqueries rather than
# EXISTS: the planner then probes the suppression and consent indexes for each of the few
# hundred rows, instead of hashing whole tables at every claim (it did, with stale statistics:
# 45 ms per claim at 30,000 contacts, growing with the audience). Consent is unique per
# (contact, purpose).
_CLAIM_SQL_PG = """
WITH due AS MATERIALIZED (
    SELECT id, false AS fresh FROM mailing_delivery
    WHERE campaign_id = %(campaign)s AND status = 'deferred' AND next_attempt_at <= %(now)s
      AND departement <> ALL(%(blocked)s::text[])
    ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED
), fresh AS MATERIALIZED (
    SELECT id, true AS fresh FROM mailing_delivery
    WHERE campaign_id = %(campaign)s AND status = 'pending' AND id > %(after)s
      AND departement <> ALL(%(blocked)s::text[])
    ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED
)
UPDATE mailing_delivery SET
    status = CASE
        WHEN (SELECT 1 FROM people_suppression s
              WHERE s.email_hash = mailing_delivery.email_hash LIMIT 1) IS NOT NULL
          OR (mailing_delivery.contact_id IS NOT NULL AND (
                SELECT c.status FROM people_consent c
                WHERE c.contact_id = mailing_delivery.contact_id
                  AND c.purpose = %(purpose)s) IS DISTINCT FROM 'granted')
        THEN 'suppressed' ELSE 'claimed' END,
    claimed_by = %(sender)s, lease_until = %(lease)s, last_change_at = %(now)s,
    attempts = attempts + 1
FROM (SELECT * FROM (SELECT * FROM due UNION ALL SELECT * FROM fresh) AS u LIMIT %(limit)s) AS pick
WHERE mailing_delivery.id = pick.id
RETURNING mailing_delivery.id, contact_id, email, email_hash, first_name, provider, attempts,
    status, departement, pick.fresh
"""
# Rows of blacked-out départements (a JSON list) stay where they are until the window ends.
_PICK_PENDING = (
    "SELECT id FROM mailing_delivery WHERE campaign_id = %s AND status = 'pending' AND id > %s "
    "AND departement NOT IN (SELECT value FROM json_each(%s)) ORDER BY id LIMIT %s"
)
_PICK_DEFERRED = (
    "SELECT id FROM mailing_delivery WHERE campaign_id = %s AND status = 'deferred' "
    "AND next_attempt_at <= %s AND departement NOT IN (SELECT value FROM json_each(%s)) "
    "ORDER BY next_attempt_at LIMIT %s"
)


def claim(
    *,
    sender_id: str,
    campaign_id: int,
    purpose: str,
    limit: int,
    after_id: int,
    lease_seconds: float,
    blocked: Sequence[str] = (),
) -> tuple[list[Claimed], int, int]:
    """Claim up to `limit` rows of a campaign: deferred rows that are due first, then pending
    rows with id > after_id (a keyset cursor, see the claim index), leaving out the rows of the
    `blocked` départements (blackout windows). Returns (rows to send, rows settled as
    suppressed, highest pending id seen)."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=lease_seconds)
    rows: list[Any] = []
    max_pending = after_id
    if _is_pg():
        # Rows locked by another sender's claim are skipped, not waited for. Autocommit: the
        # claim is committed when the statement returns (the sender's connection is never in
        # a transaction here), before any byte of these rows goes on the wire.
        params: dict[str, Any] = {
            "campaign": campaign_id,
            "now": now,
            "limit": limit,
            "after": after_id,
            "purpose": purpose,
            "sender": sender_id,
            "lease": lease,
            "blocked": list(blocked),
        }
        assert connection.get_autocommit()
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL_PG, params)
            rows = cursor.fetchall()
        fresh_ids = [r[0] for r in rows if r[9]]
        if fresh_ids:
            max_pending = max(fresh_ids)
        return _claimed(rows, campaign_id, max_pending)
    # SQLite has one writer at a time: each UPDATE … RETURNING is atomic by itself, and the
    # IMMEDIATE transaction keeps the two together.
    lock = ""
    head = [purpose, sender_id, _ts(lease), _ts(now)]
    blocked_json = json.dumps(list(blocked))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL.format(pick=_PICK_DEFERRED + lock),
            [*head, campaign_id, _ts(now), blocked_json, limit],
        )
        rows.extend(cursor.fetchall())
        if len(rows) < limit:
            cursor.execute(
                _CLAIM_SQL.format(pick=_PICK_PENDING + lock),
                [*head, campaign_id, after_id, blocked_json, limit - len(rows)],
            )
            fresh = cursor.fetchall()
            if fresh:
                max_pending = max(r[0] for r in fresh)
            rows.extend(fresh)
    return _claimed(rows, campaign_id, max_pending)


def _claimed(rows: list[Any], campaign_id: int, max_pending: int) -> tuple[list[Claimed], int, int]:
    rows.sort(key=lambda r: r[0])  # RETURNING has no order; send in freeze order
    claimed = [
        Claimed(r[0], campaign_id, r[1], r[2], r[3], r[4], r[5], r[6], r[8])
        for r in rows
        if r[7] == D.CLAIMED
    ]
    return claimed, len(rows) - len(claimed), max_pending


def settle(sender_id: str, settlements: Sequence[Settlement]) -> int:
    """Write outcomes in one statement (PostgreSQL) or one transaction (SQLite). Guarded: a row
    the janitor already settled, or another sender holds, is left alone. Returns rows changed."""
    if not settlements:
        return 0
    now = _ts(timezone.now())
    if _is_pg():
        # One statement of fixed text whatever the batch (arrays, not a VALUES list): no
        # per-batch SQL to build, parse or plan differently; autocommit makes it one round trip.
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE mailing_delivery AS d SET status = v.status, smtp_code = v.code,
                    smtp_reply = v.reply, next_attempt_at = v.nat, lease_until = NULL,
                    last_change_at = %s
                FROM unnest(%s::bigint[], %s::text[], %s::integer[], %s::text[],
                            %s::timestamptz[]) AS v (id, status, code, reply, nat)
                WHERE d.id = v.id AND d.status = 'claimed' AND d.claimed_by = %s
                """,
                [
                    now,
                    [s.id for s in settlements],
                    [s.status for s in settlements],
                    [s.code for s in settlements],
                    [s.reply[:200] for s in settlements],
                    [s.next_attempt_at for s in settlements],
                    sender_id,
                ],
            )
            return int(cursor.rowcount)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE mailing_delivery SET status = %s, smtp_code = %s, smtp_reply = %s, "
            "next_attempt_at = %s, lease_until = NULL, last_change_at = %s "
            "WHERE id = %s AND status = 'claimed' AND claimed_by = %s",
            [
                (s.status, s.code, s.reply[:200], _ts(s.next_attempt_at), now, s.id, sender_id)
                for s in settlements
            ],
        )
        return int(cursor.rowcount)


def heartbeat(sender_id: str, lease_seconds: float) -> int:
    """Push the lease of every row this sender holds."""
    lease = timezone.now() + dt.timedelta(seconds=lease_seconds)
    return Delivery.objects.filter(status=D.CLAIMED, claimed_by=sender_id).update(lease_until=lease)


def expire_leases() -> int:
    """The janitor: claims whose lease ran out belong to a dead (or frozen) sender. Whether
    their message left is unknown, so they become `unknown`, never `pending`."""
    now = timezone.now()
    return Delivery.objects.filter(status=D.CLAIMED, lease_until__lt=now).update(
        status=D.UNKNOWN, smtp_reply="lease expired: the sender stopped", last_change_at=now
    )


def promote_scheduled() -> int:
    now = timezone.now()
    return Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now).update(
        status=Campaign.Status.SENDING, started_at=now, updated_at=now
    )


def finish_campaigns() -> list[int]:
    """Campaigns being sent with nothing left to send or settle are done."""
    busy = Delivery.objects.filter(status__in=[D.PENDING, D.CLAIMED, D.DEFERRED])
    finished = list(
        Campaign.objects.filter(status=Campaign.Status.SENDING)
        .exclude(pk__in=busy.filter(campaign__status=Campaign.Status.SENDING).values("campaign"))
        .values_list("pk", flat=True)
    )
    if finished:
        now = timezone.now()
        Campaign.objects.filter(pk__in=finished, status=Campaign.Status.SENDING).exclude(
            pk__in=busy.values("campaign")
        ).update(status=Campaign.Status.DONE, finished_at=now, updated_at=now)
    return finished


def campaign_statuses(ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """(status, purpose) of the campaigns being sent and of those this sender holds rows of."""
    rows = Campaign.objects.filter(
        Q(status=Campaign.Status.SENDING) | Q(pk__in=list(ids))
    ).values_list("pk", "status", "purpose")
    return {pk: (status, purpose) for pk, status, purpose in rows}


def load_campaign(campaign_id: int) -> Campaign:
    return Campaign.objects.get(pk=campaign_id)


def new_suppressions(after_id: int, overlap: int = 1000) -> tuple[int, list[str]]:
    """Suppressions added since `after_id`. On PostgreSQL ids are not committed in order, so
    the last `overlap` ids are read again (the caller keeps a set): a suppression committed
    later than 1000 newer ones would be missed by this poll (it is still caught at the next
    claim). LISTEN/NOTIFY will close that gap."""
    rows = list(
        Suppression.objects.filter(pk__gt=max(0, after_id - overlap))
        .order_by("pk")
        .values_list("pk", "email_hash")
    )
    top = max([after_id, *(pk for pk, _ in rows)])
    return top, [h for _, h in rows]


def last_suppression_id() -> int:
    return Suppression.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@dataclass(frozen=True, slots=True)
class HardBounce:
    delivery_id: int
    campaign_id: int
    contact_id: int | None
    email: str
    reply: str


def apply_hard_bounces(bounces: Sequence[HardBounce]) -> None:
    """A 5.1.x rejection: the address does not exist. Suppress it for every channel, withdraw
    every consent of the contact and say why on the contact's timeline."""
    for bounce in bounces:
        try:
            key = normalize_email(bounce.email)[1]
        except InvalidValue:
            continue
        with transaction.atomic():
            suppress(
                email_key=key,
                reason=Suppression.Reason.HARD_BOUNCE,
                note=f"campagne {bounce.campaign_id}: {bounce.reply}",
            )
            contact = (
                Contact.objects.filter(pk=bounce.contact_id).first()
                if bounce.contact_id is not None
                else None
            )
            if contact is not None:
                withdraw_consent(contact, purposes=Purpose.values, reason="hard_bounce")
                record_event(
                    contact,
                    "hard_bounce",
                    campaign=bounce.campaign_id,
                    delivery=bounce.delivery_id,
                    reply=bounce.reply,
                )
