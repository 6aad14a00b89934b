"""The pages of a double opt-in, written once (OptInPages): the form, "check your mailbox", the
confirmation. The base's public sign-up is its first user; "Je m'engage" (essaim.army.views.engage)
the second, with its own form, templates and what its confirmation does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

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
from essaim.people.forms import HONEYPOT_FIELD, PURPOSE_CHOICES, SignupForm
from essaim.people.models import Purpose
from essaim.people.services.contacts import ContactData, SuppressedAddress
from essaim.people.services.signup import (
    SIGNUP,
    Confirmation,
    DoubleOptIn,
    ExpiredLink,
    InvalidLink,
    OptInRequest,
    SignupRequest,
    confirm_signup,
    signup_request,
)
from essaim.people.tasks import send_signup_confirmation


class Confirm[R: OptInRequest, C](Protocol):
    """What a confirmation writes (the base's confirm_signup, the volunteers' confirm_enlistment):
    raises SuppressedAddress or InvalidValue when it cannot."""

    def __call__(self, *, signup: R, ip: str | None, user_agent: str) -> C: ...


# The request a valid form asks for: (the form's contact data, the IP, the User-Agent).
type Build[R] = Callable[[ContactData, str | None, str], R]


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


@dataclass(frozen=True)
class OptInPages[R: OptInRequest, C]:
    """The pages of one double opt-in. Every flow shares the honeypot, the rate limit, the
    expired, invalid and refused pages; each brings its form and templates, the mail task that
    sends its link, and what its confirmation writes and answers."""

    flow: DoubleOptIn[R]
    send: Callable[..., object]  # the mail task's enqueue (see DoubleOptIn.request)
    sent: str  # the name of the "check your mailbox" page's URL
    form_template: str
    confirm_template: str
    confirm_context: Callable[[R], dict[str, Any]]  # what the confirmation page shows
    confirm: Confirm[R, C]
    done: Callable[[HttpRequest, C], HttpResponse]  # the answer to a confirmation

    def ask(
        self,
        request: HttpRequest,
        form: SignupForm,
        build: Build[R],
        context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The form (a SignupForm, or one built on it); a valid POST has the link mailed."""
        if request.method == "POST":
            if request.POST.get(HONEYPOT_FIELD):
                return redirect(self.sent)  # a bot: the same answer, and nothing done
            if form.is_valid():
                ip = client_ip(request)
                data = form.contact_data
                refused = signup_rate_limit(request, ip, data.email_key)
                if refused is not None:
                    return refused
                self.flow.request(
                    build(data, ip, request.headers.get("User-Agent", "")),
                    send=self.send,
                    language=translation.get_language() or settings.LANGUAGE_CODE,
                )
                return redirect(self.sent)
        return render(request, self.form_template, {"form": form, **(context or {})})

    def confirmation(self, request: HttpRequest, token: str) -> HttpResponse:
        """GET only shows a button: mail scanners open links, only a person's POST confirms."""
        try:
            signup = self.flow.read(token)
        except ExpiredLink:
            return render(request, "people/public/signup_expired.html", status=410)
        except InvalidLink:
            return invalid_link(request)
        if request.method == "POST":
            try:
                confirmed = self.confirm(
                    signup=signup,
                    ip=client_ip(request),
                    user_agent=request.headers.get("User-Agent", ""),
                )
            except SuppressedAddress:
                return render(request, "people/public/signup_refused.html")
            except InvalidValue:
                return invalid_link(request)
            return self.done(request, confirmed)
        return render(request, self.confirm_template, self.confirm_context(signup))


def _signup_confirm_context(signup: SignupRequest) -> dict[str, Any]:
    labels = dict(PURPOSE_CHOICES)
    return {
        "signup": signup,
        "purposes": [labels[p] for p in Purpose.values if p in signup.purposes],
    }


def _signup_done(request: HttpRequest, _confirmation: Confirmation | None) -> HttpResponse:
    return render(request, "people/public/signup_done.html")


SIGNUP_PAGES: OptInPages[SignupRequest, Confirmation | None] = OptInPages(
    flow=SIGNUP,
    send=send_signup_confirmation.enqueue,
    sent="public:signup_sent",
    form_template="people/public/signup.html",
    confirm_template="people/public/signup_confirm.html",
    confirm_context=_signup_confirm_context,
    confirm=confirm_signup,
    done=_signup_done,
)


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)

    def build(data: ContactData, ip: str | None, user_agent: str) -> SignupRequest:
        return signup_request(
            data=data, purposes=form.cleaned_data["purposes"], ip=ip, user_agent=user_agent
        )

    return SIGNUP_PAGES.ask(request, form, build)


def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "people/public/signup_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    return SIGNUP_PAGES.confirmation(request, token)


def invalid_link(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "people/public/invalid_link.html",
        {"title": _("Ce lien n'est pas valide")},
        status=400,
    )
