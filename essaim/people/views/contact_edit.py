"""A contact added or edited by hand (HQ). The page goes through the contacts service, as the API
does: the same checks, the same errors (each at its field), the same timeline. Coordinators do
not write the base (people.rules.can_manage_base, the API's rule too): they get 403.

A consent typed here records its provenance: source "Saisie QG", and as proof the account that
typed it (`user:<id>`), shown on the contact page as "Saisi par <e-mail>".
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from essaim.accounts.services import audit
from essaim.people import rules
from essaim.people.forms import ContactForm
from essaim.people.models import Consent, Contact, Purpose
from essaim.people.services.contacts import (
    ConsentGrant,
    DuplicateAddress,
    SuppressedAddress,
    edit_contact,
    upsert_contact,
)


def staff_proof(user: Any) -> str:
    """The proof a consent typed by `user` keeps: their account, as invitations keep theirs."""
    return f"user:{user.pk}"


def _require_manager(request: HttpRequest) -> None:
    if not rules.can_manage_base(request.user):
        raise PermissionDenied


def duplicate_message(user: Any, contact_id: int) -> SafeString | str:
    """The address belongs to another contact: say so, with a link to them if `user` may see
    them."""
    if Contact.objects.visible_to(user).filter(pk=contact_id).exists():
        link = format_html(
            '<a href="{}">{}</a>',
            reverse("people:contact_detail", args=[contact_id]),
            _("voir sa fiche"),
        )
        return format_html(
            _("Cette adresse est déjà celle d'un contact de la base : {link}."), link=link
        )
    return _("Cette adresse est déjà celle d'un contact de la base.")


SUPPRESSED = _(
    "Cette adresse est sur la liste d'exclusion (désinscription, effacement, adresse invalide "
    "ou signalement) : elle ne peut pas être ajoutée à la base."
)


def _grants(form: ContactForm, user: Any) -> list[ConsentGrant]:
    data = form.cleaned_data
    return [
        ConsentGrant(
            purpose=purpose,
            basis=data["basis"],
            source=Consent.Source.STAFF,
            source_ref=staff_proof(user),
        )
        for purpose in data.get("purposes") or []
    ]


@login_required
@require_http_methods(["GET", "POST"])
def contact_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        grants = _grants(form, request.user)
        try:
            contact, _created = upsert_contact(
                data=form.contact_data,
                consents=grants,
                source=Consent.Source.STAFF,
                tags=form.cleaned_data["tags"],
                actor=request.user,
                only_new=True,
            )
        except DuplicateAddress as exc:
            form.add_error("email", duplicate_message(request.user, exc.contact_id))
        except SuppressedAddress:
            form.add_error("email", str(SUPPRESSED))
        else:
            audit(
                action="contact.create",
                request=request,
                obj=contact,
                purposes=[g.purpose for g in grants],
                basis=form.cleaned_data["basis"],
                tags=form.cleaned_data["tags"],
            )
            messages.success(request, _("Contact ajouté."))
            return redirect("people:contact_detail", pk=contact.pk)
    return render(request, "people/contact_form.html", {"form": form, "contact": None})


def _grantable(contact: Contact) -> list[str]:
    """The purposes HQ may still grant: none recorded, or pending confirmation."""
    statuses = dict(contact.consents.values_list("purpose", "status"))
    return [
        purpose
        for purpose in Purpose.values
        if statuses.get(purpose, Consent.Status.PENDING) == Consent.Status.PENDING
    ]


def _initial(contact: Contact) -> dict[str, Any]:
    return {
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": contact.phone,
        "postcode": contact.postcode,
        "tags": list(contact.tags.order_by("name").values_list("name", flat=True)),
    }


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    contact = get_object_or_404(Contact.objects.visible_to(request.user), pk=pk)
    grantable = _grantable(contact)
    if request.method == "POST":
        form = ContactForm(request.POST, grantable=grantable)
        if form.is_valid():
            grants = _grants(form, request.user)
            try:
                changed = edit_contact(
                    contact=contact,
                    data=form.contact_data,
                    tags=form.cleaned_data["tags"],
                    consents=grants,
                    actor=request.user,
                )
            except DuplicateAddress as exc:
                form.add_error("email", duplicate_message(request.user, exc.contact_id))
            except SuppressedAddress:
                form.add_error("email", str(SUPPRESSED))
            else:
                # Field names only: the values are on the contact's own timeline.
                if changed or grants:
                    audit(
                        action="contact.update",
                        request=request,
                        obj=contact,
                        fields=changed,
                        purposes=[g.purpose for g in grants],
                    )
                messages.success(request, _("Contact enregistré."))
                return redirect("people:contact_detail", pk=contact.pk)
    else:
        form = ContactForm(initial=_initial(contact), grantable=grantable)
    return render(request, "people/contact_form.html", {"form": form, "contact": contact})
