"""Account-level services: the audit log, magic login links."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import connection, transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext

from essaim.accounts.models import AuditEvent, Role, User, canonical


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, set it to overwrite REMOTE_ADDR; we never trust X-Forwarded-For here.
    return request.META.get("REMOTE_ADDR") or None


_LAST_HASH = f"SELECT hash FROM {AuditEvent._meta.db_table} ORDER BY id DESC LIMIT 1"  # noqa: S608


def _normal_ip(ip: str | None) -> str | None:
    # Hashed as the database will give it back (PostgreSQL's inet rewrites IPv6 addresses).
    try:
        return str(ipaddress.ip_address(ip)) if ip else None
    except ValueError:
        return None


def audit(
    *,
    action: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    durable: bool = True,
    along: tuple[str, list[Any]] | None = None,
    **details: Any,
) -> AuditEvent:
    """Record one sensitive act. `request` supplies actor, address and user agent when given.

    The entry is chained to the previous one (see AuditEvent): the last hash is read and the new
    row inserted under a lock, a transaction-scoped advisory lock on PostgreSQL, the write lock
    that every IMMEDIATE transaction takes on SQLite. The lock lasts until the caller's
    transaction commits, so audits inside long transactions wait for each other: keep them short.

    `durable=False` (reads of the base, on every API request) lets PostgreSQL commit the
    transaction without waiting for the WAL flush, as SQLite's synchronous=NORMAL always does:
    a crash of the database server can lose the last fraction of a second of such entries
    (3 × wal_writer_delay, 0.6 s by default), never reorder the chain, WAL being flushed in order.

    `along` is one data-modifying statement of the caller's own tables (SQL, parameters) that
    must commit with the entry: on PostgreSQL it runs in the same round trip, as a CTE of the
    append, which on every audited API read saves the transaction's three other round trips.
    """
    if request is not None and actor is None and request.user.is_authenticated:
        actor = request.user  # type: ignore[assignment]
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    event = AuditEvent(
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=_normal_ip(client_ip(request)) if request else None,
        user_agent=(request.headers.get("User-Agent", "")[:300] if request else ""),
        # The JSON round trip gives the values back as the database will (tuples as lists…).
        details=json.loads(json.dumps(details)),
    )
    if connection.vendor == "postgresql":
        _append_postgresql(event, durable=durable, along=along)
        return event
    # No savepoint inside a caller's transaction: if the audit fails, the act it records must
    # fail with it; and it saves two statements on every audited request.
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        if along is not None:
            cursor.execute(*along)
        # Taken under the lock (the IMMEDIATE transaction's), so times never go back along the
        # chain. Plain SQL: it runs on every audited read, and the ORM's SELECT cost more to
        # build than to run.
        event.at = timezone.now()
        cursor.execute(_LAST_HASH)
        row = cursor.fetchone()
        event.prev_hash = row[0] if row else ""
        event.hash = event.compute_hash()
        event.save(force_insert=True)
    return event


def _append_postgresql(
    event: AuditEvent, *, durable: bool, along: tuple[str, list[Any]] | None
) -> None:
    # accounts_audit_append (migration 0003) takes the chain's advisory lock, reads the last
    # hash and inserts, in one round trip: three fewer on every audited read. A lone statement
    # is its own transaction: no BEGIN or COMMIT to wait for outside a caller's transaction.
    event.at = timezone.now()
    prefix, prefix_params = (f"WITH along AS ({along[0]}) ", list(along[1])) if along else ("", [])
    with connection.cursor() as cursor:
        cursor.execute(
            # The caller's statement is its own code's constant SQL, never an input.
            f"{prefix}SELECT * FROM accounts_audit_append(%s::timestamptz, %s::bigint, %s, %s, "  # noqa: S608
            "%s, %s, %s::inet, %s, %s::jsonb, %s, %s)",
            [
                *prefix_params,
                event.at,
                event.actor_id,
                event.actor_email,
                event.action,
                event.object_type,
                event.object_id,
                event.ip,
                event.user_agent,
                json.dumps(event.details),
                canonical(event).decode("ascii"),
                not durable,
            ],
        )
        event.pk, event.prev_hash, event.hash = cursor.fetchone()
    event._state.adding = False
    event._state.db = connection.alias


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    last_hash: str
    first_break: ChainBreak | None


def verify_audit_chain(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the audit log in id order, streaming, and report the first entry whose link to the
    previous one or whose own content does not match its hash (edited, back-dated, inserted or
    removed rows). Removing the newest entries leaves a valid chain: compare `last_hash` with a
    copy kept elsewhere to detect that."""
    prev = ""
    checked = 0
    rows = AuditEvent.objects.order_by("id").iterator(chunk_size=chunk_size)
    for event in rows:
        if event.prev_hash != prev:
            return ChainReport(
                checked, prev, ChainBreak(event.pk, "does not follow the previous entry")
            )
        if event.compute_hash() != event.hash:
            return ChainReport(checked, prev, ChainBreak(event.pk, "content does not match hash"))
        prev = event.hash
        checked += 1
    return ChainReport(checked, prev, None)


# --- Magic links ---------------------------------------------------------------------------------
# A volunteer logs in by email: a signed, timestamped link bound to the account's state (its
# password hash and last login). Logging in changes last_login, so the link works once; it also
# dies with a password change, and after MAGIC_LINK_MAX_AGE seconds. Only volunteer accounts get
# one: a staff account reaches the base, and its mailbox must not be the only key to it.

MAGIC_SALT = "essaim.accounts.magic-link"


def _account_state(user: User) -> str:
    last_login = user.last_login.replace(microsecond=0, tzinfo=None) if user.last_login else ""
    return salted_hmac(
        MAGIC_SALT, f"{user.pk}|{user.password}|{last_login}|{user.is_active}", algorithm="sha256"
    ).hexdigest()[:32]


def make_login_token(user: User) -> str:
    return signing.TimestampSigner(salt=MAGIC_SALT).sign_object(
        {"u": user.pk, "s": _account_state(user)}
    )


def read_login_token(token: str) -> User | None:
    """The account a magic link opens, or None if the link is forged, expired, used, or the
    account is no longer an active volunteer."""
    try:
        payload = signing.TimestampSigner(salt=MAGIC_SALT).unsign_object(
            token, max_age=settings.MAGIC_LINK_MAX_AGE
        )
        user = User.objects.get(pk=int(payload["u"]), is_active=True, role=Role.VOLUNTEER)
    except (signing.BadSignature, KeyError, TypeError, ValueError, User.DoesNotExist):
        return None
    if not constant_time_compare(str(payload.get("s", "")), _account_state(user)):
        return None
    return user


def send_magic_link(*, email: str, language: str) -> bool:
    """Mail a login link if `email` is an active volunteer account; True if a mail went out.
    Run as a task, out of the request: the page answers the same for any address."""
    user = User.objects.filter(email__iexact=email, is_active=True, role=Role.VOLUNTEER).first()
    if user is None:
        return False
    path = reverse("accounts:magic_login", kwargs={"token": make_login_token(user)})
    context = {
        "url": f"{settings.SITE_URL}{path}",
        "minutes": max(1, settings.MAGIC_LINK_MAX_AGE // 60),
        "site_url": settings.SITE_URL,
    }
    with translation.override(language):
        subject = gettext("Votre lien de connexion")
        text = render_to_string("accounts/mail/magic_link.txt", context)
    EmailMessage(
        subject, text, to=[user.email], headers={"Auto-Submitted": "auto-generated"}
    ).send()
    return True


# The accounts `make run` prints the logins of: (email, name, role, zones). Other apps give them
# a place in the demo (essaim.army.services.demo: the coordinator's team, the volunteer's roles).
DEMO_ACCOUNTS: list[tuple[str, str, str, list[str]]] = [
    ("qg@essaim.localhost", "QG Démo", Role.HQ_ADMIN, []),
    (
        "coordination@essaim.localhost",
        "Coordination Paris",
        Role.COORDINATOR,
        ["75", "92", "93", "94"],
    ),
    ("volontaire@essaim.localhost", "Volontaire Démo", Role.VOLUNTEER, []),
]
DEMO_HQ_ADMIN, DEMO_COORDINATOR, DEMO_VOLUNTEER = (email for email, *_ in DEMO_ACCOUNTS)


def ensure_demo_accounts() -> dict[str, User]:
    """The demo accounts by email, created (without a password) where missing. Idempotent: the
    demo and `bootstrap_users` both call it at every `make run`, in either order."""
    users = {}
    for email, name, role, zones in DEMO_ACCOUNTS:
        users[email], _ = User.objects.get_or_create(
            email=email, defaults={"full_name": name, "role": role, "zones": zones}
        )
    return users
