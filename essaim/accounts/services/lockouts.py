"""Login throttling: the glue to django-axes and HQ's list of locks (the lockout page is
accounts.views.lockout_response).

django-axes counts failed logins (its backend refuses a locked account or address before the
password is checked; its signal handler records each failure in the database). Two counters,
either of which locks: per account and per client address (AXES_LOCKOUT_PARAMETERS). A failed
second-factor code is reported to axes as a failed login too, so the code step shares the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from axes.backends import AxesBackend
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.db.models import Max, Q, Sum
from django.http import HttpRequest
from django.utils import timezone

from essaim.accounts.models import User
from essaim.accounts.services import audit, client_ip


class LoginThrottleBackend(AxesBackend):
    """django-axes' backend, first in AUTHENTICATION_BACKENDS: refuses a locked account or
    address before any password is checked. A call without a request does not come from the web
    (tests' Client.login, a shell) and is left to ModelBackend rather than refused: every login
    view, ours and the admin's, passes its request."""

    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def client_address(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the same address the audit log records (REMOTE_ADDR, never a
    client-supplied header: the reverse proxy must set it)."""
    return client_ip(request)


def normalize_username(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # Emails are stored lower-cased; "Admin@QG.test" and "admin@qg.test" share one counter.
    return value.strip().lower()[:255] or None


def login_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """AXES_USERNAME_CALLABLE: the account a login attempt names."""
    if credentials and credentials.get("username") is not None:
        return normalize_username(credentials["username"])
    return normalize_username(request.POST.get("username"))


def _cool_off() -> timedelta:
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def _recent() -> Any:
    return AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - _cool_off())


def locked_until(*, ip: str | None, username: str | None) -> datetime:
    """When the lock on this address or account lifts at the latest: the last counted failure
    plus the cool-off (counts drop as their rows age, so it may lift a little earlier)."""
    condition = Q(pk__in=[])
    if ip:
        condition |= Q(ip_address=ip)
    if username:
        condition |= Q(username=username)
    last = _recent().filter(condition).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + _cool_off()


def record_lockout(sender: Any, request: HttpRequest, username: str | None, **kwargs: Any) -> None:
    """Receiver of axes' user_locked_out: audit the failure that locked, not each refusal after
    it (axes sets axes_failures_since_start only on a failure it counted)."""
    if getattr(request, "axes_failures_since_start", None) is None:
        return
    audit(
        action="login.locked",
        actor=None,
        request=request,
        object_type="accounts.user",
        object_id="",
        username=username or "",
        failures=request.axes_failures_since_start,  # type: ignore[attr-defined]
    )


# --- HQ's view of the locks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    kind: str  # "username" or "ip"
    value: str
    failures: int
    until: datetime


def current_lockouts() -> list[Lockout]:
    """Accounts and addresses locked now: their failures within the cool-off reach the limit."""
    limit = settings.LOGIN_FAILURE_LIMIT
    locks: list[Lockout] = []
    present = {"username": Q(username__gt=""), "ip_address": Q(ip_address__isnull=False)}
    for kind, field in (("username", "username"), ("ip", "ip_address")):
        rows = (
            _recent()
            .filter(present[field])
            .values(field)
            .annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
            .filter(failures__gte=limit)
            .order_by("-last")[:500]
        )
        locks.extend(
            Lockout(kind, row[field], row["failures"], row["last"] + _cool_off()) for row in rows
        )
    return locks


def unlock(*, kind: str, value: str, actor: User, request: HttpRequest | None = None) -> int:
    """Forget the failures of one account ("username") or one address ("ip"); audited.
    Returns the number of attempt records removed."""
    # Never pass axes an empty value: with neither an address nor a name it resets everything.
    target = normalize_username(value) if kind == "username" else value.strip()
    if not target:
        raise ValueError("nothing to unlock")
    if kind == "username":
        removed = axes_reset(username=target)
    elif kind == "ip":
        removed = axes_reset(ip=target)
    else:
        raise ValueError(f"unknown lock kind {kind!r}")
    audit(
        action="login.unlock",
        actor=actor,
        request=request,
        object_type="axes.accessattempt",
        object_id="",
        kind=kind,
        value=value,
        removed=removed,
    )
    return removed
