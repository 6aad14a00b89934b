"""The talking points library's pages (HQ, and coordinators for their teams): the list with a
tag filter and keyset pages, an entry with its versions and usage, a new entry, a new version,
retirement. Thin: parse, authorize (rules/missions.py), call services/talking_points.py, render.
An entry the user may not reach is a 404."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from essaim.accounts.models import Team
from essaim.army.forms.library import PointForm, VersionForm, split_tags
from essaim.army.models import TalkingPoint
from essaim.army.rules import missions as rules
from essaim.army.services import talking_points as tp
from essaim.army.services.missions import MissionError
from essaim.lib.pagination import keyset_page, querystring

PAGE_SIZE = 50


def _library_user(request: HttpRequest) -> set[int] | None:
    if not rules.can_see_library(request.user):
        raise PermissionDenied
    return rules.library_scope(request.user)


def _visible_point(request: HttpRequest, pk: int) -> TalkingPoint:
    scope = _library_user(request)
    point = tp.library(teams=scope, include_retired=True).filter(pk=pk).first()
    if point is None:
        raise Http404
    return point


@login_required
def library(request: HttpRequest) -> HttpResponse:
    """The entries, newest first, `?tag=` to filter, `?retirees=1` to include retired ones;
    keyset pages (`?after=`): the same queries whatever the page."""
    scope = _library_user(request)
    tag = request.GET.get("tag", "")[: tp.MAX_TAG_LENGTH]
    include_retired = request.GET.get("retirees") == "1"
    page = keyset_page(
        tp.library(teams=scope, tag=tag, include_retired=include_retired), request, PAGE_SIZE
    )
    return render(
        request,
        "army/missions/library.html",
        {
            "page": page,
            "tag": tag.strip().lower(),
            "include_retired": include_retired,
            "qs": querystring(request),
            "can_write": True,
        },
    )


@login_required
def point_create(request: HttpRequest) -> HttpResponse:
    _library_user(request)
    form = PointForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team_id = int(data["team"]) if data["team"] else None
        if not rules.can_write_talking_point(request.user, team_id):
            raise PermissionDenied
        try:
            point = tp.add_talking_point(
                title=data["title"],
                body=data["body"],
                tags=split_tags(data["tags"]),
                team=Team.objects.get(pk=team_id) if team_id else None,
                by=request.user,  # type: ignore[arg-type]
            )
        except MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(request, _("Argument ajouté à l'argumentaire."))
            return redirect("army:talking_point", pk=point.pk)
    return render(request, "army/missions/talking_point_form.html", {"form": form})


@login_required
def point_detail(request: HttpRequest, pk: int) -> HttpResponse:
    point = _visible_point(request, pk)
    can_edit = rules.can_edit_talking_point(request.user, point)
    form = VersionForm(
        request.POST or None,
        initial={"tags": ", ".join(point.tags)},
    )
    if request.method == "POST":
        if not can_edit:
            raise Http404
        if form.is_valid():
            try:
                version = tp.revise_talking_point(
                    point=point,
                    body=form.cleaned_data["body"],
                    tags=split_tags(form.cleaned_data["tags"]),
                    by=request.user,  # type: ignore[arg-type]
                )
            except MissionError as refused:
                form.add_error(None, str(refused.message))
            else:
                messages.success(
                    request,
                    _("Version %(n)d publiée ; les missions en cours gardent la leur.")
                    % {"n": version.number},
                )
                return redirect("army:talking_point", pk=point.pk)
    versions = list(point.versions.order_by("-number").select_related("created_by"))
    return render(
        request,
        "army/missions/talking_point.html",
        {"point": point, "versions": versions, "form": form, "can_edit": can_edit},
        status=400 if request.method == "POST" else 200,
    )


@login_required
def point_retire(request: HttpRequest, pk: int) -> HttpResponse:
    if request.method != "POST":
        raise Http404
    point = _visible_point(request, pk)
    if not rules.can_edit_talking_point(request.user, point):
        raise Http404
    if tp.retire_talking_point(point=point):
        messages.success(
            request,
            _(
                "Argument retiré : plus aucune nouvelle mission ne peut s'en servir, et les "
                "volontaires des missions qui s'en servent le voient périmé."
            ),
        )
    else:
        messages.error(request, _("Cet argument était déjà retiré."))
    return redirect("army:talking_point", pk=point.pk)
