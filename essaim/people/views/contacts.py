"""Contact list and contact page (HQ and coordinators)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from essaim.accounts import rules
from essaim.lib.pagination import keyset_page, querystring
from essaim.people.models import Contact


@login_required
def contact_list(request: HttpRequest) -> HttpResponse:
    if not rules.can_view_contacts(request.user):
        raise PermissionDenied
    contacts = Contact.objects.visible_to(request.user)
    page = keyset_page(contacts, request, size=50)
    return render(
        request,
        "people/contact_list.html",
        {
            "page": page,
            "qs": querystring(request),
            "masked": not rules.sees_contacts_unmasked(request.user),
        },
    )
