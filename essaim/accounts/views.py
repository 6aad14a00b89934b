from __future__ import annotations

from functools import partial

from django import forms
from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from essaim.accounts import rules
from essaim.accounts.models import AuditEvent
from essaim.accounts.services import client_ip, read_login_token
from essaim.accounts.tasks import send_magic_link
from essaim.lib import ratelimit
from essaim.lib.pagination import keyset_page
from essaim.lib.text import InvalidValue, normalize_email


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


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


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {}
    if rules.can_view_contacts(request.user):
        from essaim.people.services.stats import base_summary

        context["summary"] = base_summary(user=request.user)  # type: ignore[arg-type]
    return render(request, "accounts/home.html", context)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not rules.is_hq(request.user):
        raise PermissionDenied
    qs = AuditEvent.objects.all()
    action = request.GET.get("action", "").strip()
    if action:
        qs = qs.filter(action=action)
    page = keyset_page(qs, request, size=50)
    return render(request, "accounts/audit_log.html", {"page": page, "action": action})


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
