"""The watch answers, in Debian's Chromium: a team's coordinator turns a story into a draft
mission of their team (the army's form, prefilled with the story's links) and finds it on the
story's page; a volunteer synthesis writer edits the daily synthesis and publishes it through
the confirmation dialog; the pages pass axe."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Mission, Stage, VolunteerRole
from essaim.army.tests.factories import TeamFactory, VolunteerFactory
from essaim.watch.models import Story
from essaim.watch.services.synthesis import make_draft
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from tests.browser.helpers import login
from tests.browser.test_accessibility import violations

pytestmark = pytest.mark.browser


def a_story(seen: dt.datetime) -> Story:
    source = SourceFactory.create(title="Le Blog d'Ève")
    item = ItemFactory.create(
        source=source,
        url="https://eve.exemple.fr/reforme/",
        title="La réforme annoncée",
        summary="Le ministre a annoncé la réforme. Les syndicats protestent.",
        seen_at=seen,
    )
    story = Story.objects.create(
        title="La réforme annoncée",
        first_item=item,
        first_source=source,
        first_seen=seen,
        items_count=1,
        sources_count=1,
        originals_count=1,
    )
    item.story = story
    item.save(update_fields=["story"])
    return story


def test_a_coordinator_turns_a_story_into_a_mission(
    page: Any, live_server: Any, coordinator: Any
) -> None:
    # A browser test's database is flushed between tests, the migrations' roles with it.
    VolunteerRole.objects.get_or_create(slug="tchatcheur", defaults={"name": "Tchatcheur"})
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    story = a_story(timezone.now() - dt.timedelta(hours=2))
    login(page, live_server.url, coordinator.email, PASSWORD)
    page.get_by_role("link", name="Sujets").click()
    page.get_by_role("link", name="La réforme annoncée").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("La réforme annoncée")
    page.get_by_role("link", name="Répondre par une mission").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Répondre par une mission")
    expect(page.get_by_label("Sites, forums, fils visés (un par ligne)")).to_have_value(
        "https://eve.exemple.fr/reforme/"
    )
    assert violations(page) == []
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator(".messages")).to_contain_text("Mission enregistrée en brouillon")
    expect(page.locator("#story-missions")).to_contain_text("Répondre : La réforme annoncée")
    assert violations(page) == []
    mission = Mission.objects.get()
    assert (mission.team_id, mission.watch_story.story_id) == (team.pk, story.pk)


def test_a_synthesis_writer_edits_and_publishes_the_daily_synthesis(
    page: Any, live_server: Any
) -> None:
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    a_story(timezone.make_aware(dt.datetime.combine(yesterday, dt.time(9))))
    synthesis = make_draft()
    writer = VolunteerFactory.create(
        email="redac@exemple.fr", password=PASSWORD, roles={"redacteur": Stage.ACTIVE}
    )
    login(page, live_server.url, writer.user.email, PASSWORD)
    page.goto(f"{live_server.url}/veille/syntheses/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Synthèses de la veille")
    page.locator("#syntheses a").first.click()
    expect(page.locator("#synthesis-top")).to_contain_text("Le ministre a annoncé la réforme.")
    assert violations(page) == []
    page.get_by_role("link", name="Modifier").click()
    page.get_by_label("Introduction").fill("Une journée dominée par la réforme.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator("#synthesis-intro")).to_have_text("Une journée dominée par la réforme.")
    page.locator("#synthesis-publish").click()
    dialog = page.locator("#publish-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Publier").click()
    expect(page.locator(".messages")).to_contain_text("Synthèse publiée")
    assert violations(page) == []
    synthesis.refresh_from_db()
    assert (synthesis.state, synthesis.edited_by_id) == ("published", writer.pk)
