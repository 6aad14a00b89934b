"""Invitations: "Mes invitations" (paste or upload an address book, add a personal note, send;
counts), the invitee's confirmation and abuse report pages, and HQ's list of reported inviters.

Thin: parse (essaim.army.services.addressbook), authorize (essaim.army.rules), call the service
(essaim.army.services.invitations), render. Whatever the addresses, a valid request answers
"N invitations sent" with N the number of distinct valid addresses: the page says nothing about
the base.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from essaim.accounts.services import client_ip
from essaim.army import rules
from essaim.army.forms.invitations import InvitationForm
from essaim.army.models import Invitation, Volunteer
from essaim.army.services import invitations as svc
from essaim.army.services import inviters
from essaim.army.services.addressbook import (
    AddressBookError,
    Addresses,
    parse_file,
    parse_text,
    read_upload,
)
from essaim.lib import ratelimit
from essaim.people.services.signup import ExpiredLink, InvalidLink
from essaim.people.views.signup import invalid_link


def _volunteer(request: HttpRequest) -> Volunteer:
    """The page is a volunteer's (anyone else: 403); whether they may invite is for the page
    to say (essaim.army.services.inviters.standing)."""
    volunteer = Volunteer.objects.select_related("user", "contact").filter(pk=request.user.pk)
    found = volunteer.first() if request.user.is_active else None
    if found is None:
        raise PermissionDenied
    return found


def _report_invalid(request: HttpRequest, found: Addresses) -> None:
    if found.invalid_count:
        messages.warning(
            request,
            ngettext(
                "%(n)d adresse mal écrite, non invitée : %(list)s",
                "%(n)d adresses mal écrites, non invitées : %(list)s",
                found.invalid_count,
            )
            % {
                "n": found.invalid_count,
                "list": ", ".join(found.invalid)
                + (" …" if found.invalid_count > len(found.invalid) else ""),
            },
        )


@login_required
@require_http_methods(["GET", "POST"])
def my_invitations(request: HttpRequest) -> HttpResponse:
    """The form for a trusted mondain; for any other volunteer, why they may not invite (and a
    POST is a 403 that records nothing)."""
    volunteer = _volunteer(request)
    standing = inviters.standing(volunteer)
    stats = svc.stats(volunteer, standing)
    if standing.refusal is not None:
        return render(
            request,
            "army/invitations/my_invitations.html",
            {"stats": stats, "refusal": str(standing.refusal)},
            status=403 if request.method == "POST" else 200,
        )
    form = InvitationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "read":
            form = _read_book(request, form)
        else:
            sent = _send(request, form, volunteer)
            if sent is not None:
                return sent
    return render(
        request,
        "army/invitations/my_invitations.html",
        {
            "form": form,
            "stats": stats,
            "inviter": svc.display_name(volunteer),
        },
    )


def _read_book(request: HttpRequest, form: InvitationForm) -> InvitationForm:
    """Reading a file only fills the list: the volunteer checks it, trims it, then sends."""
    upload = form.cleaned_data["book"]
    if upload is None:
        form.add_error("book", _("Choisissez un fichier."))
        return form
    try:
        found = parse_file(read_upload(upload, upload.size))
    except AddressBookError as exc:
        form.add_error("book", str(exc))
        return form
    data = request.POST.copy()
    data["addresses"] = "\n".join(found.valid)
    filled = InvitationForm(data)
    filled.is_valid()
    messages.info(
        request,
        ngettext(
            "%(n)d adresse lue. Vérifiez la liste, retirez qui vous voulez, puis envoyez.",
            "%(n)d adresses lues. Vérifiez la liste, retirez qui vous voulez, puis envoyez.",
            len(found.valid),
        )
        % {"n": len(found.valid)},
    )
    _report_invalid(request, found)
    return filled


def _send(request: HttpRequest, form: InvitationForm, volunteer: Volunteer) -> HttpResponse | None:
    """The redirect after sending, a 429, or None with the form's error set."""
    try:
        found = parse_text(form.cleaned_data["addresses"])
    except AddressBookError as exc:
        form.add_error("addresses", str(exc))
        return None
    decision = ratelimit.hit("invitations", str(volunteer.pk), settings.INVITATIONS_RATE_LIMIT)
    if not decision.allowed:
        return ratelimit.refused_page(request, decision.retry_after)
    try:
        count = svc.request_invitations(
            volunteer=volunteer,
            addresses=found.valid,
            note=form.cleaned_data["note"],
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    except svc.NotAllowed as exc:
        # Suspended between the page's check and the request: refused as a whole.
        return render(
            request,
            "army/invitations/my_invitations.html",
            {"stats": svc.stats(volunteer), "refusal": str(exc)},
            status=403,
        )
    except svc.InvitationError as exc:
        form.add_error(None, str(exc))
        _report_invalid(request, found)
        return None
    messages.success(
        request,
        ngettext("%(n)d invitation envoyée.", "%(n)d invitations envoyées.", count) % {"n": count},
    )
    _report_invalid(request, found)
    return redirect("army:invitations")


@login_required
@require_http_methods(["POST"])
def lift_suspension(request: HttpRequest, pk: int) -> HttpResponse:
    """A coordinator of the volunteer's team or HQ lets a suspended inviter invite again."""
    volunteer = Volunteer.objects.filter(pk=pk).first()
    if volunteer is None or not rules.can_lift_invitation_suspension(request.user, volunteer):
        raise Http404
    if inviters.lift_suspension(volunteer=volunteer, by=request.user, request=request):  # type: ignore[arg-type]
        messages.success(request, _("Suspension levée : ce volontaire peut de nouveau inviter."))
    else:
        messages.info(request, _("Les invitations de ce volontaire n'étaient pas suspendues."))
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("army:invitation_reports")


@login_required
def reports(request: HttpRequest) -> HttpResponse:
    """HQ: the volunteers whose invitations were reported as abuse."""
    if not rules.can_list_invitation_reports(request.user):
        raise PermissionDenied
    return render(
        request,
        "army/invitations/reports.html",
        {
            "inviters": svc.reports_by_inviter()[:200],
            "threshold": settings.INVITATIONS_ABUSE_SUSPEND_THRESHOLD,
            "window": settings.INVITATIONS_ABUSE_WINDOW_DAYS,
        },
    )


def _invitation_or_error(
    request: HttpRequest, token: str, *, report: bool
) -> Invitation | HttpResponse:
    try:
        return svc.read_token(token, report=report)
    except ExpiredLink:
        return render(request, "army/public/invitation_expired.html", status=410)
    except InvalidLink:
        return invalid_link(request)


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows who invited and a button: mail scanners open links, only a person's POST
    confirms."""
    invitation = _invitation_or_error(request, token, report=False)
    if isinstance(invitation, HttpResponse):
        return invitation
    if request.method == "POST":
        try:
            svc.confirm_invitation(
                invitation=invitation,
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except svc.InvitationClosed:
            return render(request, "army/public/invitation_closed.html")
        return render(request, "army/public/invitation_done.html")
    if invitation.status == Invitation.Status.REPORTED:
        return render(request, "army/public/invitation_closed.html")
    return render(
        request,
        "army/public/invitation_confirm.html",
        {"invitation": invitation, "inviter": _inviter_name(invitation)},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_report(request: HttpRequest, token: str) -> HttpResponse:
    """GET explains and shows one button; the POST reports."""
    invitation = _invitation_or_error(request, token, report=True)
    if isinstance(invitation, HttpResponse):
        return invitation
    if request.method == "POST":
        svc.report_invitation(
            invitation=invitation,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return render(request, "army/public/invitation_reported.html")
    return render(
        request,
        "army/public/invitation_report.html",
        {"invitation": invitation, "inviter": _inviter_name(invitation)},
    )


def _inviter_name(invitation: Invitation) -> str:
    inviter = invitation.inviter
    return svc.display_name(inviter) if inviter is not None else _("Un volontaire")
