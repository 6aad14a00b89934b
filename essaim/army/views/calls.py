"""Calls for volunteers: HQ's pages (list, create, funnel) and the public landing page.

Thin: parse, authorize (army.rules.can_manage_calls), call essaim.army.services.calls, render.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from essaim.army import rules
from essaim.army.forms.calls import CallForm
from essaim.army.models import Call
from essaim.army.services import calls as svc
from essaim.army.services.call_links import (
    CallRecipient,
    ExpiredCallLink,
    InvalidCallLink,
    landing_path,
    read_link,
)
from essaim.lib.numbers import ascii_int
from essaim.mailing.services.campaigns import CampaignRefused
from essaim.mailing.services.composer import render_markdown


def _require(request: HttpRequest) -> None:
    if not rules.can_manage_calls(request.user):
        raise PermissionDenied


@login_required
@require_GET
def call_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    calls = Call.objects.select_related("campaign")[:200]
    return render(request, "army/calls/call_list.html", {"calls": calls})


@login_required
@require_http_methods(["GET", "POST"])
def call_create(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = CallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            call = svc.create_call(
                user=request.user,
                title=data["title"],
                text_markdown=data["text_markdown"],
                roles=data["roles"],
                segment=data["segment"],
                purpose=data["purpose"],
                from_address=data["from_address"],
                subject=data["subject"],
                body_markdown=data["body_markdown"],
                request=request,
            )
        except CampaignRefused as exc:
            # At the field the composer names (the mail's subject or body), if the form has it.
            field = getattr(exc, "field", "")
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            return redirect("army:call_detail", pk=call.pk)
    status = 422 if form.errors else 200
    return render(request, "army/calls/call_form.html", {"form": form}, status=status)


@login_required
@require_GET
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    call = get_object_or_404(Call.objects.select_related("campaign", "created_by"), pk=pk)
    funnel = svc.call_funnel(call)
    return render(
        request,
        "army/calls/call_detail.html",
        {
            "call": call,
            "campaign": call.campaign,
            "funnel": funnel,
            "chart": svc.funnel_chart(call, funnel),
            "totals": [(s, svc.STEP_LABELS[s], funnel.totals[s]) for s in svc.STEPS],
            "rows": [
                (b.start, [(b.counts[s], b.totals[s]) for s in svc.STEPS]) for b in funnel.buckets
            ],
            "landing_url": f"{settings.SITE_URL}{landing_path(call.pk)}",
        },
    )


# --- The public landing page ----------------------------------------------------------------


def call_from_link(call_id: str, token: str) -> tuple[Call | None, CallRecipient | None, str]:
    """(call, recipient, problem) from the `appel` and `t` parameters of a request; problem is
    "", "expired" or "invalid" (the page is then the anonymous one)."""
    if (call_pk := ascii_int(call_id)) is None:
        return None, None, ""
    call = Call.objects.select_related("campaign").filter(pk=call_pk).first()
    if call is None or not token:
        return call, None, ""
    try:
        return call, read_link(call.pk, call.campaign_id, token), ""
    except ExpiredCallLink:
        return call, None, "expired"
    except InvalidCallLink:
        return call, None, "invalid"


@never_cache
@require_GET
def call_landing(request: HttpRequest, pk: int) -> HttpResponse:
    """Anyone may read the page; with the link of a call's mail it greets its recipient (by
    first name, the only thing of theirs it shows: the link is made to be forwarded) and
    counts one visit per contact (a refresh counts nothing more). No cookie is set or needed:
    the link alone says who came. A mail scanner that opens links counts as a visit too; the
    later steps of the funnel are immune to it."""
    call, recipient, problem = call_from_link(str(pk), request.GET.get("t", ""))
    if call is None:
        return render(request, "army/public/call_missing.html", status=404)
    if recipient is not None:
        svc.record_visit(call, recipient.contact)
    params = {"appel": call.pk}
    if recipient is not None:
        params["t"] = request.GET["t"]  # type: ignore[assignment]
    return render(
        request,
        "army/public/call_landing.html",
        {
            "call": call,
            # Sanitized by nh3 after markdown-it with raw HTML off (the campaigns' composer).
            "text": mark_safe(render_markdown(call.text_markdown)),
            "roles": call.roles.all(),
            # Only the first name reaches the template, so nothing else of the person can show.
            "first_name": recipient.contact.first_name if recipient is not None else "",
            "problem": problem,
            "engage_url": f"{reverse('army_public:engage')}?{urlencode(params)}",
        },
    )
