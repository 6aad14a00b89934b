""" "Je m'engage": the public volunteer sign-up, "check your mailbox", the confirmation."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from essaim.accounts.services import client_ip
from essaim.army.forms import VolunteerSignupForm
from essaim.army.models import VolunteerRole, windows_from_mask
from essaim.army.services.signup import confirm_enlistment, read_token, request_enlistment
from essaim.lib.text import InvalidValue
from essaim.people.public_forms import HONEYPOT_FIELD
from essaim.people.services.contacts import SuppressedAddress
from essaim.people.services.signup import ExpiredLink, InvalidLink
from essaim.people.views.signup import invalid_link, signup_rate_limit


@require_http_methods(["GET", "POST"])
def engage(request: HttpRequest) -> HttpResponse:
    form = VolunteerSignupForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get(HONEYPOT_FIELD):
            return redirect("army_public:engage_sent")  # a bot: the same answer, nothing done
        if form.is_valid():
            ip = client_ip(request)
            data = form.contact_data
            refused = signup_rate_limit(request, ip, data.email_key)
            if refused is not None:
                return refused
            request_enlistment(
                data=data,
                roles=form.cleaned_data["roles"],
                weekly_hours=form.cleaned_data["weekly_hours"],
                windows=form.cleaned_data["windows"],
                skills=form.cleaned_data["skills"],
                languages=form.cleaned_data["languages"],
                ip=ip,
                user_agent=request.headers.get("User-Agent", ""),
                language=translation.get_language() or settings.LANGUAGE_CODE,
            )
            return redirect("army_public:engage_sent")
    return render(request, "army/public/engage.html", {"form": form})


def engage_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "army/public/engage_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def engage_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what will be recorded and a button: mail scanners open links, only a person's
    POST confirms. The POST logs the browser in only when it created the account: a link that
    stays valid for days must not log anyone into an account that existed before it."""
    try:
        signup = read_token(token)
    except ExpiredLink:
        return render(request, "people/public/signup_expired.html", status=410)
    except InvalidLink:
        return invalid_link(request)
    if request.method == "POST":
        try:
            enlistment = confirm_enlistment(
                signup=signup,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except SuppressedAddress:
            return render(request, "people/public/signup_refused.html")
        except InvalidValue:
            return invalid_link(request)
        if enlistment is not None and enlistment.account_created:
            login(request, enlistment.volunteer.user, backend=settings.AUTHENTICATION_BACKENDS[0])
            return redirect("army:profile")
        return render(request, "army/public/engage_done.html", {"enlistment": enlistment})
    roles = VolunteerRole.objects.filter(slug__in=signup.roles)
    return render(
        request,
        "army/public/engage_confirm.html",
        {"signup": signup, "roles": roles, "windows": windows_from_mask(signup.windows)},
    )
