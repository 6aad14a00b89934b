"""Respond (HQ and the coordinators of a team): the army's mission form, prefilled from a story,
whose draft remembers the story. The army's rules decide the team the mission may belong to."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from essaim.accounts.models import Team
from essaim.army.forms.missions import MissionForm, mission_terms
from essaim.army.rules import missions as army_rules
from essaim.army.services import missions as army
from essaim.watch import rules
from essaim.watch.models import Story
from essaim.watch.services import respond


@login_required
def story_respond(request: HttpRequest, pk: int) -> HttpResponse:
    if not (rules.can_see_stream(request.user) and army_rules.can_review(request.user)):
        raise PermissionDenied
    story = get_object_or_404(Story.objects.select_related("first_source", "first_item"), pk=pk)
    initial = respond.prefill(story, kind=request.GET.get("type", ""))
    form = MissionForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        team_id = int(data["team"]) if data["team"] else None
        if not army_rules.can_create_mission(request.user, team_id):
            raise PermissionDenied
        try:
            respond.open_mission(
                story=story,
                by=request.user,  # type: ignore[arg-type]
                team=Team.objects.get(pk=team_id) if team_id else None,
                targeting=army.Targeting(stages=data["stages"], departements=data["departements"]),
                request=request,
                **mission_terms(data),
            )
        except army.MissionError as refused:
            form.add_error(None, str(refused.message))
        else:
            messages.success(
                request,
                _(
                    "Mission enregistrée en brouillon, liée à ce sujet : relisez-la et publiez-la "
                    "depuis « Missions »."
                ),
            )
            return redirect("watch:story_detail", pk=story.pk)
    return render(request, "watch/story_respond.html", {"form": form, "story": story})
