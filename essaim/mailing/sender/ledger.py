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
from typing import TYPE_CHECKING, Any

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from essaim.lib.text import InvalidValue, normalize_email
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Contact, Purpose, Suppression
from essaim.people.services.contacts import record_event, withdraw_consent
from essaim.people.services.suppression import suppress

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("essaim.mailing.sender")

D = Delivery.Status


@dataclass(slots=True)  # not frozen: one per message, and frozen init costs ~4x
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


@dataclass(slots=True)  # not frozen: one per message (see Claimed)
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
WHERE id IN (SELECT value FROM json_each(%s))
"""
# SQLite: ids and rows travel as one JSON value each, so that every statement is one step.
# Python's sqlite3 releases and takes back the GIL at each step (each row), and while the
# event loop is busy each take waited for the switch interval: a claim of 250 rows through
# RETURNING spent most of its time waiting for the GIL.
_PICK_JSON = "SELECT json_group_array(id) FROM ({pick})"
_CLAIMED_JSON = """
SELECT json_group_array(json_array(
    id, contact_id, email, email_hash, first_name, provider, attempts, status, departement))
FROM mailing_delivery WHERE id IN (SELECT value FROM json_each(%s))
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
    if _is_pg():
        # Rows locked by another sender's claim are skipped, not waited for. Autocommit: the
        # claim is committed when the statement returns (the sender's connection is never in
        # a transaction here), before any byte of these rows goes on the wire.
        params = _claim_params_pg(
            sender_id, campaign_id, purpose, limit, after_id, lease_seconds, blocked
        )
        assert connection.get_autocommit()
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM_SQL_PG, params)
            return _claimed_pg(cursor.fetchall(), campaign_id, after_id)
    now = timezone.now()
    lease = now + dt.timedelta(seconds=lease_seconds)
    rows: list[Any] = []
    max_pending = after_id
    # Rows of blacked-out départements (a JSON list) stay where they are until the window ends.
    blocked_json = json.dumps(list(blocked))
    # SQLite has one writer at a time: the IMMEDIATE transaction holds the write lock from the
    # picks to the update, and commits before the rows are handed out.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _PICK_JSON.format(pick=_PICK_DEFERRED), [campaign_id, _ts(now), blocked_json, limit]
        )
        ids: list[int] = json.loads(cursor.fetchone()[0])
        if len(ids) < limit:
            cursor.execute(
                _PICK_JSON.format(pick=_PICK_PENDING),
                [campaign_id, after_id, blocked_json, limit - len(ids)],
            )
            fresh: list[int] = json.loads(cursor.fetchone()[0])
            if fresh:
                max_pending = max(fresh)
            ids += fresh
        if ids:
            picked = json.dumps(ids)
            cursor.execute(_CLAIM_SQL, [purpose, sender_id, _ts(lease), _ts(now), picked])
            cursor.execute(_CLAIMED_JSON, [picked])
            rows = json.loads(cursor.fetchone()[0])
    return _claimed(rows, campaign_id, max_pending)


async def claim_async(
    conn: psycopg.AsyncConnection[Any],
    *,
    sender_id: str,
    campaign_id: int,
    purpose: str,
    limit: int,
    after_id: int,
    lease_seconds: float,
    blocked: Sequence[str] = (),
) -> tuple[list[Claimed], int, int]:
    """claim() on PostgreSQL through an autocommit connection of the event loop (see
    essaim.mailing.sender.pgloop): the same statement, committed when it returns."""
    params = _claim_params_pg(
        sender_id, campaign_id, purpose, limit, after_id, lease_seconds, blocked
    )
    cursor = await conn.execute(_CLAIM_SQL_PG, params)
    return _claimed_pg(await cursor.fetchall(), campaign_id, after_id)


def _claim_params_pg(
    sender_id: str,
    campaign_id: int,
    purpose: str,
    limit: int,
    after_id: int,
    lease: float,
    blocked: Sequence[str],
) -> dict[str, Any]:
    now = timezone.now()
    return {
        "campaign": campaign_id,
        "now": now,
        "limit": limit,
        "after": after_id,
        "purpose": purpose,
        "sender": sender_id,
        "lease": now + dt.timedelta(seconds=lease),
        "blocked": list(blocked),
    }


def _claimed_pg(rows: list[Any], campaign_id: int, after_id: int) -> tuple[list[Claimed], int, int]:
    fresh_ids = [r[0] for r in rows if r[9]]
    return _claimed(rows, campaign_id, max(fresh_ids) if fresh_ids else after_id)


def _claimed(rows: list[Any], campaign_id: int, max_pending: int) -> tuple[list[Claimed], int, int]:
    rows.sort(key=lambda r: r[0])  # RETURNING has no order; send in freeze order
    claimed = [
        Claimed(r[0], campaign_id, r[1], r[2], r[3], r[4], r[5], r[6], r[8])
        for r in rows
        if r[7] == D.CLAIMED
    ]
    return claimed, len(rows) - len(claimed), max_pending


def settle(sender_id: str, settlements: Sequence[Settlement]) -> int:
    """Write outcomes in one statement. Guarded: a row the janitor already settled, or another
    sender holds, is left alone. Returns rows changed."""
    if not settlements:
        return 0
    if _is_pg():
        with connection.cursor() as cursor:
            cursor.execute(_SETTLE_SQL_PG, _settle_params_pg(sender_id, settlements))
            return int(cursor.rowcount)
    now = _ts(timezone.now())
    # One statement, one step (see _PICK_JSON): the outcomes travel as one JSON array.
    values = json.dumps(
        [[s.id, s.status, s.code, s.reply[:200], _ts(s.next_attempt_at)] for s in settlements]
    )
    with connection.cursor() as cursor:
        cursor.execute(_SETTLE_SQL_SQLITE, [now, values, sender_id])
        return int(cursor.rowcount)


_SETTLE_SQL_SQLITE = """
UPDATE mailing_delivery SET status = v.status, smtp_code = v.code, smtp_reply = v.reply,
    next_attempt_at = v.nat, lease_until = NULL, last_change_at = %s
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS status,
             json_extract(value, '$[2]') AS code, json_extract(value, '$[3]') AS reply,
             json_extract(value, '$[4]') AS nat
      FROM json_each(%s)) AS v
WHERE mailing_delivery.id = v.id AND mailing_delivery.status = 'claimed'
  AND mailing_delivery.claimed_by = %s
"""


async def settle_async(
    conn: psycopg.AsyncConnection[Any], sender_id: str, settlements: Sequence[Settlement]
) -> int:
    """settle() on PostgreSQL through an autocommit connection of the event loop."""
    if not settlements:
        return 0
    cursor = await conn.execute(_SETTLE_SQL_PG, _settle_params_pg(sender_id, settlements))
    return int(cursor.rowcount)


# One statement of fixed text whatever the batch (no VALUES list): no per-batch SQL to build,
# parse or plan differently; autocommit makes it one round trip. The outcomes travel as one JSON
# text (json.dumps runs in C): as five arrays, psycopg's array dumper (Python, per element) was a
# tenth of the sender's CPU.
_SETTLE_SQL_PG = """
UPDATE mailing_delivery AS d SET status = v.status, smtp_code = v.code, smtp_reply = v.reply,
    next_attempt_at = v.nat, lease_until = NULL, last_change_at = %s
FROM (SELECT (e->>0)::bigint AS id, e->>1 AS status, (e->>2)::integer AS code, e->>3 AS reply,
             (e->>4)::timestamptz AS nat
      FROM json_array_elements(%s::json) AS e) AS v
WHERE d.id = v.id AND d.status IS NOT DISTINCT FROM 'claimed' AND d.claimed_by = %s
"""
# `IS NOT DISTINCT FROM` (status is never null: the same test as `=`) so that the planner cannot
# answer the guard with the partial lease index: it did (its statistics see few claimed rows),
# hashing every claimed row of every sender at each flush, and during a send that index also
# holds an entry for each row claimed since the last vacuum (3.8 ms of a 64-row flush's 9.8 ms
# at 200,000 recipients). By the primary key, each outcome is one probe.


def _settle_params_pg(sender_id: str, settlements: Sequence[Settlement]) -> list[Any]:
    return [
        timezone.now(),
        json.dumps(
            [
                [
                    s.id,
                    s.status,
                    s.code,
                    s.reply[:200],
                    s.next_attempt_at.isoformat() if s.next_attempt_at else None,
                ]
                for s in settlements
            ]
        ),
        sender_id,
    ]


def heartbeat(sender_id: str, lease_seconds: float) -> int:
    """Push the lease of every row this sender holds."""
    lease = timezone.now() + dt.timedelta(seconds=lease_seconds)
    return Delivery.objects.filter(status=D.CLAIMED, claimed_by=sender_id).update(lease_until=lease)


async def heartbeat_async(
    conn: psycopg.AsyncConnection[Any], sender_id: str, lease_seconds: float
) -> int:
    """heartbeat() on PostgreSQL through an autocommit connection of the event loop."""
    lease = timezone.now() + dt.timedelta(seconds=lease_seconds)
    cursor = await conn.execute(
        "UPDATE mailing_delivery SET lease_until = %s WHERE status = 'claimed' AND claimed_by = %s",
        [lease, sender_id],
    )
    return int(cursor.rowcount)


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
    finished = list(
        Campaign.objects.filter(status=Campaign.Status.SENDING)
        .exclude(_busy())
        .values_list("pk", flat=True)
    )
    if finished:
        now = timezone.now()
        Campaign.objects.filter(pk__in=finished, status=Campaign.Status.SENDING).exclude(
            _busy()
        ).update(status=Campaign.Status.DONE, finished_at=now, updated_at=now)
    return finished


def _busy() -> Q:
    # One EXISTS per state, each answered by that state's partial index (a `status IN (…)`
    # matches none of them): this runs every janitor round, during million-row sends.
    def of(status: str) -> Exists:
        return Exists(Delivery.objects.filter(campaign=OuterRef("pk"), status=status))

    return Q(of(D.PENDING)) | Q(of(D.DEFERRED)) | Q(of(D.CLAIMED))


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
