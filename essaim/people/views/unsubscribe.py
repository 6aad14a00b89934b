"""The public unsubscribe page, reached from the signed link in every mail."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from essaim.accounts.services import client_ip
from essaim.people.forms import UnsubscribeForm
from essaim.people.models import Purpose
from essaim.people.services.masking import mask_email
from essaim.people.services.unsubscribe import (
    InvalidUnsubscribeToken,
    granted_purposes,
    is_unsubscribed_from_everything,
    read_unsubscribe_token,
    unsubscribe,
)
from essaim.people.views.signup import invalid_link


def _not_exempt(request: HttpRequest) -> HttpResponse:
    return HttpResponse()  # never called: stands for a view without csrf_exempt


def _csrf_refusal(request: HttpRequest) -> HttpResponseBase | None:
    """The page's own form keeps Django's CSRF check (the view is exempt for one-click only)."""
    return CsrfViewMiddleware(_not_exempt).process_view(request, _not_exempt, (), {})


def _is_one_click(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("List-Unsubscribe") == "One-Click"


# RFC 8058 one-click: the mailbox provider POSTs "List-Unsubscribe=One-Click" to the link of the
# List-Unsubscribe header, without cookies: it unsubscribes from everything at once and answers
# 200 without a redirect, idempotently. A GET only shows the page; it never unsubscribes.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe_page(request: HttpRequest, token: str) -> HttpResponseBase:
    try:
        target = read_unsubscribe_token(token)
    except InvalidUnsubscribeToken:
        return invalid_link(request)
    if _is_one_click(request):
        unsubscribe(
            target,
            purposes=None,
            channel="one_click",
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return render(request, "people/public/unsubscribe_done.html", {"everything": True})
    if request.method == "POST" and (refusal := _csrf_refusal(request)) is not None:
        return refusal
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
