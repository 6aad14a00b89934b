"""API tokens: issue, change, authenticate, record use, revoke; and the accounting of the people
read through them (daily budget, one audit entry per read)."""

from __future__ import annotations

import hmac
import ipaddress
import math
import secrets
import string
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from essaim.accounts.models import Role, User
from essaim.accounts.services import audit
from essaim.api import tasks
from essaim.api.models import ApiToken, Scope, token_hash

TOKEN_PREFIX = "ess_"  # noqa: S105 (a marker, not a secret)
# Lower-case letters and digits only, so the prefix reads well and never contains the "_"
# that separates it from the secret.
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits
_PREFIX_LENGTH = 8
_MAX_TOKEN_LENGTH = 200
# last_used_at is precise to the minute: writing it on every request would turn every API read
# into a write (and serialize them on SQLite).
TOUCH_EVERY = timedelta(minutes=1)


class TokenNotFound(LookupError):
    pass


def _new_prefix() -> str:
    return "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(_PREFIX_LENGTH))


DEFAULT_SCOPES = (Scope.READ, Scope.WRITE)
MAX_NETWORKS = 32


def clean_scopes(scopes: Iterable[str]) -> list[str]:
    """Sorted, known, at least one (a token without scope could do nothing)."""
    cleaned = sorted({str(s) for s in scopes})
    unknown = set(cleaned) - set(Scope.values)
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    if not cleaned:
        raise ValueError("a token needs at least one scope")
    return cleaned


def clean_networks(networks: Iterable[str]) -> list[str]:
    """CIDR networks, IPv4 or IPv6, normalized ("10.1.2.3/8" is 10.0.0.0/8; a bare address is
    its own /32 or /128); ValueError naming the first entry that is not one."""
    cleaned: list[str] = []
    for raw in networks:
        text = raw.strip()
        if not text:
            continue
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError as exc:
            raise ValueError(f"{text!r} is not an IPv4 or IPv6 network (CIDR)") from exc
        if str(network) not in cleaned:
            cleaned.append(str(network))
    if len(cleaned) > MAX_NETWORKS:
        raise ValueError(f"at most {MAX_NETWORKS} networks per token")
    return cleaned


def create_token(
    *,
    user: User,
    name: str,
    scopes: Iterable[str] = DEFAULT_SCOPES,
    networks: Iterable[str] = (),
    rate_per_minute: int | None = None,
    daily_people_budget: int | None = None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; returns (token row, clear token). The clear token is never
    stored: show it once. Scopes are explicit: read and write unless told otherwise, reading
    contacts only when asked (Scope.CONTACTS_READ). Audited as "api_token.create"."""
    scopes = clean_scopes(scopes)
    nets = clean_networks(networks)
    name = " ".join(name.split())[:100]
    if not name:
        raise ValueError("a token needs a name (what it is for)")
    for _ in range(5):
        prefix = _new_prefix()
        raw = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                token = ApiToken.objects.create(
                    user=user,
                    name=name,
                    prefix=prefix,
                    token_hash=token_hash(raw),
                    scopes=scopes,
                    networks=nets,
                    rate_per_minute=rate_per_minute,
                    daily_people_budget=daily_people_budget,
                )
                audit(
                    action="api_token.create",
                    actor=actor,
                    request=request,
                    obj=token,
                    prefix=prefix,
                    name=name,
                    user=user.email,
                    scopes=scopes,
                    **_limits(token),
                )
        except IntegrityError:  # prefix already taken (1 in 2.8e12 per existing token)
            continue
        return token, raw
    raise RuntimeError("could not find a free token prefix")


def _limits(token: ApiToken) -> dict[str, Any]:
    # Only what differs from the defaults, so that most audit entries stay short.
    limits: dict[str, Any] = {}
    if token.networks:
        limits["networks"] = token.networks
    if token.rate_per_minute is not None:
        limits["rate_per_minute"] = token.rate_per_minute
    if token.daily_people_budget is not None:
        limits["daily_people_budget"] = token.daily_people_budget
    return limits


def update_token(
    *,
    token: ApiToken,
    scopes: Iterable[str],
    networks: Iterable[str],
    rate_per_minute: int | None,
    daily_people_budget: int | None,
    actor: User | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """Change a live token's scopes, networks and limits; True if anything changed. Audited as
    "api_token.update" with the values before and after."""
    new = {
        "scopes": clean_scopes(scopes),
        "networks": clean_networks(networks),
        "rate_per_minute": rate_per_minute,
        "daily_people_budget": daily_people_budget,
    }
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().get(pk=token.pk)
        if locked.revoked_at is not None:
            raise ValueError("a revoked token cannot be changed")
        old = {field: getattr(locked, field) for field in new}
        changed = {f: v for f, v in new.items() if v != old[f]}
        if not changed:
            return False
        for field, value in changed.items():
            setattr(locked, field, value)
            setattr(token, field, value)
        locked.save(update_fields=list(changed))
        audit(
            action="api_token.update",
            actor=actor,
            request=request,
            obj=locked,
            prefix=locked.prefix,
            before={f: old[f] for f in changed},
            after=changed,
        )
    return True


def authenticate(raw: str) -> ApiToken | None:
    """The live token (with its user loaded) for a clear token, or None: unknown, revoked, or
    its user deactivated. One query, by the indexed hash."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > _MAX_TOKEN_LENGTH:
        return None
    hashed = token_hash(raw)
    token = ApiToken.objects.select_related("user").filter(token_hash=hashed).first()
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    # The row was found by equality on the hash; compare again in constant time so that no code
    # path ever compares secret material with an early-exit comparison.
    if not hmac.compare_digest(token.token_hash, hashed):
        return None
    return token


def touch(token: ApiToken, *, ip: str | None = None, now: datetime | None = None) -> bool:
    """Record that the token was used, and from where, at most once per TOUCH_EVERY. The UPDATE
    is conditional, so concurrent requests write the row once; True when this call wrote it."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < TOUCH_EVERY:
        return False
    updated = (
        ApiToken.objects.filter(pk=token.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - TOUCH_EVERY))
        .update(last_used_at=now, last_used_ip=ip)
    )
    token.last_used_at, token.last_used_ip = now, ip
    return bool(updated)


def revoke_token(
    *, prefix: str, actor: User | None = None, request: HttpRequest | None = None
) -> tuple[ApiToken, bool]:
    """Revoke the token with this prefix; returns (token, True if it was live until now).
    Audited as "api_token.revoke" when it changes anything."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(prefix=prefix.strip())
            .first()
        )
        if token is None:
            raise TokenNotFound(prefix)
        if token.revoked_at is not None:
            return token, False
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(
            action="api_token.revoke",
            actor=actor,
            request=request,
            obj=token,
            prefix=token.prefix,
            name=token.name,
            user=token.user.email,
        )
    return token, True


# --- Address ranges -----------------------------------------------------------------------------


def refuse_address(*, token: ApiToken, request: HttpRequest) -> None:
    """Audit a request refused because it came from outside the token's networks (a leaked token
    used elsewhere). The rate limit, checked first, bounds how many such entries one token
    can write."""
    audit(
        action="api_token.refused_address",
        actor=token.user,
        request=request,
        obj=token,
        prefix=token.prefix,
        networks=token.networks,
    )


# --- People read: the daily budget and the audit of every read --------------------------------


def _today(now: datetime) -> date:
    return timezone.localdate(now)


def seconds_to_midnight(now: datetime | None = None) -> int:
    """Seconds until the next local midnight (TIME_ZONE), when the daily budgets start again."""
    local = timezone.localtime(now or timezone.now())
    midnight = timezone.make_aware(datetime.combine(local.date() + timedelta(days=1), time()))
    # In UTC: aware datetimes sharing a tzinfo subtract as wall clocks, which is an hour off on
    # the days the clocks change.
    delta = midnight.astimezone(UTC) - local.astimezone(UTC)
    return max(1, math.ceil(delta.total_seconds()))


def people_allowance(token: ApiToken, *, now: datetime | None = None) -> int:
    """People the token may still read today, from the row loaded with the request (no query).
    Concurrent requests may each use it up: the budget can be passed by at most one page per
    request in flight, never by more."""
    return max(0, token.budget() - token.read_on(_today(now or timezone.now())))


def refuse_over_budget(
    *, token: ApiToken, request: HttpRequest, now: datetime | None = None
) -> int:
    """The token has read its budget for today: at the first refusal of the day (one conditional
    UPDATE decides which request is first, even among concurrent ones), audit it and mail every
    active HQ admin after commit. Returns the seconds until the budget starts again."""
    now = now or timezone.now()
    today = _today(now)
    with transaction.atomic():
        first = (
            ApiToken.objects.filter(pk=token.pk)
            .filter(Q(budget_alerted_on__isnull=True) | Q(budget_alerted_on__lt=today))
            .update(budget_alerted_on=today)
        )
        if first:
            audit(
                action="api_token.budget_exhausted",
                actor=token.user,
                request=request,
                obj=token,
                prefix=token.prefix,
                budget=token.budget(),
                read=token.read_on(today),
            )
            transaction.on_commit(
                partial(tasks.notify_budget_exhausted.enqueue, token.pk, today.isoformat())
            )
    return seconds_to_midnight(now)


_COUNT_PEOPLE_READ = (  # the table's name is a constant of the model, not an input
    f"UPDATE {ApiToken._meta.db_table} SET people_read = CASE WHEN people_read_on = %s "  # noqa: S608
    "THEN people_read + %s ELSE %s END, people_read_on = %s WHERE id = %s"
)


def record_people_read(
    *,
    token: ApiToken,
    request: HttpRequest,
    action: str,
    count: int,
    obj: Any = None,
    now: datetime | None = None,
    **query: Any,
) -> None:
    """Count `count` people read through the token today and write one audit entry for the
    request (who, which token, the query, how many): one UPDATE and one INSERT in a transaction,
    never one per row. The counter is a single relative UPDATE, so concurrent requests never
    lose a count."""
    today = connection.ops.adapt_datefield_value(_today(now or timezone.now()))
    # The same as .update(people_read=Case(When(…, then=F(…) + count)…)), written out: the ORM
    # took longer to build that UPDATE than the database to run it; and given to audit() as the
    # statement that goes with the entry, one round trip on PostgreSQL (docs/benchmarks.md).
    counted = (_COUNT_PEOPLE_READ, [today, count, count, today, token.pk]) if count else None
    audit(
        action=action,
        actor=token.user,
        request=request,
        obj=obj,
        via="api",
        token=token.prefix,
        count=count,
        # Committed without waiting for the WAL flush on PostgreSQL: the flush took longer
        # than the read itself. Writes of the base keep their synchronous commit, audit
        # included.
        durable=False,
        along=counted,
        **query,
    )


def mail_budget_exhausted(*, token_id: int, day: str) -> int:
    """Tell each active HQ admin that a token was refused for having read its daily budget of
    people; returns the number of mails sent. Run as a task, after the refusal committed."""
    token = ApiToken.objects.select_related("user").filter(pk=token_id).first()
    if token is None:
        return 0
    admins = list(
        User.objects.filter(role=Role.HQ_ADMIN, is_active=True).order_by("pk").only("email")
    )
    context = {
        "token": token,
        "day": day,
        "budget": token.budget(),
        "url": f"{settings.SITE_URL}{reverse('api_tokens:list')}",
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = gettext("Jeton d'API %(prefix)s : budget de lecture du jour épuisé") % {
            "prefix": token.prefix
        }
        text = render_to_string("api/mail/budget_exhausted.txt", context)
    for admin in admins:
        EmailMessage(
            subject, text, to=[admin.email], headers={"Auto-Submitted": "auto-generated"}
        ).send()
    return len(admins)
