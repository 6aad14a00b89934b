"""The suppression list, shared by every channel: an address on it is never mailed, imported
or invited again — except that a person who unsubscribed may come back by their own act."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from essaim.people.models import Consent, Suppression, email_hash

# A person who unsubscribed from everything may come back by confirming a new sign-up from their
# own mailbox; an erasure, a bounce, a complaint or an abuse report keeps the address out for good.
SELF_LIFTABLE = frozenset({Suppression.Reason.UNSUBSCRIBE})


# PostgreSQL channel on which every unsubscribe is announced, for the bulk senders that LISTEN
# (essaim.mailing.sender): "h:<email hash>" when an address is suppressed, "w:<purpose>:<email
# hash>" when a consent is withdrawn. NOTIFY inside a transaction is delivered at its commit, and
# not at all if it rolls back. On SQLite the senders poll the suppression list instead.
UNSUBSCRIBE_CHANNEL = "essaim_unsubscribe"


def announce(payloads: list[str]) -> None:
    """NOTIFY the senders (PostgreSQL only; delivered when the current transaction commits)."""
    if not payloads or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for payload in payloads:
            cursor.execute("SELECT pg_notify(%s, %s)", [UNSUBSCRIBE_CHANNEL, payload])


def announce_suppressed(hashed: str) -> None:
    announce([f"h:{hashed}"])


def unmailable_sql(*, email_hash: str, contact_id: str, purpose: str) -> str:
    """A SQL condition for raw statements of other apps (the bulk sender's claim): true when the
    address whose hash is `email_hash` is suppressed, or when the contact `contact_id` (may be
    NULL: no consent to check) has not granted `purpose`; each argument is a SQL expression.
    Scalar subqueries rather than EXISTS: the planner then probes the suppression and consent
    indexes for each of a claim's rows instead of hashing whole tables (it did, with stale
    statistics). Consent is unique per (contact, purpose)."""
    suppression, hashed = Suppression._meta.db_table, _column(Suppression, "email_hash")
    consent, granted = Consent._meta.db_table, Consent.Status.GRANTED.value
    status, contact, of_purpose = (_column(Consent, f) for f in ("status", "contact", "purpose"))
    return f"""(
    (SELECT 1 FROM {suppression} s WHERE s.{hashed} = {email_hash} LIMIT 1) IS NOT NULL
    OR ({contact_id} IS NOT NULL AND (
        SELECT c.{status} FROM {consent} c
        WHERE c.{contact} = {contact_id} AND c.{of_purpose} = {purpose}
    ) IS DISTINCT FROM '{granted}'))
"""  # noqa: S608 - only the models' names and the caller's expressions are interpolated


def _column(model: type[models.Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.column)


def is_suppressed(email_key: str) -> bool:
    return Suppression.objects.filter(email_hash=email_hash(email_key)).exists()


def blocks_own_return(email_key: str) -> bool:
    """True if the address is suppressed for a reason the person cannot lift themselves."""
    return (
        Suppression.objects.filter(email_hash=email_hash(email_key))
        .exclude(reason__in=SELF_LIFTABLE)
        .exists()
    )


def lift_for_own_return(*, email_key: str, asked_at: datetime) -> bool:
    """Remove a self-liftable suppression older than the person's new request (a later
    unsubscribe wins over an earlier sign-up). True if one was removed."""
    deleted, _ = Suppression.objects.filter(
        email_hash=email_hash(email_key), reason__in=SELF_LIFTABLE, created_at__lt=asked_at
    ).delete()
    return bool(deleted)


def suppress(*, email_key: str, reason: str, note: str = "") -> bool:
    """Add the address (by its case-folded key) to the list; True if it was not there yet.
    The first reason stays: an erasure after an unsubscribe is still recorded by the erasure
    service itself."""
    return suppress_hash(hashed=email_hash(email_key), reason=reason, note=note)


def suppress_selection(contacts: models.QuerySet[Any], *, reason: str) -> int:
    """Put the addresses of `contacts` (a query of people.Contact, never read into Python) on
    the list with `reason`, in one INSERT … SELECT; an address already there takes `reason`, as
    an erasure does (see essaim.people.services.gdpr). The senders are told on PostgreSQL in one
    more statement, and poll the list anyway. Returns the number of rows written."""
    sql, params = contacts.values("pk").query.sql_with_params()
    table, people = Suppression._meta.db_table, contacts.model._meta.db_table
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        # The WHERE also keeps SQLite from reading ON CONFLICT as a join's ON.
        cursor.execute(
            f"INSERT INTO {table} (email_hash, reason, created_at, note) "  # noqa: S608
            f"SELECT c.email_hash, %s, %s, '' FROM {people} c WHERE c.id IN ({sql}) "
            "ON CONFLICT (email_hash) DO UPDATE SET reason = excluded.reason",
            [reason, now, *params],
        )
        written = max(cursor.rowcount, 0)
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT count(pg_notify(%s, 'h:' || c.email_hash)) "  # noqa: S608
                f"FROM {people} c WHERE c.id IN ({sql})",
                [UNSUBSCRIBE_CHANNEL, *params],
            )
    return written


def suppress_hash(*, hashed: str, reason: str, note: str = "") -> bool:
    """`suppress` for callers that hold the address's hash only (the mailing ledger keeps it
    after an erasure blanked the address)."""
    with transaction.atomic():
        _, created = Suppression.objects.get_or_create(
            email_hash=hashed, defaults={"reason": reason, "note": note[:200]}
        )
        if created:
            announce_suppressed(hashed)
    return created
