"""Issue 17: the demo tells the watch's story. Its watchlists matched the items through the
matcher, stories have an original and copies in other sources, HQ triaged some of them (one
alert), a synthesis went out yesterday and today's is a draft, and the demo volunteer is a
tracer with two reports: one ahead of the feeds and accepted, one waiting."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent, Notification
from essaim.accounts.services import DEMO_HQ_ADMIN, DEMO_VOLUNTEER
from essaim.army.models import RoleAssignment, Stage, Volunteer
from essaim.army.tests.demo_support import demo_twice, logged_in, make_run
from essaim.watch import rules
from essaim.watch.models import (
    Alert,
    Item,
    Match,
    Source,
    Story,
    Submission,
    Synthesis,
    TriageDecision,
    TriageState,
    Watchlist,
    WatchlistMatch,
)
from essaim.watch.services import submissions, triage
from essaim.watch.services.demo import seed_demo_watch
from essaim.watch.services.watchlists import backfill

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings: object) -> dict[str, str]:
    return demo_twice(settings, 20)


def test_the_demo_watchlists_name_the_candidate_her_opponents_and_the_themes() -> None:
    seed_demo_watch()
    assert list(Watchlist.objects.order_by("pk").values_list("name", "kind", "query")) == [
        ("Hélène Garnier", "names", '"Hélène Garnier" OR Garnier'),
        ("Adversaires", "names", '"Paul Renaud" OR "Sophie Lacombe"'),
        ("Logement, école, transports", "topics", "logement OR école OR transports"),
        (
            "Budget participatif",
            "topics",
            '"budget participatif" OR (budget NEAR/5 quartiers)',
        ),
    ]
    counts = {w.name: w.matches.count() for w in Watchlist.objects.all()}
    assert counts == {
        "Hélène Garnier": 6,
        "Adversaires": 5,
        "Logement, école, transports": 12,
        "Budget participatif": 3,
    }
    # The budget's copy that never says "budget participatif" in its title is found by NEAR.
    budget = Watchlist.objects.get(name="Budget participatif")
    assert budget.matches.filter(item__title="Votez pour les projets de votre quartier").exists()


def test_the_demo_matches_are_what_the_matcher_finds() -> None:
    seed_demo_watch()

    def matches() -> set[tuple[int, int, str]]:
        rows = WatchlistMatch.objects.values_list("watchlist_id", "item_id", "terms")
        return {(w, i, repr(terms)) for w, i, terms in rows}

    made = matches()
    assert made
    for watchlist in Watchlist.objects.all():
        backfill(watchlist.pk, days=30)
    assert matches() == made


def test_the_demo_housing_story_has_its_original_and_three_copies_in_other_sources() -> None:
    seed_demo_watch()
    story = Story.objects.get(title__startswith="Logement : Hélène Garnier promet")
    assert (story.items_count, story.originals_count, story.reprints_count) == (4, 1, 3)
    assert story.sources_count == 4
    assert story.first_source is not None
    assert story.first_source.title == "Paris Quartiers Info"
    items = story.items.order_by("seen_at")
    assert [(i.source.title, i.is_reprint, i.match) for i in items] == [
        ("Paris Quartiers Info", False, Match.FIRST),
        ("Actu Lyon Métropole", True, Match.TEXT),
        ("Dépêches des régions", True, Match.NEAR),
        ("Le Quotidien du Centre", True, Match.TEXT),
    ]
    # Every story told by several sources has one original and its copies.
    spread = Story.objects.filter(sources_count__gt=1).order_by("first_seen")
    assert [(s.originals_count, s.reprints_count) for s in spread] == [
        (1, 1),  # the school
        (1, 3),  # housing
        (1, 2),  # the buses
        (1, 2),  # the participatory budget
        (1, 1),  # the opponent's answer
    ]


def test_the_demo_items_span_the_last_three_days_and_stay_offline() -> None:
    now = timezone.now()
    seed_demo_watch()
    older = Item.objects.filter(seen_at__lt=now - dt.timedelta(days=3))
    assert list(older.values_list("title", flat=True)) == ["Pourquoi je m'engage"]
    assert set(Source.objects.values_list("is_demo", flat=True)) == {True}
    assert {
        url.split("/")[2].rsplit(".", 1)[1] for url in Item.objects.values_list("url", flat=True)
    } == {"example"}


def test_the_demo_triage_has_a_queue_three_decisions_and_one_alert() -> None:
    seed_demo_watch()
    decided = dict(TriageDecision.objects.values_list("story__title", "decision"))
    assert decided == {
        "Transports scolaires : nouveaux horaires pour les cars de la rentrée": (
            TriageState.NOT_PERTINENT
        ),
        "Transports : Paul Renaud veut revenir sur la gratuité des bus le week-end": (
            TriageState.PERTINENT
        ),
        "Sophie Lacombe attaque le plan logement de Hélène Garnier": TriageState.URGENT,
    }
    assert sorted(triage.queue().values_list("title", flat=True)) == [
        "Budget participatif : les habitants votent pour leurs quartiers jusqu'au 15",
        "Logement : Hélène Garnier promet 5 000 logements sociaux en cinq ans",
        "Transports : ce que propose la candidate",
        "École Jules-Ferry : des parents contre la fermeture d'une classe",
    ]
    alert = Alert.objects.get()
    assert (alert.kind, alert.title) == (
        Alert.Kind.URGENT,
        "Sophie Lacombe attaque le plan logement de Hélène Garnier",
    )
    assert alert.explanation["watchlists"] == [
        "Adversaires",
        "Hélène Garnier",
        "Logement, école, transports",
    ]


def test_the_demo_has_yesterdays_synthesis_published_and_todays_draft() -> None:
    seed_demo_watch()
    today = timezone.localdate()
    published, draft = Synthesis.objects.order_by("date")
    assert (published.date, published.state) == (today - dt.timedelta(days=2), "published")
    assert published.published_at is not None
    assert timezone.localdate(published.published_at) == today - dt.timedelta(days=1)
    assert published.intro.startswith("Journée dominée par le logement")
    assert published.body["stories"][0]["title"].startswith("Logement : Hélène Garnier")
    assert published.body["stories"][0]["sources"] == 4
    assert (draft.date, draft.state) == (today - dt.timedelta(days=1), "draft")
    assert len(draft.body["stories"]) >= 4
    assert AuditEvent.objects.filter(action="watch.synthesis_published").count() == 1


def test_the_demo_volunteer_is_a_tracer_with_two_reports_one_ahead_of_the_feeds(
    demo: dict[str, str],
) -> None:
    volunteer = Volunteer.objects.select_related("user").get(user__email=DEMO_VOLUNTEER)
    assert rules.can_submit(volunteer.user)
    reports = list(
        submissions.with_feed_first(Submission.objects.filter(volunteer=volunteer)).order_by(
            "created_at"
        )
    )
    assert [(r.state, r.fetch_state) for r in reports] == [
        (Submission.State.ACCEPTED, Submission.FetchState.KNOWN),
        (Submission.State.MERGED, Submission.FetchState.KNOWN),
    ]
    ahead = reports[0]
    assert submissions.lead_minutes(ahead.created_at, ahead.feed_first_at) == 35  # type: ignore[attr-defined]
    record = submissions.record(volunteer)
    assert (record.total, record.accepted, record.found_first, record.ahead_minutes) == (
        2,
        1,
        1,
        35,
    )
    # The page reported first opens its story, and yesterday's draft says a tracer found it.
    story = ahead.item.story
    assert story is not None
    assert story.first_source is not None
    assert story.first_source.kind == Source.Kind.TRACER
    draft = Synthesis.objects.get(state="draft")
    assert draft.body["tracers_first"] == [
        {"id": story.pk, "title": story.title, "ahead_minutes": 35}
    ]
    # The volunteer read the news of the acceptance the day it came.
    assert not Notification.objects.filter(
        recipient=volunteer.user, kind="submission_accepted", read_at__isnull=True
    ).exists()

    client = logged_in(DEMO_VOLUNTEER, demo[DEMO_VOLUNTEER])
    page = client.get(reverse("watch:tracer")).content.decode()
    assert 'name="url"' in page
    assert "Transports : Paul Renaud veut revenir sur la gratuité des bus le week-end" in page


def test_a_volunteer_of_an_earlier_demo_becomes_a_tracer_at_the_next_run(
    settings: object,
) -> None:
    settings.DEMO = True  # type: ignore[attr-defined]
    make_run(20)
    volunteer = Volunteer.objects.get(user__email=DEMO_VOLUNTEER)
    RoleAssignment.objects.filter(volunteer=volunteer, role__slug="traceur").delete()
    assert not rules.can_submit(volunteer.user)
    make_run(20)
    assert RoleAssignment.objects.get(volunteer=volunteer, role__slug="traceur").stage == (
        Stage.ACTIVE
    )
    assert rules.can_submit(volunteer.user)


def test_hq_sees_the_watch_pages_filled(demo: dict[str, str]) -> None:
    client: Client = logged_in(DEMO_HQ_ADMIN, demo[DEMO_HQ_ADMIN])
    stories = client.get(reverse("watch:story_list")).content.decode()
    assert "Logement : Hélène Garnier promet 5 000 logements sociaux en cinq ans" in stories
    queue = client.get(reverse("watch:triage_queue")).content.decode()
    assert "École Jules-Ferry : des parents contre la fermeture d&#x27;une classe" in queue
    alerts = client.get(reverse("watch:alert_list")).content.decode()
    assert "Sophie Lacombe attaque le plan logement de Hélène Garnier" in alerts
    lists = client.get(reverse("watch:watchlist_list")).content.decode()
    assert "Budget participatif" in lists
    syntheses = client.get(reverse("watch:synthesis_list")).content.decode()
    assert syntheses.count("Publiée") >= 1
