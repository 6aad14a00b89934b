from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from essaim.people import rules
from essaim.people.services.stats import base_summary


# The home page shows figures of the base: it belongs above the pillars, not in accounts.
@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {}
    if rules.can_view_contacts(request.user):
        context["summary"] = base_summary(user=request.user)  # type: ignore[arg-type]
    return render(request, "project/home.html", context)
