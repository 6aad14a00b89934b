"""Public sign-up with double opt-in: the form, "check your mailbox", the confirmation."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from essaim.accounts.services import client_ip
from essaim.lib import ratelimit
from essaim.lib.text import InvalidValue
from essaim.people.models import Purpose
from essaim.people.public_forms import HONEYPOT_FIELD, PURPOSE_CHOICES, SignupForm
from essaim.people.services.contacts import SuppressedAddress
from essaim.people.services.signup import (
    ExpiredLink,
    InvalidLink,
    confirm_signup,
    read_confirmation_token,
    request_signup,
)


def signup_rate_limit(request: HttpRequest, ip: str | None, email_key: str) -> HttpResponse | None:
    """The 429 page if this IP or this address has asked too often (SIGNUP_RATE_LIMIT), else
    None. The IP first, so that a flood from one machine does not use up a victim's address."""
    for scope, identity in (("signup-ip", ip or "unknown"), ("signup-email", email_key)):
        decision = ratelimit.hit(scope, identity, settings.SIGNUP_RATE_LIMIT)
        if not decision.allowed:
            return ratelimit.refused_page(
                request, decision.retry_after, template_name="people/public/rate_limited.html"
            )
    return None


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get(HONEYPOT_FIELD):
            return redirect("public:signup_sent")  # a bot: the same answer, and nothing done
        if form.is_valid():
            ip = client_ip(request)
            data = form.contact_data
            refused = signup_rate_limit(request, ip, data.email_key)
            if refused is not None:
                return refused
            request_signup(
                data=data,
                purposes=form.cleaned_data["purposes"],
                ip=ip,
                user_agent=request.headers.get("User-Agent", ""),
                language=translation.get_language() or settings.LANGUAGE_CODE,
            )
            return redirect("public:signup_sent")
    return render(request, "people/public/signup.html", {"form": form})


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "people/public/signup_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET only shows a button: mail scanners open links, only a person's POST confirms."""
    try:
        signup_request = read_confirmation_token(token)
    except ExpiredLink:
        return render(request, "people/public/signup_expired.html", status=410)
    except InvalidLink:
        return invalid_link(request)
    if request.method == "POST":
        try:
            confirm_signup(
                signup=signup_request,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except SuppressedAddress:
            return render(request, "people/public/signup_refused.html")
        except InvalidValue:
            return invalid_link(request)
        return render(request, "people/public/signup_done.html")
    labels = dict(PURPOSE_CHOICES)
    return render(
        request,
        "people/public/signup_confirm.html",
        {
            "signup": signup_request,
            "purposes": [labels[p] for p in Purpose.values if p in signup_request.purposes],
        },
    )


def invalid_link(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "people/public/invalid_link.html",
        {"title": _("Ce lien n'est pas valide")},
        status=400,
    )
