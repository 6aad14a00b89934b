from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from essaim.accounts import rules
from essaim.accounts.models import AuditEvent
from essaim.lib.pagination import keyset_page


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


@login_required
def home(request: HttpRequest) -> HttpResponse:
    context: dict[str, object] = {}
    if rules.can_view_contacts(request.user):
        from essaim.people.services.stats import base_summary

        context["summary"] = base_summary(user=request.user)  # type: ignore[arg-type]
    return render(request, "accounts/home.html", context)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not rules.is_hq(request.user):
        raise PermissionDenied
    qs = AuditEvent.objects.all()
    action = request.GET.get("action", "").strip()
    if action:
        qs = qs.filter(action=action)
    page = keyset_page(qs, request, size=50)
    return render(request, "accounts/audit_log.html", {"page": page, "action": action})
