from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

import django_otp
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from essaim.accounts import rules
from essaim.accounts.models import User
from essaim.accounts.services import client_ip, lockouts, read_login_token, twofactor
from essaim.accounts.tasks import send_magic_link
from essaim.lib import ratelimit
from essaim.lib.pagination import keyset_page
from essaim.lib.text import InvalidValue, normalize_email

# Where the codes just made wait, in the session, for the one page that shows them.
CODES_SESSION_KEY = "essaim_2fa_codes"


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        # A staff member with a device (or who must enrol one) goes straight to that step.
        step = twofactor.pending_step(self.request)
        if step:
            return _to_step(step, self.get_success_url())
        return response


class MagicLinkForm(forms.Form):
    email = forms.CharField(
        label=gettext_lazy("Adresse e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self) -> str:
        try:
            return normalize_email(self.cleaned_data["email"])[0].lower()
        except InvalidValue as exc:
            raise forms.ValidationError(
                gettext_lazy("Cette adresse e-mail n'est pas valide."), code="invalid"
            ) from exc


@require_http_methods(["GET", "POST"])
def magic_request(request: HttpRequest) -> HttpResponse:
    """Ask for a login link. The answer is the same whether the address has an account or not."""
    form = MagicLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        for scope, identity in (
            ("magic-ip", client_ip(request) or "unknown"),
            ("magic-email", email),
        ):
            decision = ratelimit.hit(scope, identity, settings.MAGIC_LINK_RATE_LIMIT)
            if not decision.allowed:
                return ratelimit.refused_page(request, decision.retry_after)
        language = translation.get_language() or settings.LANGUAGE_CODE
        transaction.on_commit(partial(send_magic_link.enqueue, email, language=language))
        return redirect("accounts:magic_sent")
    return render(request, "accounts/magic_request.html", {"form": form})


def magic_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/magic_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def magic_login(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (mail scanners open links); the person's POST logs in and uses the
    link up."""
    user = read_login_token(token)
    if user is None:
        return render(request, "accounts/magic_invalid.html", status=400)
    if request.method == "POST":
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("army:profile")
    return render(request, "accounts/magic_confirm.html", {"account": user})


# --- Second factor ------------------------------------------------------------------------------


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"}
        ),
    )


class PasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Votre mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


def _to_step(step: str, next_url: str) -> HttpResponse:
    name = "accounts:two_factor_verify" if step == twofactor.VERIFY else "accounts:two_factor_enrol"
    return redirect(f"{reverse(name)}?{urlencode({'next': next_url})}")


def _staff_user(request: HttpRequest) -> User:
    user = request.user
    if not user.is_authenticated or not twofactor.is_staff_role(user):  # type: ignore[arg-type]
        raise PermissionDenied
    return user  # type: ignore[return-value]


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the 429 page, in the site's layout, with when to retry and how to
    get unlocked. Said the same whether the account exists or not."""
    until = lockouts.locked_until(
        ip=lockouts.client_address(request),
        username=lockouts.login_username(request, credentials),
    )
    retry_after = max(1, int((until - timezone.now()).total_seconds()))
    response = render(
        request,
        "accounts/locked_out.html",
        {
            "until": until,
            "minutes": max(1, (retry_after + 59) // 60),
            "limit": settings.LOGIN_FAILURE_LIMIT,
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _count_failure(request: HttpRequest, user: User) -> HttpResponse | None:
    """Report a wrong code or password to axes as a failed login of this account: the second
    step shares the password's limit. When that locks, the half-open session ends."""
    credentials = {"username": user.email}
    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    if getattr(request, "axes_locked_out", False):
        logout(request)
        return lockout_response(request, None, credentials)
    return None


def _refuse_if_locked(request: HttpRequest, user: User) -> HttpResponse | None:
    credentials = {"username": user.email}
    if AxesProxyHandler.is_allowed(request, credentials):
        return None
    logout(request)
    return lockout_response(request, None, credentials)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The login's second step: a code from the authenticator app, or a recovery code."""
    user = _staff_user(request)
    next_url = _safe_next(request)
    step = twofactor.pending_step(request)
    if step == twofactor.VERIFY and not twofactor.has_device(user):
        # Reset (by an HQ admin) since this session began: nothing to type a code for.
        step = twofactor.mark_session(request, user)
    if step != twofactor.VERIFY:
        return _to_step(step, next_url) if step else redirect(next_url)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        refused = _refuse_if_locked(request, user)
        if refused is not None:
            return refused
        result = twofactor.check_code(user=user, code=form.cleaned_data["code"], request=request)
        if result.device is not None:
            request.session.cycle_key()
            django_otp.login(request, result.device)
            if result.recovery:
                left = twofactor.recovery_codes_left(user)
                messages.warning(
                    request,
                    ngettext(
                        "Code de secours utilisé : il vous en reste %(n)d. "
                        "Pensez à en générer de nouveaux.",
                        "Code de secours utilisé : il vous en reste %(n)d. "
                        "Pensez à en générer de nouveaux.",
                        left,
                    )
                    % {"n": left},
                )
            return redirect(next_url)
        locked = _count_failure(request, user)
        if locked is not None:
            return locked
        if result.wait_until is not None:
            form.add_error(
                None,
                gettext("Trop de codes erronés : attendez quelques secondes avant de réessayer."),
            )
        else:
            form.add_error("code", gettext("Ce code n'est pas valide."))
    return render(request, "accounts/two_factor_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app: scan (or type) the secret, confirm with a first code."""
    user = _staff_user(request)
    next_url = _safe_next(request)
    step = twofactor.pending_step(request)
    if step == twofactor.VERIFY:
        return _to_step(step, next_url)
    if twofactor.has_device(user):
        return redirect("accounts:two_factor_settings")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = twofactor.confirm_enrolment(
            user=user, code=form.cleaned_data["code"], request=request
        )
        if done is not None:
            device, codes = done
            request.session.cycle_key()
            django_otp.login(request, device)
            request.session[CODES_SESSION_KEY] = codes
            return redirect(
                f"{reverse('accounts:two_factor_codes')}?{urlencode({'next': next_url})}"
            )
        form.add_error("code", gettext("Ce code n'est pas valide. Vérifiez l'heure du téléphone."))
    device = twofactor.pending_device(user=user)
    return render(
        request,
        "accounts/two_factor_enrol.html",
        {
            "form": form,
            "next": next_url,
            "qr_svg": twofactor.qr_svg(device),
            "secret": twofactor.secret_text(device),
            "required": settings.STAFF_2FA_REQUIRED,
        },
    )


@never_cache
@login_required
def two_factor_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just made, shown this once (they leave the session as they show)."""
    _staff_user(request)
    codes = request.session.pop(CODES_SESSION_KEY, None)
    if not codes:
        return redirect("accounts:two_factor_settings")
    return render(
        request, "accounts/two_factor_codes.html", {"codes": codes, "next": _safe_next(request)}
    )


@never_cache
@login_required
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    user = _staff_user(request)
    return render(
        request,
        "accounts/two_factor_settings.html",
        {
            "has_device": twofactor.has_device(user),
            "codes_left": twofactor.recovery_codes_left(user),
            "required": settings.STAFF_2FA_REQUIRED,
            "form": PasswordForm(),
        },
    )


def _password_confirmed(request: HttpRequest, user: User) -> tuple[bool, HttpResponse | None]:
    form = PasswordForm(request.POST)
    if form.is_valid() and user.check_password(form.cleaned_data["password"]):
        return True, None
    locked = _count_failure(request, user)
    if locked is None:
        messages.error(request, gettext("Mot de passe incorrect : rien n'a été changé."))
    return False, locked


@never_cache
@login_required
@require_POST
def two_factor_regenerate(request: HttpRequest) -> HttpResponse:
    user = _staff_user(request)
    if not twofactor.has_device(user):
        return redirect("accounts:two_factor_enrol")
    ok, locked = _password_confirmed(request, user)
    if locked is not None:
        return locked
    if not ok:
        return redirect("accounts:two_factor_settings")
    request.session[CODES_SESSION_KEY] = twofactor.regenerate_recovery_codes(
        user=user, request=request
    )
    return redirect("accounts:two_factor_codes")


@never_cache
@login_required
@require_POST
def two_factor_reset(request: HttpRequest) -> HttpResponse:
    """Remove one's own device (a new phone); with STAFF_2FA_REQUIRED, enrol again at once."""
    user = _staff_user(request)
    ok, locked = _password_confirmed(request, user)
    if locked is not None:
        return locked
    if not ok:
        return redirect("accounts:two_factor_settings")
    twofactor.reset_second_factor(user=user, actor=user, request=request)
    step = twofactor.mark_session(request, user)
    if step:
        return _to_step(step, reverse("accounts:two_factor_settings"))
    messages.success(request, gettext("La double authentification est désactivée."))
    return redirect("accounts:two_factor_settings")


# --- HQ admins: locks and second factors --------------------------------------------------------


def _hq_admin(request: HttpRequest) -> User:
    if not rules.is_hq_admin(request.user):
        raise PermissionDenied
    return request.user  # type: ignore[return-value]


@never_cache
@login_required
def security(request: HttpRequest) -> HttpResponse:
    """Current login locks (with "unlock") and the staff's second factors (with "reset")."""
    _hq_admin(request)
    staff = User.objects.filter(role__in=twofactor.STAFF_ROLES).annotate(
        has_2fa=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))
    )
    return render(
        request,
        "accounts/security.html",
        {
            "lockouts": lockouts.current_lockouts(),
            "page": keyset_page(staff, request, size=50),
            "limit": settings.LOGIN_FAILURE_LIMIT,
            "minutes": settings.LOGIN_LOCKOUT_MINUTES,
        },
    )


@login_required
@require_POST
def security_unlock(request: HttpRequest) -> HttpResponse:
    admin = _hq_admin(request)
    kind, value = request.POST.get("kind", ""), request.POST.get("value", "")[:255]
    if kind not in {"username", "ip"} or not value.strip():
        messages.error(request, gettext("Rien à débloquer."))
        return redirect("accounts:security")
    lockouts.unlock(kind=kind, value=value, actor=admin, request=request)
    messages.success(request, gettext("Débloqué : %(value)s.") % {"value": value})
    return redirect("accounts:security")


@login_required
@require_POST
def security_reset_two_factor(request: HttpRequest, user_id: int) -> HttpResponse:
    admin = _hq_admin(request)
    target = get_object_or_404(User, pk=user_id, role__in=twofactor.STAFF_ROLES)
    twofactor.reset_second_factor(user=target, actor=admin, request=request)
    messages.success(
        request,
        gettext("Double authentification réinitialisée pour %(email)s.") % {"email": target.email},
    )
    return redirect("accounts:security")
