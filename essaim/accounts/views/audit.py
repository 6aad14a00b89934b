"""The audit log page (HQ): one readable sentence per entry (essaim.accounts.services.audit_log),
filtered by who acted, by family of actions and by dates, newest or oldest first."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from essaim.accounts import rules
from essaim.accounts.models import AuditEvent, User
from essaim.accounts.services import audit_log
from essaim.lib.pagination import keyset_page, querystring
from essaim.lib.sorting import SortColumn, sorting_from

# Entries are chained in id order, and their time is taken under the chain's lock: id order is
# time order, which the primary key serves at any depth (the log grows by every read).
SORT_COLUMNS = (SortColumn("quand", "pk", descending_first=True),)
# How many accounts a "who" filter may match: a word common to many names asks for a better one.
ACTORS_MATCHED = 200


class AuditFilterForm(forms.Form):
    qui = forms.CharField(
        label=_("Qui"),
        required=False,
        max_length=254,
        help_text=_("Nom ou adresse e-mail"),
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    famille = forms.ChoiceField(label=_("Actions"), required=False)
    du = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    au = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        family = self.fields["famille"]
        assert isinstance(family, forms.ChoiceField)
        family.choices = [("", _("Toutes")), *((f.key, f.label) for f in audit_log.families())]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("du"), data.get("au")
        if start and end and end < start:
            self.add_error("au", _("La fin de la période précède son début."))
        return data

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filtered(events: QuerySet[AuditEvent], data: dict[str, Any]) -> QuerySet[AuditEvent]:
    """The entries matching valid filters; a filter left empty filters nothing."""
    who = (data.get("qui") or "").strip()
    if who:
        matches = User.objects.filter(
            Q(email__iexact=who) | Q(email__icontains=who) | Q(full_name__icontains=who)
        ).values_list("pk", flat=True)[:ACTORS_MATCHED]
        ids = list(matches)
        # An account since deleted keeps its address on its entries (`actor_email`).
        events = events.filter(actor_id__in=ids) if ids else events.filter(actor_email=who.lower())
    family = next((f for f in audit_log.families() if f.key == data.get("famille")), None)
    if family is not None:
        prefixes = Q()
        for prefix in family.prefixes:
            prefixes |= Q(action__startswith=prefix)
        events = events.filter(prefixes)
    if data.get("du"):
        events = events.filter(at__gte=_day_start(data["du"]))
    if data.get("au"):
        events = events.filter(at__lt=_day_start(data["au"] + timedelta(days=1)))
    return events


@login_required
@require_GET
def audit_log_page(request: HttpRequest) -> HttpResponse:
    if not rules.is_hq(request.user):
        raise PermissionDenied
    form = AuditFilterForm(request.GET)
    # An invalid filter (a date that is not one) is shown at its field and filters nothing;
    # the valid ones still apply.
    form.is_valid()
    events = filtered(AuditEvent.objects.all(), form.cleaned_data)
    # An exact code, as links to one kind of entry give it.
    action = request.GET.get("action", "").strip()[:64]
    if action:
        events = events.filter(action=action)
    sorting = sorting_from(request, SORT_COLUMNS, "-quand")
    page = keyset_page(events, request, size=50, sorting=sorting)
    return render(
        request,
        "accounts/audit_log.html",
        {
            "form": form,
            "filtered": form.active or bool(action),
            "action": action,
            "page": page,
            "lines": audit_log.lines(page.items, request.user),
            "sorting": sorting,
            "qs": querystring(request),
        },
    )
