""" "Je m'engage": the public volunteer sign-up, "check your mailbox", the confirmation."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from essaim.army.forms import VolunteerSignupForm
from essaim.army.models import VolunteerRole, windows_from_mask
from essaim.army.services.signup import (
    ENLISTMENT,
    Enlistment,
    VolunteerSignup,
    confirm_enlistment,
    enlistment_request,
)
from essaim.army.tasks import send_enlistment_confirmation
from essaim.army.views.calls import call_from_link
from essaim.people.services.contacts import ContactData
from essaim.people.views.signup import OptInPages


def _confirm_context(signup: VolunteerSignup) -> dict[str, Any]:
    roles = VolunteerRole.objects.filter(slug__in=signup.roles)
    return {"signup": signup, "roles": roles, "windows": windows_from_mask(signup.windows)}


def _done(request: HttpRequest, enlistment: Enlistment | None) -> HttpResponse:
    """The POST logs the browser in only when it created the account: a link that stays valid
    for days must not log anyone into an account that existed before it."""
    if enlistment is not None and enlistment.account_created:
        login(request, enlistment.volunteer.user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return redirect("army:profile")
    return render(request, "army/public/engage_done.html", {"enlistment": enlistment})


# The base's double opt-in pages with the volunteers' form, templates and confirmation.
ENGAGE_PAGES: OptInPages[VolunteerSignup, Enlistment | None] = OptInPages(
    flow=ENLISTMENT,
    send=send_enlistment_confirmation.enqueue,
    sent="army_public:engage_sent",
    form_template="army/public/engage.html",
    confirm_template="army/public/engage_confirm.html",
    confirm_context=_confirm_context,
    confirm=confirm_enlistment,
    done=_done,
)


@require_http_methods(["GET", "POST"])
def engage(request: HttpRequest) -> HttpResponse:
    """The form; from a call's landing page (`appel`, and `t` when the person came by the link
    of the call's mail) it says which call and preselects its roles. Nothing of the link's
    recipient is filled in: a call is made to be forwarded, and its reader must not see the
    recipient's address or postcode. The link's token still attributes the sign-up, to its
    delivery when the address typed is the one it was mailed to. The double opt-in stays the
    confirmation mail (see essaim.army.services.signup for why the call's link is not enough)."""
    params = request.POST if request.method == "POST" else request.GET
    call, recipient, _problem = call_from_link(params.get("appel", ""), params.get("t", ""))
    initial: dict[str, Any] = {}
    if call is not None:
        initial["roles"] = [r.slug for r in call.roles.filter(is_open=True)]
    form = VolunteerSignupForm(request.POST or None, initial=initial)

    def build(data: ContactData, ip: str | None, user_agent: str) -> VolunteerSignup:
        # The link's row is the proof only for the address it was mailed to.
        same_address = recipient is not None and recipient.contact.email_key == data.email_key
        return enlistment_request(
            data=data,
            call_id=call.pk if call is not None else None,
            call_delivery=recipient.delivery_id if same_address and recipient else None,
            roles=form.cleaned_data["roles"],
            weekly_hours=form.cleaned_data["weekly_hours"],
            windows=form.cleaned_data["windows"],
            skills=form.cleaned_data["skills"],
            languages=form.cleaned_data["languages"],
            ip=ip,
            user_agent=user_agent,
        )

    context = {
        "call": call,
        "token": params.get("t", "") if recipient else "",
        # Each role the form offers, explained (read only if the form is shown).
        "roles": VolunteerRole.objects.filter(is_open=True),
    }
    return ENGAGE_PAGES.ask(request, form, build, context)


def engage_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "army/public/engage_sent.html")


@never_cache
@require_http_methods(["GET", "POST"])
def engage_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what will be recorded and a button: mail scanners open links, only a person's
    POST confirms (see _done for when it logs the browser in)."""
    return ENGAGE_PAGES.confirmation(request, token)
