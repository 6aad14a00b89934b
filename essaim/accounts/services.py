"""Account-level services: the audit log, magic login links."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext

from essaim.accounts.models import AuditEvent, Role, User


def client_ip(request: HttpRequest) -> str | None:
    # Behind a reverse proxy, set it to overwrite REMOTE_ADDR; we never trust X-Forwarded-For here.
    return request.META.get("REMOTE_ADDR") or None


def audit(
    *,
    action: str,
    actor: User | None = None,
    request: HttpRequest | None = None,
    obj: Any = None,
    object_type: str = "",
    object_id: str | int = "",
    **details: Any,
) -> AuditEvent:
    """Record one sensitive act. `request` supplies actor, address and user agent when given."""
    if request is not None and actor is None and request.user.is_authenticated:
        actor = request.user  # type: ignore[assignment]
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or obj.pk
    return AuditEvent.objects.create(
        actor=actor,
        actor_email=actor.email if actor else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=client_ip(request) if request else None,
        user_agent=(request.headers.get("User-Agent", "")[:300] if request else ""),
        details=details,
    )


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
