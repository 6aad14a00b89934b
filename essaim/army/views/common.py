"""What the army's mission views share: the POST-only guard of their actions, and the mission a
runner may reach."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Concatenate

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from essaim.army.models import Mission
from essaim.army.rules import missions as rules


def post_only[**P, R: HttpResponseBase](
    view: Callable[Concatenate[HttpRequest, P], R],
) -> Callable[Concatenate[HttpRequest, P], R]:
    """For the actions a form's POST alone may trigger (claim, review, duplicate, close…): any
    other method answers 404, as a page that does not exist, so that a link followed or a crawler
    passing by does nothing. Put it under @login_required, which sends visitors to the login
    first."""

    @wraps(view)
    def guarded(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if request.method != "POST":
            raise Http404
        return view(request, *args, **kwargs)

    return guarded


def run_mission(request: HttpRequest, pk: int) -> Mission:
    """The mission `pk` if this user runs it (its team's coordinators, HQ), else a 404: to anyone
    else another team's mission does not exist."""
    mission = get_object_or_404(Mission.objects.select_related("team"), pk=pk)
    if not rules.can_run_mission(request.user, mission):
        raise Http404
    return mission
