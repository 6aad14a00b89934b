"""Contact list and contact page (HQ and coordinators).

HQ sees the whole base in clear. A coordinator sees the contacts of their départements with the
address and phone number masked; "Révéler" shows them for one contact and is logged twice: in the
audit log and on the contact's timeline. Anyone else gets 403, and a coordinator asking for a
contact outside their zones gets 404 (no hint that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from essaim.accounts.models import User
from essaim.accounts.services import audit
from essaim.accounts.services.vocabulary import readable_value
from essaim.lib.numbers import is_ascii_digits
from essaim.lib.pagination import keyset_page, querystring
from essaim.people import rules
from essaim.people.forms import BulkActionForm
from essaim.people.labels import source_reference
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    Purpose,
    Segment,
)
from essaim.people.services import timeline
from essaim.people.services.bulk import list_segments
from essaim.people.services.contact_search import (
    SearchRefused,
    count_found,
    search_contacts,
    spend_reveal,
)
from essaim.people.services.masking import mask_email, mask_phone
from essaim.people.services.segments import SegmentDefinitionError, saved_segment_condition
from essaim.people.services.zones import ZonesDataMissing, zones

PAGE_SIZE = 50
TIMELINE_LENGTH = 100


@dataclass(frozen=True)
class Row:
    """One line of the list, with the address and phone as this user may see them."""

    contact: Contact
    email: str
    phone: str


def _shown(contact: Contact, *, masked: bool) -> tuple[str, str]:
    if masked:
        return mask_email(contact.email), mask_phone(contact.phone)
    return contact.email, contact.phone


@login_required
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not rules.can_view_contacts(user):
        raise PermissionDenied
    masked = not rules.sees_contacts_unmasked(user)
    contacts = Contact.objects.visible_to(user)
    query = request.GET.get("q", "").strip()[:200]
    search_error = ""
    status = 200
    retry_after = 0
    try:
        contacts = search_contacts(contacts=contacts, user=user, query=query, request=request)
    except SearchRefused as refused:
        contacts = contacts.none()
        search_error, retry_after = _refusal_message(refused), refused.retry_after
        status = 429 if retry_after else 400
    segment: Segment | None = None
    segment_error = ""
    segment_param = request.GET.get("segment", "")
    segments: list[Segment] = []
    if segment_param:
        if not rules.can_manage_base(user):
            raise PermissionDenied
        if not is_ascii_digits(segment_param):
            raise Http404
        segment = get_object_or_404(Segment, pk=int(segment_param))
        try:
            contacts = contacts.filter(saved_segment_condition(segment))
        except SegmentDefinitionError as exc:
            segment_error = str(exc)
            contacts = contacts.none()
    bulk_form = None
    if rules.can_manage_base(user):
        # With their definitions: the list segments among them are the bulk form's choices.
        segments = list(Segment.objects.only("pk", "name", "definition"))
        bulk_form = BulkActionForm(list_segments=list_segments(segments), auto_id="bulk-%s")
    page = keyset_page(contacts.prefetch_related("tags"), request, size=PAGE_SIZE)
    rows = [Row(c, *_shown(c, masked=masked)) for c in page.items]
    # A segment's count costs as much as the page again: its page shows the stored count.
    total, total_exact = (None, True) if segment else count_found(contacts, searched=bool(query))
    if not masked:
        # A page of the base in clear is a read like the API's: one entry per page shown.
        params = {
            "q": query,
            "segment": segment.pk if segment else None,
            **{
                k: int(v)
                for k in ("after", "before")
                if is_ascii_digits(v := request.GET.get(k, ""))
            },
        }
        audit(
            action="contacts.read",
            request=request,
            via="web",
            count=len(rows),
            masked=False,
            query={k: v for k, v in params.items() if v},
        )
    response = render(
        request,
        "people/contact_list.html",
        {
            "page": page,
            "rows": rows,
            "total": total,
            "total_exact": total_exact,
            "qs": querystring(request),
            "masked": masked,
            "query": query,
            "search_error": search_error,
            "segment": segment,
            "segments": segments,
            "segment_error": segment_error,
            "can_export": rules.can_export(user),
            "bulk_form": bulk_form,
        },
        status=status,
    )
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _minutes(seconds: int) -> int:
    return max(1, (seconds + 59) // 60)


def _refusal_message(refused: SearchRefused) -> str:
    if refused.retry_after:
        minutes = _minutes(refused.retry_after)
        return ngettext(
            "Trop de recherches refusées ou de révélations en peu de temps : réessayez dans "
            "%(minutes)s minute.",
            "Trop de recherches refusées ou de révélations en peu de temps : réessayez dans "
            "%(minutes)s minutes.",
            minutes,
        ) % {"minutes": minutes}
    if refused.field == "phone":
        return str(
            _(
                "Les numéros de téléphone vous sont masqués : la recherche ne porte pas sur eux "
                "(tentative journalisée). Cherchez par nom ou par code postal, puis révélez les "
                "coordonnées depuis la fiche du contact."
            )
        )
    return str(
        _(
            "Les adresses e-mail vous sont masquées : la recherche ne porte pas sur elles "
            "(tentative journalisée). Cherchez par nom ou par code postal, puis révélez les "
            "coordonnées depuis la fiche du contact."
        )
    )


def _visible_contact(request: HttpRequest, pk: int) -> Contact:
    if not rules.can_view_contacts(request.user):
        raise PermissionDenied
    return get_object_or_404(Contact.objects.visible_to(request.user), pk=pk)


def _detail_context(request: HttpRequest, contact: Contact, *, revealed: bool) -> dict[str, Any]:
    user = request.user
    masked = not rules.sees_contacts_unmasked(user) and not revealed
    email, phone = _shown(contact, masked=masked)
    consents = {c.purpose: c for c in contact.consents.all()}
    typed_by = _typed_by(list(consents.values()))
    return {
        "contact": contact,
        "email": email,
        "phone": phone,
        "masked": masked,
        "revealed": revealed,
        "can_reveal": masked and rules.can_reveal_contact(user, contact.departement),
        "tags": list(contact.tags.all()),
        "consents": [
            (label, consent, _consent_words(consent, typed_by=typed_by.get(value, "")))
            for value, label in Purpose.choices
            for consent in [consents.get(value)]
        ],
        "zone_names": _zone_names(contact),
        "consent_statuses": Consent.Status,
        "events": [
            (event, timeline.event_label(event.kind), timeline.event_details(event))
            for event in timeline.newest_first(contact, TIMELINE_LENGTH)
        ],
        "timeline_length": TIMELINE_LENGTH,
        "can_manage": rules.can_manage_base(user),
    }


def _typed_by(consents: list[Consent]) -> dict[str, str]:
    """Who typed each consent that HQ entered by hand (its proof is `user:<id>`), by purpose."""
    typed = {
        c.purpose: int(c.source_ref[5:])
        for c in consents
        if c.source == Consent.Source.STAFF
        and is_ascii_digits(c.source_ref[5:])
        and c.source_ref.startswith("user:")
    }
    emails = dict(User.objects.filter(pk__in=set(typed.values())).values_list("pk", "email"))
    proofs: dict[str, str] = {}
    for purpose, user_id in typed.items():
        email = emails.get(user_id)
        proofs[purpose] = (
            _("Saisi par %(email)s (QG)") % {"email": email}
            if email
            else _("Saisi par le compte n° %(id)s (QG)") % {"id": user_id}
        )
    return proofs


def _consent_words(consent: Consent | None, *, typed_by: str = "") -> dict[str, str]:
    """A consent's proof reference and withdrawal reason in words ("volontaire n° 12", not
    "volunteer:12"; "Saisi par … (QG)" for one typed by hand); empty for what it does not have."""
    if consent is None:
        return {}
    return {
        "reference": typed_by or source_reference(consent.source_ref, source=consent.source),
        "reason": readable_value(consent.withdrawn_reason, "reason")
        if consent.withdrawn_reason
        else "",
    }


def _zone_names(contact: Contact) -> dict[str, str]:
    try:
        known = zones()
    except ZonesDataMissing:
        return {}
    departement = known.departements.get(contact.departement)
    return {
        "departement": f"{contact.departement} — {departement[0]}" if departement else "",
        "region": known.regions.get(contact.region, ""),
    }


@login_required
@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _visible_contact(request, pk)
    if rules.sees_contacts_unmasked(request.user):
        # A person's page in clear is a read of the base, as a page of the list is.
        audit(
            action="contacts.read", request=request, obj=contact, via="web", count=1, masked=False
        )
    return render(
        request, "people/contact_detail.html", _detail_context(request, contact, revealed=False)
    )


@login_required
@require_POST
def contact_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a coordinator the clear address and phone of one contact of their zones, and log
    it. HQ always sees them: for HQ this is a plain redirect, nothing is logged."""
    contact = _visible_contact(request, pk)
    if rules.sees_contacts_unmasked(request.user):
        return redirect("people:contact_detail", pk=contact.pk)
    if not rules.can_reveal_contact(request.user, contact.departement):
        raise PermissionDenied
    decision = spend_reveal(request.user)
    if not decision.allowed:
        audit(action="contact.reveal_refused", request=request, obj=contact)
        minutes = _minutes(decision.retry_after)
        context = _detail_context(request, contact, revealed=False) | {
            "reveal_error": ngettext(
                "Trop de révélations en peu de temps : réessayez dans %(minutes)s minute.",
                "Trop de révélations en peu de temps : réessayez dans %(minutes)s minutes.",
                minutes,
            )
            % {"minutes": minutes}
        }
        if getattr(request, "htmx", False):
            # htmx swaps no 4xx answer: the fragment comes as a 200 so that the message shows.
            response = render(request, "people/contact_detail.html#identity", context)
        else:
            response = render(request, "people/contact_detail.html", context, status=429)
        response["Retry-After"] = str(decision.retry_after)
        return response
    with transaction.atomic():
        audit(action="contact.reveal", request=request, obj=contact)
        ContactEvent.objects.create(
            contact=contact,
            kind="reveal",
            actor=cast(User, request.user),
            data={"fields": ["email", "phone"]},
        )
    context = _detail_context(request, contact, revealed=True)
    if getattr(request, "htmx", False):
        return render(request, "people/contact_detail.html#identity", context)
    return render(request, "people/contact_detail.html", context)
