"""The staff's second factor: TOTP (RFC 6238) devices and single-use recovery codes.

The devices are django-otp's (TOTPDevice, StaticDevice): its code checks, replay guard (a code
is good once) and per-device back-off. Here: who must pass a second factor, enrolment,
recovery codes, resets, and the session state the middleware reads.

A staff user (HQ, coordinator) logs in with the password, then is "pending" until they pass:
`verify` (they have a device: a code or a recovery code) or `enrol` (STAFF_2FA_REQUIRED and no
device yet). The pending step is kept in the session, computed at login, so the middleware
costs no query on each request; it is recomputed when the setting or the user's role changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import segno
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from essaim.accounts.models import Role, User
from essaim.accounts.services import audit
from essaim.lib.numbers import is_ascii_digits

STAFF_ROLES = frozenset({Role.HQ_ADMIN, Role.HQ_STAFF, Role.COORDINATOR})
RECOVERY_CODE_COUNT = 10
SESSION_KEY = "essaim_2fa"

VERIFY = "verify"
ENROL = "enrol"


def is_staff_role(user: User) -> bool:
    return user.role in STAFF_ROLES


def has_device(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def required_step(user: User) -> str:
    """What a freshly logged-in user must do before reaching anything: VERIFY, ENROL or ""."""
    if not is_staff_role(user):
        return ""
    if has_device(user):
        # Someone who enrolled is always asked, even with the setting off.
        return VERIFY
    return ENROL if settings.STAFF_2FA_REQUIRED else ""


def mark_session(request: HttpRequest, user: User) -> str:
    step = required_step(user)
    request.session[SESSION_KEY] = {
        "step": step,
        "required": bool(settings.STAFF_2FA_REQUIRED),
        "role": user.role,
    }
    return step


def pending_step(request: HttpRequest) -> str:
    """The step this session still owes (VERIFY, ENROL) or "" when it may go anywhere."""
    user = request.user
    if not user.is_authenticated or not is_staff_role(user):  # type: ignore[arg-type]
        return ""
    # OTPMiddleware gives request.user is_verified(); the plain User that login() just put there
    # has none, and is not verified yet.
    is_verified = getattr(user, "is_verified", None)
    if callable(is_verified) and is_verified():
        return ""
    marker = request.session.get(SESSION_KEY)
    if (
        not isinstance(marker, dict)
        or marker.get("required") != bool(settings.STAFF_2FA_REQUIRED)
        or marker.get("role") != user.role  # type: ignore[union-attr]
    ):
        return mark_session(request, user)  # type: ignore[arg-type]
    return str(marker.get("step", ""))


def on_user_logged_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """Receiver of user_logged_in (every login: the form, the admin's, a magic link, tests'
    force_login): note in the new session what it owes before it may go anywhere."""
    if request is not None and hasattr(request, "session"):
        mark_session(request, user)


def clean_code(code: str) -> str:
    """Codes are typed by people: spaces and dashes dropped, letters lower-cased."""
    return "".join(ch for ch in (code or "") if ch not in " -\t").lower()[:32]


def format_recovery_code(token: str) -> str:
    return f"{token[:4]}-{token[4:]}" if len(token) == 8 else token


# --- Enrolment ----------------------------------------------------------------------------------


def pending_device(*, user: User) -> TOTPDevice:
    """The unconfirmed TOTP device of an enrolment in progress (the same secret across reloads
    of the page, until a first code confirms it)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    from base64 import b32encode

    text = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URI as an inline SVG QR code (drawn here: the secret goes to no service)."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=4, border=2))


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Codes de secours", confirmed=True)
    tokens = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=t) for t in tokens)
    return [format_recovery_code(t) for t in tokens]


def confirm_enrolment(
    *, user: User, code: str, request: HttpRequest | None = None
) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the pending device with a first code; on success the user's recovery codes are
    (re)made and returned, to be shown once. None if the code is wrong."""
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user=user, confirmed=False)
            .order_by("-id")
            .first()
        )
        token = clean_code(code)
        # django-otp's int() would read "١٢٣٤٥٦" (Arabic-Indic digits) as the code 123456.
        if (
            device is None
            or not is_ascii_digits(token, max_digits=8)
            or not device.verify_token(token)
        ):
            failed = True
        else:
            failed = False
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            codes = _new_recovery_codes(user)
            audit(action="2fa.enrol", actor=user, request=request, obj=user)
    if failed:
        audit(action="2fa.failed", actor=user, request=request, obj=user, stage="enrol")
        return None
    return device, codes


def regenerate_recovery_codes(*, user: User, request: HttpRequest | None = None) -> list[str]:
    """Replace the user's recovery codes (the old ones stop working); returns the new ones."""
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit(action="2fa.recovery_regenerated", actor=user, request=request, obj=user)
    return codes


def reset_second_factor(*, user: User, actor: User, request: HttpRequest | None = None) -> int:
    """Remove the user's TOTP device and recovery codes (a lost phone). Sessions verified with
    them are verified no more. Returns the number of devices removed."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[1].get(TOTPDevice._meta.label, 0)
        StaticDevice.objects.filter(user=user).delete()
        audit(
            action="2fa.reset",
            actor=actor,
            request=request,
            obj=user,
            by_admin=actor.pk != user.pk,
        )
    return int(removed)


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


# --- The login step -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeCheck:
    device: Device | None  # the device that accepted the code, None if refused
    recovery: bool = False  # a recovery code was used up
    wait_until: datetime | None = None  # every candidate device is in its back-off


def check_code(*, user: User, code: str, request: HttpRequest | None = None) -> CodeCheck:
    """Check a code typed at login: six digits go to the TOTP device, anything else to the
    recovery codes. Failures and recovery-code uses are audited."""
    token = clean_code(code)
    is_totp = is_ascii_digits(token, max_digits=8) and len(token) in (6, 8)
    model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if is_totp else StaticDevice
    matched: Device | None = None
    wait_until: datetime | None = None
    with transaction.atomic():
        # select_for_update: two concurrent requests cannot both use one code.
        for device in model.objects.select_for_update().filter(user=user, confirmed=True):
            allowed, info = device.verify_is_allowed()
            if not allowed:
                wait_until = (info or {}).get("locked_until")
                continue
            if token and device.verify_token(token):
                matched = device
                break
    if matched is not None:
        if not is_totp:
            audit(
                action="2fa.recovery_used",
                actor=user,
                request=request,
                obj=user,
                left=recovery_codes_left(user),
            )
        return CodeCheck(device=matched, recovery=not is_totp)
    audit(
        action="2fa.failed",
        actor=user,
        request=request,
        obj=user,
        stage="login",
        kind="totp" if is_totp else "recovery",
        throttled=wait_until is not None,
    )
    return CodeCheck(device=None, wait_until=wait_until)
