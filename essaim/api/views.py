"""API token pages (HQ): list, create (the secret shown once), change scopes, networks and
limits, revoke. Every change is audited by the services; an HQ admin sees and manages everyone's
tokens, anyone else on HQ only their own (another's token is a 404)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from essaim.accounts import rules
from essaim.accounts.models import User
from essaim.api.forms import TokenCreateForm, TokenSettingsForm
from essaim.api.models import ApiToken, Scope
from essaim.api.services import create_token, revoke_token, update_token
from essaim.lib.confirm import ask, confirmed
from essaim.lib.pagination import keyset_page


def _user(request: HttpRequest) -> User:
    if not rules.can_manage_api_tokens(request.user):
        raise PermissionDenied
    return cast(User, request.user)


def _tokens_of(user: User) -> QuerySet[ApiToken]:
    tokens = ApiToken.objects.select_related("user")
    return tokens if rules.is_hq_admin(user) else tokens.filter(user=user)


def _list(request: HttpRequest, user: User, form: TokenCreateForm) -> HttpResponse:
    page = keyset_page(_tokens_of(user), request, size=50)
    today = timezone.localdate()
    rows = [(token, token.read_on(today), token.budget()) for token in page.items]
    context = {
        "page": page,
        "rows": rows,
        "form": form,
        "everyone": rules.is_hq_admin(user),
        "scope_labels": dict(Scope.choices),
    }
    return render(request, "api/token_list.html", context)


@login_required
@require_GET
def token_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = TokenCreateForm(limits=rules.is_hq_admin(user), initial={"scopes": [Scope.READ]})
    return _list(request, user, form)


@never_cache
@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Make a token acting as the person who asks; the answer shows the secret, once (never
    stored, never redirected through the session)."""
    user = _user(request)
    form = TokenCreateForm(request.POST, limits=rules.is_hq_admin(user))
    if not form.is_valid():
        return _list(request, user, form)
    data = form.cleaned_data
    token, raw = create_token(
        user=user,
        name=data["name"],
        scopes=data["scopes"],
        networks=data["networks"],
        rate_per_minute=data.get("rate_per_minute"),
        daily_people_budget=data.get("daily_people_budget"),
        actor=user,
        request=request,
    )
    response = render(request, "api/token_created.html", {"token": token, "raw": raw})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def token_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    token = get_object_or_404(_tokens_of(user), pk=pk, revoked_at__isnull=True)
    limits = rules.is_hq_admin(user)
    initial = {
        "scopes": token.scopes,
        "networks": "\n".join(token.networks),
        "rate_per_minute": token.rate_per_minute,
        "daily_people_budget": token.daily_people_budget,
    }
    form = TokenSettingsForm(request.POST or None, limits=limits, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        changed = update_token(
            token=token,
            scopes=data["scopes"],
            networks=data["networks"],
            # Only an HQ admin's form has the limits; anyone else leaves them as they are.
            rate_per_minute=data["rate_per_minute"] if limits else token.rate_per_minute,
            daily_people_budget=(
                data["daily_people_budget"] if limits else token.daily_people_budget
            ),
            actor=user,
            request=request,
        )
        if changed:
            messages.success(request, _("Jeton %s modifié.") % token.prefix)
        return redirect("api_tokens:list")
    return render(request, "api/token_edit.html", {"token": token, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    token = get_object_or_404(_tokens_of(user), pk=pk)
    if not confirmed(request):
        if token.revoked_at is not None:
            return redirect("api_tokens:list")
        return ask(
            request,
            dialog_id="revoke-dialog",
            title=_("Révoquer le jeton %s ?") % token.prefix,
            text=_(
                "Il cessera de fonctionner immédiatement : les intégrations qui s'en servent "
                "seront refusées. C'est irréversible."
            ),
            confirm_label=_("Révoquer"),
            tone="danger",
            action=reverse("api_tokens:revoke", args=[token.pk]),
            cancel_url=reverse("api_tokens:list"),
            eyebrow=_("Révoquer le jeton"),
            heading=f"{token.prefix} · {token.name}" if token.name else token.prefix,
        )
    token, changed = revoke_token(prefix=token.prefix, actor=user, request=request)
    if changed:
        messages.success(request, _("Jeton %s révoqué : il ne fonctionne plus.") % token.prefix)
    return redirect("api_tokens:list")
