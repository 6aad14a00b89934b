"""Respond: a coordinator turns a story into a draft mission of their team through the army's
form, prefilled with the story's links and watchlists (no message to paste); the story lists
its missions and their accepted proofs. Refused attempts change nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.army.models import Claim, Mission, Stage, VolunteerRole
from essaim.army.services.missions import (
    Targeting,
    accept_claim,
    claim_mission,
    publish_mission,
)
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import TeamFactory, VolunteerFactory
from essaim.watch.models import Story, StoryMission, Watchlist, WatchlistMatch
from essaim.watch.services import respond
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def story() -> Story:
    first_source = SourceFactory.create(title="Le Blog d'Ève")
    first = ItemFactory.create(
        source=first_source,
        url="https://eve.exemple.fr/billet/",
        title="La réforme <b>annoncée</b>",
    )
    reprint = ItemFactory.create(url="https://copie.exemple.fr/1/", is_reprint=True)
    echo = ItemFactory.create(url="https://autre.exemple.fr/2/")
    story = Story.objects.create(
        title="La réforme <script>x</script>",
        first_item=first,
        first_source=first_source,
        items_count=3,
        sources_count=3,
        originals_count=2,
        reprints_count=1,
    )
    for n, item in enumerate([first, echo, reprint]):
        item.story = story
        item.seen_at = timezone.now() - dt.timedelta(hours=3 - n)
        item.save(update_fields=["story", "seen_at"])
    watchlist = Watchlist.objects.create(name="Réforme", query="réforme")
    WatchlistMatch.objects.create(watchlist=watchlist, item=first, terms=["réforme"])
    return story


@pytest.fixture
def team(coordinator: Any) -> Any:
    return TeamFactory.create(name="Paris", coordinators=[coordinator])


def form_data(response: Any, **overrides: Any) -> dict[str, Any]:
    """The prefilled form's values, as a browser would post them back."""
    form = response.context["form"]
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if name == "deadline":
            value = value.strftime("%Y-%m-%dT%H:%M")
        data[name] = value
    data.update(overrides)
    return data


def test_the_prefill_describes_the_story_and_gives_its_links_never_a_text_to_paste(story):
    initial = respond.prefill(story)
    assert initial["kind"] == "relay"
    assert initial["title"] == "Répondre : La réforme <script>x</script>"
    assert initial["target_sites"].splitlines() == [
        "https://eve.exemple.fr/billet/",
        "https://autre.exemple.fr/2/",
        "https://copie.exemple.fr/1/",
    ]
    assert "Listes de veille : Réforme." in initial["brief"]
    assert "3 sources distinctes, 3 échos." in initial["brief"]
    assert "Vu d'abord chez Le Blog d'Ève" in initial["brief"]
    assert "avec vos propres mots" in initial["brief"]


def test_a_trace_response_lists_the_links_as_channels_to_watch(story):
    initial = respond.prefill(story, kind="trace")
    assert initial["kind"] == "trace"
    assert initial["watch_channels"].splitlines()[0] == "https://eve.exemple.fr/billet/"
    assert "target_sites" not in initial


def test_a_coordinator_opens_a_mission_of_their_team_from_a_story(story, team, coordinator):
    client = client_for(coordinator)
    url = reverse("watch:story_respond", args=[story.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert "&lt;script&gt;x&lt;/script&gt;" in page.content.decode()
    response = client.post(url, form_data(page, team=str(team.pk)))
    assert response.status_code == 302
    assert response["Location"] == reverse("watch:story_detail", args=[story.pk])
    mission = Mission.objects.get()
    assert (mission.team_id, mission.status, mission.kind) == (team.pk, "draft", "relay")
    assert mission.target_sites[0] == "https://eve.exemple.fr/billet/"
    assert StoryMission.objects.get().story_id == story.pk
    assert StoryMission.objects.get(mission=mission).created_by == coordinator
    assert (
        AuditEvent.objects.filter(
            action="watch.story_mission_opened", object_id=str(story.pk)
        ).count()
        == 1
    )


def test_a_coordinator_cannot_open_a_national_or_another_teams_mission(
    story, team, coordinator, other_coordinator
):
    other = TeamFactory.create(name="Lyon", coordinators=[other_coordinator])
    client = client_for(coordinator)
    url = reverse("watch:story_respond", args=[story.pk])
    page = client.get(url)
    # Another team's id is not among the form's choices: the form refuses it.
    assert client.post(url, form_data(page, team=str(other.pk))).status_code == 200
    assert client.post(url, form_data(page, team="")).status_code == 200
    assert Mission.objects.count() == 0
    assert StoryMission.objects.count() == 0


@pytest.mark.parametrize("who", ["volunteer", "coordinator_without_team"])
def test_those_who_run_no_team_cannot_respond_and_nothing_changes(story, who, volunteer, db):
    from essaim.accounts.tests.factories import UserFactory

    user = volunteer if who == "volunteer" else UserFactory.create(coordinator=True)
    client = client_for(user)
    url = reverse("watch:story_respond", args=[story.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"title": "x"}).status_code == 403
    assert Mission.objects.count() == 0
    assert StoryMission.objects.count() == 0


def test_hq_may_open_a_national_mission(story, hq):
    client = client_for(hq)
    url = reverse("watch:story_respond", args=[story.pk]) + "?type=place"
    page = client.get(url)
    assert page.context["form"].initial["kind"] == "place"
    assert client.post(url, form_data(page, team="")).status_code == 302
    assert Mission.objects.get().team_id is None


def test_a_refused_mission_leaves_no_link(story, hq):
    client = client_for(hq)
    url = reverse("watch:story_respond", args=[story.pk])
    page = client.get(url)
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(url, form_data(page, team="", deadline=past))
    assert response.status_code == 200
    assert Mission.objects.count() == 0
    assert StoryMission.objects.count() == 0


def test_the_story_shows_its_missions_and_their_accepted_proofs(story, team, coordinator):
    chatter = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    mission = respond.open_mission(
        story=story,
        by=coordinator,
        team=team,
        targeting=Targeting(),
        kind="relay",
        title="Répondre sur le forum",
        brief="Avec vos mots.",
        role=VolunteerRole.objects.get(slug="tchatcheur"),
        quota=3,
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    publish_mission(mission=mission, by=coordinator)
    claim = claim_mission(volunteer=chatter, mission_id=mission.pk)
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/42"])
    accept_claim(claim=Claim.objects.get(pk=claim.pk), by=coordinator)
    page = client_for(coordinator).get(reverse("watch:story_detail", args=[story.pk]))
    assert page.status_code == 200
    [row] = page.context["responses"]
    assert row.mission == mission
    assert [link.url for c in row.accepted for p in c.proofs.all() for link in p.links.all()] == [
        "https://forum.exemple.fr/t/42"
    ]
    assert "https://forum.exemple.fr/t/42" in page.content.decode()


def test_the_story_page_lists_its_missions_in_a_fixed_number_of_queries(
    story, team, coordinator, hq, django_assert_num_queries
):
    role = VolunteerRole.objects.get(slug="tchatcheur")
    for n in range(3):
        respond.open_mission(
            story=story,
            by=coordinator,
            team=team,
            targeting=Targeting(),
            kind="relay",
            title=f"Réponse {n}",
            brief="Avec vos mots.",
            role=role,
            quota=1,
            deadline=timezone.now() + dt.timedelta(days=2),
        )
    client = client_for(hq)
    with django_assert_num_queries(9):
        page = client.get(reverse("watch:story_detail", args=[story.pk]))
    assert [r.mission.title for r in page.context["responses"]] == [
        "Réponse 2",
        "Réponse 1",
        "Réponse 0",
    ]


def test_another_teams_coordinator_sees_the_mission_without_a_link_to_run_it_nor_its_proofs(
    story, team, coordinator, other_coordinator
):
    TeamFactory.create(name="Lyon", coordinators=[other_coordinator])
    chatter = VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    mission = respond.open_mission(
        story=story,
        by=coordinator,
        team=team,
        targeting=Targeting(),
        kind="relay",
        title="Réponse de Paris",
        brief="Avec vos mots.",
        role=VolunteerRole.objects.get(slug="tchatcheur"),
        quota=1,
        deadline=timezone.now() + dt.timedelta(days=2),
    )
    kit = reverse("army:mission_kit", args=[mission.pk])
    publish_mission(mission=mission, by=coordinator)
    claim = claim_mission(volunteer=chatter, mission_id=mission.pk)
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/t/valentin"])
    accept_claim(claim=Claim.objects.get(pk=claim.pk), by=coordinator)
    mine = client_for(coordinator).get(reverse("watch:story_detail", args=[story.pk]))
    theirs = client_for(other_coordinator).get(reverse("watch:story_detail", args=[story.pk]))
    assert kit in mine.content.decode()
    assert "https://forum.exemple.fr/t/valentin" in mine.content.decode()
    assert "Réponse de Paris" in theirs.content.decode()
    assert kit not in theirs.content.decode()
    assert "https://forum.exemple.fr/t/valentin" not in theirs.content.decode()
