"""The sender's statements on the delivery ledger (synchronous; run in the sender's DB thread,
or on the event loop through psycopg's asyncio connections on PostgreSQL).

A claim is committed before any byte goes on the wire. Fresh rows are claimed as a run of ids (a
`DeliveryClaim` row) and are not written until their outcome: one write per message, a HOT
update on PostgreSQL (see Delivery). Rows that came back (`next_attempt_at` set) are claimed by
writing `claimed`. Every outcome is guarded by the claim (see `settle`), so that the janitor and
a slow sender never overwrite each other.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from essaim.lib.text import InvalidValue, normalize_email
from essaim.mailing.models import Campaign, Delivery, DeliveryClaim
from essaim.people.models import Suppression, email_hash
from essaim.people.services.contacts import suppress_hard_bounce
from essaim.people.services.suppression import unmailable_sql

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("essaim.mailing.sender")

D = Delivery.Status
FRESH_CLAIM_TRIES = 3  # two senders claiming the same run at once: the second claims again


@dataclass(slots=True)  # not frozen: one per message, and a frozen one costs more to build
class Claimed:
    id: int
    campaign_id: int
    contact_id: int | None
    email: str
    email_hash: str
    first_name: str
    provider: str
    attempts: int  # this attempt's number, written with the outcome
    departement: str
    claim: int  # the DeliveryClaim holding this row; 0 for a row claimed by writing `claimed`


@dataclass(slots=True)  # not frozen: one per message (see Claimed)
class Settlement:
    row: Claimed
    status: str
    code: int | None = None
    reply: str = ""
    next_attempt_at: dt.datetime | None = None


def _ts(value: dt.datetime | None) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _is_pg() -> bool:
    return connection.vendor == "postgresql"


# --- claims -------------------------------------------------------------------------------------

# Whether a claimed row must not be sent after all: its address was suppressed, or its contact
# withdrew consent for the campaign's purpose, since the audience was frozen. Such rows are
# settled as `suppressed` with the next outcomes. `{t}` is the ledger's alias in each statement.
_STOPPED = unmailable_sql(
    email_hash="{t}.email_hash", contact_id="{t}.contact_id", purpose="%(purpose)s"
)
_COLUMNS = "{t}.id, {t}.contact_id, {t}.email, {t}.email_hash, {t}.first_name, {t}.provider"
# A campaign's cursor: the last id of its claims, or just before its first row; and its last row.
_CURSOR = """coalesce(
    (SELECT max(last_id) FROM mailing_deliveryclaim WHERE campaign_id = {c}),
    (SELECT min(id) - 1 FROM mailing_delivery WHERE campaign_id = {c}), 0)"""
_LAST = "coalesce((SELECT max(id) FROM mailing_delivery WHERE campaign_id = {c}), 0)"

# PostgreSQL, one statement (one round trip, committed by itself in autocommit):
# - `camp` takes a share lock on the campaign while it is `sending`: a cancel (which updates
#   that row) waits for the claims in flight and then sees them, and no claim starts after it;
# - `due` + `retried`: rows that came back and are due, claimed by writing `claimed`;
# - `run`: the next ids after the campaign's cursor (the highest last_id of its claims); its
#   rows of blacked-out départements get a next_attempt_at (`held_back`), so that they are taken
#   as rows that came back once the window ends; `made` records the claim, ended at once when
#   the run has nothing to send. Two senders computing the same cursor insert the same
#   (campaign, first_id): the second statement fails whole, and its sender claims again.
# MATERIALIZED: each pick runs once, whatever the plan of what follows. The cursor and the
# campaign's lock are scalar subqueries of the picks, not joins: joined, the planner may walk the
# campaign's rows from its first id at every claim. The run is bounded on both sides by ids of
# the campaign (the cursor starts just before its first row, and its last row ends it), so that
# whichever index the planner takes the scan starts at the cursor and stops at the campaign's
# end: from 0, a campaign's first claim through the primary key would walk the rows of every
# older campaign. Not a row comparison
# `(campaign_id, id) > (campaign, cursor)`: its index search starts at the campaign's first row,
# so every claim would walk the rows already sent.
_CLAIM_SQL_PG = f"""
WITH camp AS MATERIALIZED (
    SELECT id FROM mailing_campaign WHERE id = %(campaign)s AND status = 'sending' FOR SHARE
), due AS MATERIALIZED (
    SELECT d.id FROM mailing_delivery d
    WHERE d.campaign_id = %(campaign)s AND EXISTS (SELECT FROM camp)
      AND d.next_attempt_at <= %(now)s AND d.status IN ('pending', 'deferred')
      AND d.departement <> ALL(%(blocked)s::text[])
    ORDER BY d.next_attempt_at LIMIT %(limit)s FOR UPDATE OF d SKIP LOCKED
), retried AS (
    UPDATE mailing_delivery AS d SET status = 'claimed', claimed_by = %(sender)s,
        lease_until = %(lease)s, last_change_at = %(now)s, attempts = d.attempts + 1
    FROM due WHERE d.id = due.id
    RETURNING {_COLUMNS.format(t="d")}, d.attempts, d.departement
), cursor AS MATERIALIZED (
    SELECT {_CURSOR.format(c="%(campaign)s")} AS after, {_LAST.format(c="%(campaign)s")} AS last
), ahead AS MATERIALIZED (
    SELECT {_COLUMNS.format(t="d")}, d.attempts + 1 AS attempts, d.departement,
        d.status = 'pending' AND d.next_attempt_at IS NULL AS open,
        d.departement = ANY(%(blocked)s::text[]) AS blocked
    FROM mailing_delivery d
    WHERE d.campaign_id = %(campaign)s AND EXISTS (SELECT FROM camp)
      AND d.id > (SELECT after FROM cursor) AND d.id <= (SELECT last FROM cursor)
    ORDER BY d.id LIMIT %(limit)s
), run AS MATERIALIZED (
    SELECT * FROM ahead ORDER BY id LIMIT greatest(%(limit)s - (SELECT count(*) FROM due), 0)
), held_back AS (
    UPDATE mailing_delivery AS d SET next_attempt_at = %(now)s
    FROM run WHERE d.id = run.id AND run.open AND run.blocked
), made AS (
    INSERT INTO mailing_deliveryclaim
        (campaign_id, sender_id, first_id, last_id, lease_until, created_at, ended_at, expired)
    SELECT %(campaign)s, %(sender)s, cursor.after + 1, max(run.id), %(lease)s, %(now)s,
        CASE WHEN bool_or(run.open AND NOT run.blocked) THEN NULL ELSE %(now)s END, false
    FROM run CROSS JOIN cursor GROUP BY cursor.after
    RETURNING id
)
SELECT r.*, {_STOPPED.format(t="r")}, 0 FROM retried r
UNION ALL
SELECT run.id, run.contact_id, run.email, run.email_hash, run.first_name, run.provider,
    run.attempts, run.departement, {_STOPPED.format(t="run")}, (SELECT id FROM made)
FROM run WHERE run.open AND NOT run.blocked
"""  # noqa: S608 - only constants are interpolated

# SQLite: the same steps in one IMMEDIATE transaction (SQLite has one writer at a time: it holds
# the write lock from the first pick to the commit). Ids and rows travel as one JSON value each,
# so that every statement is one step: Python's sqlite3 releases and takes back the GIL at each
# step, and while the event loop is busy each take waited for the switch interval.
_SENDING_SQLITE = "SELECT 1 FROM mailing_campaign WHERE id = %(campaign)s AND status = 'sending'"
_DUE_SQLITE = """
SELECT json_group_array(id) FROM (
    SELECT id FROM mailing_delivery
    WHERE campaign_id = %(campaign)s AND next_attempt_at IS NOT NULL
      AND next_attempt_at <= %(now)s AND status IN ('pending', 'deferred')
      AND departement NOT IN (SELECT value FROM json_each(%(blocked)s))
    ORDER BY next_attempt_at LIMIT %(limit)s)
"""
_RETRY_SQLITE = """
UPDATE mailing_delivery SET status = 'claimed', claimed_by = %(sender)s, lease_until = %(lease)s,
    last_change_at = %(now)s, attempts = attempts + 1
WHERE id IN (SELECT value FROM json_each(%(ids)s))
"""
_RETRIED_SQLITE = f"""
SELECT json_group_array(json_array({_COLUMNS.format(t="d")}, d.attempts, d.departement,
    {_STOPPED.format(t="d")}, 0))
FROM mailing_delivery d WHERE d.id IN (SELECT value FROM json_each(%(ids)s))
"""  # noqa: S608 - only constants are interpolated
_CURSOR_SQLITE = f"SELECT {_CURSOR.format(c='%(campaign)s')}"
_RUN_SQLITE = f"""
SELECT json_group_array(json_array({_COLUMNS.format(t="d")}, d.attempts + 1, d.departement,
    {_STOPPED.format(t="d")}, d.status = 'pending' AND d.next_attempt_at IS NULL))
FROM (SELECT * FROM mailing_delivery WHERE campaign_id = %(campaign)s AND id > %(after)s
      AND id <= {_LAST.format(c="%(campaign)s")} ORDER BY id LIMIT %(limit)s) AS d
"""  # noqa: S608 - only constants are interpolated
_HOLD_BACK_SQLITE = """
UPDATE mailing_delivery SET next_attempt_at = %(now)s
WHERE id IN (SELECT value FROM json_each(%(ids)s))
"""


def claim(
    *,
    sender_id: str,
    campaign_id: int,
    purpose: str,
    limit: int,
    lease_seconds: float,
    blocked: Sequence[str] = (),
) -> tuple[list[Claimed], list[Claimed]]:
    """Claim up to `limit` rows of a campaign that is `sending`: rows that came back and are due
    first, then the next run after the campaign's cursor, leaving out the rows of the `blocked`
    départements (blackout windows). Returns (rows to send, rows to settle as suppressed)."""
    params = _claim_params(sender_id, campaign_id, purpose, limit, lease_seconds, blocked)
    if _is_pg():
        # Autocommit: the claim is committed when the statement returns (the sender's
        # connection is never in a transaction here), before any byte goes on the wire.
        assert connection.get_autocommit()
        for attempt in range(FRESH_CLAIM_TRIES):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(_CLAIM_SQL_PG, params)
                    return _claimed(cursor.fetchall(), campaign_id)
            except IntegrityError:
                if attempt == FRESH_CLAIM_TRIES - 1:
                    raise
        raise AssertionError("unreachable")
    now, lease = params["now"], params["lease"]
    params.update(blocked=json.dumps(list(blocked)), now=_ts(now), lease=_ts(lease))
    rows: list[Any] = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SENDING_SQLITE, params)
        if cursor.fetchone() is None:
            return [], []
        cursor.execute(_DUE_SQLITE, params)
        ids: list[int] = json.loads(cursor.fetchone()[0])
        if ids:
            params["ids"] = json.dumps(ids)
            cursor.execute(_RETRY_SQLITE, params)
            cursor.execute(_RETRIED_SQLITE, params)
            rows += json.loads(cursor.fetchone()[0])
        if len(ids) < limit:
            cursor.execute(_CURSOR_SQLITE, params)
            after = cursor.fetchone()[0]
            cursor.execute(_RUN_SQLITE, {**params, "after": after, "limit": limit - len(ids)})
            run = json.loads(cursor.fetchone()[0])
            if run:
                blocked_set = set(blocked)
                held = [r[0] for r in run if r[9] and r[7] in blocked_set]
                if held:
                    cursor.execute(_HOLD_BACK_SQLITE, {**params, "ids": json.dumps(held)})
                fresh = [r for r in run if r[9] and r[7] not in blocked_set]
                made = DeliveryClaim.objects.create(
                    campaign_id=campaign_id,
                    sender_id=sender_id,
                    first_id=after + 1,
                    last_id=run[-1][0],
                    lease_until=lease,
                    created_at=now,
                    ended_at=None if fresh else now,
                )
                rows += [[*r[:9], made.pk] for r in fresh]
    return _claimed(rows, campaign_id)


async def claim_async(
    conn: psycopg.AsyncConnection[Any],
    *,
    sender_id: str,
    campaign_id: int,
    purpose: str,
    limit: int,
    lease_seconds: float,
    blocked: Sequence[str] = (),
) -> tuple[list[Claimed], list[Claimed]]:
    """claim() on PostgreSQL through an autocommit connection of the event loop (see
    essaim.lib.postgres): the same statement, committed when it returns. The connection keeps
    it prepared; the server still plans it at each run, since a generic plan knows neither the
    campaign nor the limit and walked the wrong index (docs/benchmarks-history.md)."""
    import psycopg

    params = _claim_params(sender_id, campaign_id, purpose, limit, lease_seconds, blocked)
    for attempt in range(FRESH_CLAIM_TRIES):
        try:
            cursor = await conn.execute(_CLAIM_SQL_PG, params)
            return _claimed(await cursor.fetchall(), campaign_id)
        except psycopg.errors.UniqueViolation:
            if attempt == FRESH_CLAIM_TRIES - 1:
                raise
    raise AssertionError("unreachable")


def _claim_params(
    sender_id: str,
    campaign_id: int,
    purpose: str,
    limit: int,
    lease: float,
    blocked: Sequence[str],
) -> dict[str, Any]:
    now = timezone.now()
    return {
        "campaign": campaign_id,
        "now": now,
        "limit": limit,
        "purpose": purpose,
        "sender": sender_id,
        "lease": now + dt.timedelta(seconds=lease),
        "blocked": list(blocked),
    }


def _claimed(rows: list[Any], campaign_id: int) -> tuple[list[Claimed], list[Claimed]]:
    rows.sort(key=lambda r: r[0])  # RETURNING has no order; send in freeze order
    send: list[Claimed] = []
    stopped: list[Claimed] = []
    for r in rows:
        row = Claimed(r[0], campaign_id, r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[9])
        (stopped if r[8] else send).append(row)
    return send, stopped


# --- outcomes -----------------------------------------------------------------------------------

# The guard of every outcome: the row is still held by this sender, either `claimed` by it, or
# `pending` (never re-queued) inside a live claim of its own. A row the janitor settled, or
# another sender holds, is left alone: whoever comes second changes nothing (on PostgreSQL a
# concurrent change makes the UPDATE re-check the row's new version). The live claim is joined
# to the outcomes (c, NULL when there is none) rather than probed by an EXISTS in the CASE, which
# PostgreSQL cannot pull up into a join and runs as a subplan, once per row.
_LIVE_CLAIM = """LEFT JOIN mailing_deliveryclaim c
    ON c.id = v.claim AND c.sender_id = %(sender)s AND c.ended_at IS NULL"""
_HELD = """CASE WHEN v.claim = 0 THEN d.status = 'claimed' AND d.claimed_by = %(sender)s
    ELSE d.status = 'pending' AND d.next_attempt_at IS NULL
        AND d.id BETWEEN c.first_id AND c.last_id END"""
_SET = """status = v.status, smtp_code = v.code, smtp_reply = v.reply, next_attempt_at = v.nat,
    attempts = v.attempts, lease_until = NULL, last_change_at = %(now)s"""

# One statement of fixed text whatever the batch (no VALUES list): no per-batch SQL to build,
# parse or plan differently; autocommit makes it one round trip. The claims whose last rows these
# are end in the same statement (its UPDATE of the ledger still sees them live: one snapshot).
# On PostgreSQL the common outcome, a fresh row accepted with a 250 at its first attempt, travels
# as three arrays in text form (ids, claims, replies split on newlines), built by str.join in C;
# the rest as one JSON text (json.dumps runs in C; psycopg's array dumper runs Python per
# element). JSON costs more per row than the arrays, on both sides, so the common case avoids it.
_OUTCOMES_PG = """
SELECT (e->>0)::bigint AS id, (e->>1)::bigint AS claim, e->>2 AS status,
       (e->>3)::integer AS code, e->>4 AS reply, (e->>5)::timestamptz AS nat,
       (e->>6)::integer AS attempts
FROM jsonb_array_elements(%(rows)s::jsonb) AS e
UNION ALL
SELECT a.id, a.claim, 'accepted', 250, a.reply, NULL, 1
FROM unnest(%(ids)s::bigint[], %(claims)s::bigint[], string_to_array(%(replies)s, E'\\n'))
    AS a(id, claim, reply)
"""
_SETTLE_SQL_PG = f"""
WITH ended AS (
    UPDATE mailing_deliveryclaim SET ended_at = %(now)s, lease_until = NULL
    WHERE id = ANY(%(ended)s::bigint[]) AND sender_id = %(sender)s AND ended_at IS NULL
)
UPDATE mailing_delivery AS d SET {_SET}
FROM ({_OUTCOMES_PG}) AS v {_LIVE_CLAIM}
WHERE d.id = v.id AND {_HELD}
"""  # noqa: S608 - only constants are interpolated
_SETTLE_SQL_SQLITE = f"""
UPDATE mailing_delivery AS d SET {_SET}
FROM (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS claim,
             json_extract(value, '$[2]') AS status, json_extract(value, '$[3]') AS code,
             json_extract(value, '$[4]') AS reply, json_extract(value, '$[5]') AS nat,
             json_extract(value, '$[6]') AS attempts
      FROM json_each(%(rows)s)) AS v {_LIVE_CLAIM}
WHERE d.id = v.id AND {_HELD}
"""  # noqa: S608 - only constants are interpolated
_END_CLAIMS_SQLITE = """
UPDATE mailing_deliveryclaim SET ended_at = %(now)s, lease_until = NULL
WHERE id IN (SELECT value FROM json_each(%(ended)s)) AND sender_id = %(sender)s
  AND ended_at IS NULL
"""


def settle(sender_id: str, settlements: Sequence[Settlement], ended: Sequence[int] = ()) -> int:
    """Write outcomes in one statement, guarded (see _HELD), and end the `ended` claims (whose
    last rows these are). Returns rows changed."""
    if not settlements:
        return 0
    if _is_pg():
        with connection.cursor() as cursor:
            cursor.execute(_SETTLE_SQL_PG, _settle_params(sender_id, settlements, ended, pg=True))
            return int(cursor.rowcount)
    params = _settle_params(sender_id, settlements, ended, pg=False)
    params["now"] = _ts(params["now"])
    params["ended"] = json.dumps(list(ended))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_SETTLE_SQL_SQLITE, params)
        changed = int(cursor.rowcount)
        if ended:
            cursor.execute(_END_CLAIMS_SQLITE, params)
    return changed


async def settle_async(
    conn: psycopg.AsyncConnection[Any],
    sender_id: str,
    settlements: Sequence[Settlement],
    ended: Sequence[int] = (),
) -> int:
    """settle() on PostgreSQL through an autocommit connection of the event loop."""
    if not settlements:
        return 0
    params = _settle_params(sender_id, settlements, ended, pg=True)
    cursor = await conn.execute(_SETTLE_SQL_PG, params)
    return int(cursor.rowcount)


def _plain(s: Settlement) -> bool:
    """A fresh row accepted at its first attempt with a 250 (see _OUTCOMES_PG)."""
    return (
        s.code == 250
        and s.status == "accepted"
        and s.row.claim != 0
        and s.row.attempts == 1
        and s.reply != ""
    )


def _settle_params(
    sender_id: str, settlements: Sequence[Settlement], ended: Sequence[int], *, pg: bool
) -> dict[str, Any]:
    # `pg` is the caller's: Django's connection proxy is a context-local lookup, costly on the
    # loop. PostgreSQL reads ISO 8601 with its offset; SQLite compares Django's own text form.
    params: dict[str, Any] = {"now": timezone.now(), "sender": sender_id, "ended": list(ended)}
    rest: Sequence[Settlement] = settlements
    if pg:
        plain: list[Settlement] = []
        others: list[Settlement] = []
        for s in settlements:
            (plain if _plain(s) else others).append(s)
        replies = "\n".join([s.reply[:200] for s in plain])
        if replies.count("\n") == len(plain) - 1:
            rest = others
        else:  # a reply of its own holds a newline: everything goes as JSON
            plain, replies = [], ""
        params["ids"] = "{" + ",".join([str(s.row.id) for s in plain]) + "}"
        params["claims"] = "{" + ",".join([str(s.row.claim) for s in plain]) + "}"
        params["replies"] = replies
    when = (lambda d: d.isoformat()) if pg else _ts
    params["rows"] = json.dumps(
        [
            [
                s.row.id,
                s.row.claim,
                s.status,
                s.code,
                s.reply[:200],
                None if s.next_attempt_at is None else when(s.next_attempt_at),
                s.row.attempts,
            ]
            for s in rest
        ]
    )
    return params


# --- leases and the janitor ---------------------------------------------------------------------

_HEARTBEAT_CLAIMS = (
    "UPDATE mailing_deliveryclaim SET lease_until = %s WHERE sender_id = %s AND ended_at IS NULL"
)
# `next_attempt_at IS NOT NULL`: rows claimed by writing `claimed` are found by the retry index.
_HEARTBEAT_ROWS = (
    "UPDATE mailing_delivery SET lease_until = %s "
    "WHERE next_attempt_at IS NOT NULL AND status = 'claimed' AND claimed_by = %s"
)


def heartbeat(sender_id: str, lease_seconds: float) -> int:
    """Push the lease of every claim and every claimed row this sender holds."""
    lease = _ts(timezone.now() + dt.timedelta(seconds=lease_seconds))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_HEARTBEAT_CLAIMS, [lease, sender_id])
        claims = int(cursor.rowcount)
        cursor.execute(_HEARTBEAT_ROWS, [lease, sender_id])
        return claims + int(cursor.rowcount)


async def heartbeat_async(
    conn: psycopg.AsyncConnection[Any], sender_id: str, lease_seconds: float
) -> int:
    """heartbeat() on PostgreSQL through an autocommit connection of the event loop."""
    lease = timezone.now() + dt.timedelta(seconds=lease_seconds)
    claims = await conn.execute(_HEARTBEAT_CLAIMS, [lease, sender_id])
    rows = await conn.execute(_HEARTBEAT_ROWS, [lease, sender_id])
    return int(claims.rowcount) + int(rows.rowcount)


def expire_leases() -> int:
    """The janitor: claims whose lease ran out belong to a dead (or frozen) sender. Whether
    their messages left is unknown, so their rows become `unknown`, never `pending`. Returns
    the rows settled so."""
    now = timezone.now()
    reply = "lease expired: the sender stopped"
    settled = 0
    with transaction.atomic():
        # Locked: a sender ending one of these claims in the same moment goes first or sees it
        # expired; its outcomes and these updates meet on the rows themselves (see _HELD).
        dead = list(
            DeliveryClaim.objects.select_for_update()
            .filter(ended_at=None, lease_until__lt=now)
            .values_list("pk", "campaign_id", "first_id", "last_id")
        )
        held = DeliveryClaim.held_rows((c, first, last) for _pk, c, first, last in dead)
        if held is not None:
            settled += Delivery.objects.filter(held).update(
                status=D.UNKNOWN, smtp_reply=reply, last_change_at=now
            )
            DeliveryClaim.objects.filter(pk__in=[d[0] for d in dead]).update(
                ended_at=now, lease_until=None, expired=True
            )
        settled += Delivery.objects.filter(
            next_attempt_at__isnull=False, status=D.CLAIMED, lease_until__lt=now
        ).update(
            status=D.UNKNOWN,
            next_attempt_at=None,
            lease_until=None,
            smtp_reply=reply,
            last_change_at=now,
        )
    return settled


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
    """A campaign still has work: a live claim, a row that came back (`next_attempt_at` is set
    exactly while a row that came back is open), or rows after its cursor (its last row's id is
    above its claims' last `last_id`). Each is one probe of an index: this runs every janitor
    round, during million-row sends (an EXISTS of pending rows after the cursor was planned as a
    sequential scan, through every row already sent)."""
    live = DeliveryClaim.objects.filter(campaign=OuterRef("pk"), ended_at=None)
    came_back = Delivery.objects.filter(campaign=OuterRef("pk"), next_attempt_at__isnull=False)
    last_row = Delivery.objects.filter(campaign=OuterRef("pk")).order_by("-pk").values("pk")[:1]
    cursor = (
        DeliveryClaim.objects.filter(campaign=OuterRef("pk")).order_by("-last_id").values("last_id")
    )[:1]
    return (
        Q(Exists(live))
        | Q(Exists(came_back))
        | Q(GreaterThan(Coalesce(Subquery(last_row), 0), Coalesce(Subquery(cursor), 0)))
    )


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
    every consent of the contact and say why on the contact's timeline, as a bounce report
    does (essaim.people.services.contacts.suppress_hard_bounce). One at a time: a flush
    carries a handful of them at most, each row's contact and consents being its own."""
    for bounce in bounces:
        try:
            key = normalize_email(bounce.email)[1]
        except InvalidValue:
            continue
        suppress_hard_bounce(
            hashed=email_hash(key),
            contact_id=bounce.contact_id,
            note=f"campagne {bounce.campaign_id}: {bounce.reply}",
            event={
                "campaign": bounce.campaign_id,
                "delivery": bounce.delivery_id,
                "reply": bounce.reply,
            },
        )
