"""The public unsubscribe page, reached from the signed link in every mail."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from essaim.accounts.services import client_ip
from essaim.people.masking import mask_email
from essaim.people.models import Purpose
from essaim.people.public_forms import UnsubscribeForm
from essaim.people.services.unsubscribe import (
    InvalidUnsubscribeToken,
    granted_purposes,
    is_unsubscribed_from_everything,
    read_unsubscribe_token,
    unsubscribe,
)
from essaim.people.views.signup import invalid_link


@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        target = read_unsubscribe_token(token)
    except InvalidUnsubscribeToken:
        return invalid_link(request)
    if is_unsubscribed_from_everything(target):
        return render(request, "people/public/unsubscribe_done.html", {"everything": True})
    granted = granted_purposes(target)
    if request.method == "POST":
        # Any purpose is accepted, not only those still granted, so a repeated POST is harmless.
        form = UnsubscribeForm(request.POST, purposes=list(Purpose.values))
        if form.is_valid():
            choice = form.cleaned_data["choice"]
            everything = choice == UnsubscribeForm.ALL
            unsubscribe(
                target,
                purposes=None if everything else [choice],
                channel="page",
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
            return render(
                request, "people/public/unsubscribe_done.html", {"everything": everything}
            )
        form.offer(granted)
    else:
        form = UnsubscribeForm(purposes=granted)
    return render(
        request,
        "people/public/unsubscribe.html",
        {
            "form": form,
            "masked_email": (
                mask_email(target.contact.email, keep_domain=True) if target.contact else ""
            ),
        },
    )
