"""GDPR requests handled by HQ from a contact's page: access (art. 15) and erasure (art. 17)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from essaim.accounts.services import audit
from essaim.people import rules
from essaim.people.models import Contact
from essaim.people.services.gdpr import access_report, erase_contact


@never_cache
@login_required
@require_GET
def contact_access(request: HttpRequest, pk: int) -> HttpResponse:
    """Everything held about the person, as a JSON download; the export is audited."""
    if not rules.can_manage_base(request.user):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    report = access_report(contact)
    audit(action="contact.access_export", request=request, obj=contact)
    response = HttpResponse(
        json.dumps(report, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def contact_erase(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST erases. The audit keeps the address hash, never the
    address."""
    if not rules.can_manage_base(request.user):
        raise PermissionDenied
    contact = get_object_or_404(Contact, pk=pk)
    if request.method == "POST":
        erase_contact(contact, request=request)
        messages.success(
            request,
            _("Le contact n°%(pk)s a été effacé ; son adresse ne sera plus jamais contactée.")
            % {"pk": pk},
        )
        return redirect("people:contact_list")
    return render(request, "people/contact_erase.html", {"contact": contact})
