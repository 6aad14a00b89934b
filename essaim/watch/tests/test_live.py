"""Live updates in the watch: the stream, the triage queue and the alerts ask, while open, how
many rows arrived after the newest they show (under the page's filters) and get a banner or
nothing, in one query; a watchlist's page follows its review of the last 30 days until done.
Those who cannot see a list cannot poll it either."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.army.models import Stage
from essaim.army.tests.factories import make_volunteer
from essaim.watch.models import (
    Alert,
    Item,
    Story,
    StoryTriage,
    TriageState,
    Watchlist,
    WatchlistMatch,
)
from essaim.watch.services import watchlists as watchlist_service
from essaim.watch.services.search import index_items
from essaim.watch.services.stories import refresh_counts
from essaim.watch.services.watchlists import backfill, save_watchlist
from essaim.watch.tests.factories import ItemFactory, SourceFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def veilleur_client() -> Client:
    return client_of(make_volunteer("veilleur@equipe.test", roles={"veilleur": Stage.ACTIVE}).user)


def story(title: str = "Un sujet", *, camp: str = "", seen: dt.datetime | None = None) -> Story:
    item = ItemFactory.create(
        source=SourceFactory.create(camp=camp), title=title, summary="", published_at=seen
    )
    made = Story.objects.create(title=title, first_item=item, first_source=item.source)
    Item.objects.filter(pk=item.pk).update(story=made, seen_at=seen or timezone.now())
    refresh_counts([made.pk])
    if seen is not None:
        Story.objects.filter(pk=made.pk).update(first_seen=seen, last_seen=seen)
    return made


def matched(title: str, watchlist: Watchlist) -> Story:
    made = story(title)
    assert made.first_item is not None
    WatchlistMatch.objects.create(watchlist=watchlist, item=made.first_item, terms=["dupont"])
    return made


def poll_params(response: Any) -> dict[str, str]:
    url = response.context["poll_url"]
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


# --- The stream ---


def test_the_stream_polls_from_its_newest_story_with_its_filters(hq_client: Client) -> None:
    story("Ancien", camp="presse")
    newest = story("Récent", camp="presse")
    story("Autre camp", camp="opposition")
    response = hq_client.get(
        reverse("watch:story_list"), {"camp": "presse", "periode": "7j", "tri": "jamais"}
    )
    assert poll_params(response) == {"camp": "presse", "periode": "7j", "depuis": str(newest.pk)}
    html = response.content.decode()
    assert 'id="stream-news" role="status" aria-live="polite"' in html
    assert 'hx-trigger="every 30s, essaim:visible"' in html
    assert "data-poll-visible" in html


def test_an_empty_stream_polls_from_the_start_and_a_later_page_does_not_poll(
    hq_client: Client,
) -> None:
    empty = hq_client.get(reverse("watch:story_list"), {"camp": "personne"})
    assert poll_params(empty) == {"camp": "personne", "depuis": "0"}
    stories = [story(f"Sujet {n}") for n in range(51)]
    later = hq_client.get(reverse("watch:story_list"), {"after": stories[1].pk})
    assert later.context["page"].has_prev
    assert later.context["poll_url"] is None
    assert "stream-news" not in later.content.decode()


def test_the_stream_banner_counts_the_stories_after_the_newest_shown_under_the_filters(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    shown = story("Vu", camp="presse")
    story("Entre deux", camp="presse")
    arrived = [story(f"Nouveau {n}", camp="presse") for n in range(2)]
    story("Autre camp", camp="opposition")
    url = reverse("watch:story_news")
    # Session, user, the count.
    with django_assert_num_queries(3):
        response = hq_client.get(url, {"camp": "presse", "depuis": str(arrived[0].pk - 1)})
    assert response.status_code == 200
    html = response.content.decode()
    assert "2 nouveaux sujets — " in html
    assert f'href="{reverse("watch:story_list")}?camp=presse"' in html
    assert 'hx-select="#stream-live"' in html and 'data-live-show="stream-live"' in html
    one = hq_client.get(url, {"camp": "presse", "depuis": str(arrived[0].pk)})
    assert "1 nouveau sujet — " in one.content.decode()
    everything = hq_client.get(url, {"depuis": shown.pk})
    assert "4 nouveaux sujets" in everything.content.decode()  # counted under no filter
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_count_is_one_query_however_many_stories_arrived(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    url = reverse("watch:story_news")
    story("Deux")
    story("Trois")
    with django_assert_num_queries(3):
        two = hq_client.get(url, {"depuis": 0})
    for n in range(10):
        story(f"Encore {n}")
    with django_assert_num_queries(3):
        twelve = hq_client.get(url, {"depuis": 0})
    assert "2 nouveaux sujets" in two.content.decode()
    assert "12 nouveaux sujets" in twelve.content.decode()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "retraites"}, ["Retraites : la grève"]),
        ({"tri": TriageState.URGENT}, ["Urgent"]),
        ({"tri": TriageState.NEW}, ["Retraites : la grève", "Vieux"]),
        ({"periode": "24h"}, ["Retraites : la grève", "Urgent"]),
        ({"liste": "@watchlist"}, ["Urgent"]),
    ],
)
def test_the_stream_banner_keeps_the_pages_words_triage_period_and_watchlist(
    hq_client: Client, params: dict[str, str], expected: list[str]
) -> None:
    before = story("Déjà là")
    strike = story("Retraites : la grève")
    index_items([strike.first_item_id])  # type: ignore[list-item]
    urgent = story("Urgent")
    StoryTriage.objects.create(story=urgent, state=TriageState.URGENT)
    story("Vieux", seen=timezone.now() - dt.timedelta(days=3))
    watchlist = Watchlist.objects.create(name="Candidats", query="Dupont")
    assert urgent.first_item is not None
    WatchlistMatch.objects.create(watchlist=watchlist, item=urgent.first_item, terms=["x"])
    params = {k: str(watchlist.pk) if v == "@watchlist" else v for k, v in params.items()}
    page = hq_client.get(reverse("watch:story_list"), params)
    assert poll_params(page) == {**params, "depuis": str(page.context["page"].items[0].pk)}
    response = hq_client.get(reverse("watch:story_news"), {**params, "depuis": str(before.pk)})
    n = len(expected)
    assert f"{n} nouveau{'x' if n > 1 else ''} sujet{'s' if n > 1 else ''} — " in (
        response.content.decode()
    )


def test_nothing_new_is_an_empty_answer(hq_client: Client) -> None:
    newest = story("Le dernier", camp="presse")
    story("Ailleurs", camp="opposition")
    url = reverse("watch:story_news")
    assert hq_client.get(url, {"depuis": newest.pk + 1}).content == b""
    assert hq_client.get(url, {"camp": "presse", "depuis": str(newest.pk)}).content == b""


@pytest.mark.parametrize("bad", ["abc", "-1", "²", "9" * 30, ""])
def test_a_malformed_mark_counts_from_the_start(hq_client: Client, bad: str) -> None:
    story("Seul")
    response = hq_client.get(reverse("watch:story_news"), {"depuis": bad, "liste": "x"})
    assert response.status_code == 200
    assert "1 nouveau sujet — " in response.content.decode()


def test_the_stream_banner_is_refused_to_those_who_cannot_see_the_stream(
    client: Client, volunteer_client: Client, coordinator_client: Client
) -> None:
    story("Secret")
    url = reverse("watch:story_news")
    assert client.get(url, {"depuis": 0}).status_code == 403  # not the login page, swapped
    refused = volunteer_client.get(url, {"depuis": 0})
    assert refused.status_code == 403 and "nouveau sujet" not in refused.content.decode()
    assert volunteer_client.post(url).status_code == 405
    assert "1 nouveau sujet" in coordinator_client.get(url, {"depuis": 0}).content.decode()


# --- The triage queue and the alerts ---


def test_the_triage_banner_counts_new_matched_stories_of_the_pages_state_and_watchlist(
    veilleur_client: Client, django_assert_num_queries: Any
) -> None:
    names = Watchlist.objects.create(name="Candidats", query="Dupont")
    topics = Watchlist.objects.create(name="Retraites", query="retraite")
    shown = matched("Dupont en meeting", names)
    page = veilleur_client.get(reverse("watch:triage_queue"), {"liste": names.pk})
    assert poll_params(page) == {"etat": "new", "liste": str(names.pk), "depuis": str(shown.pk)}
    assert 'id="triage-news"' in page.content.decode()
    matched("Dupont à Lyon", names)
    matched("Dupont à Lille", names)
    decided = matched("Dupont répond", names)
    StoryTriage.objects.create(story=decided, state=TriageState.PERTINENT)
    matched("Les retraites", topics)
    story("Sans liste")
    url = reverse("watch:triage_news")
    # Session, user, the veilleur's role, the count.
    with django_assert_num_queries(4):
        response = veilleur_client.get(url, {"liste": str(names.pk), "depuis": str(shown.pk)})
    html = response.content.decode()
    assert "2 nouveaux sujets à trier — " in html
    assert f'href="{reverse("watch:triage_queue")}?etat=new&amp;liste={names.pk}"' in html
    everywhere = veilleur_client.get(url, {"depuis": shown.pk})
    assert "3 nouveaux sujets à trier" in everywhere.content.decode()
    pertinent = veilleur_client.get(url, {"etat": "pertinent", "depuis": str(shown.pk)})
    assert "1 nouveau sujet à trier" in pertinent.content.decode()
    nothing = veilleur_client.get(url, {"etat": "urgent", "depuis": str(shown.pk)})
    assert nothing.content == b""


def test_the_alerts_banner_counts_the_alerts_of_the_pages_kind(
    veilleur_client: Client, django_assert_num_queries: Any
) -> None:
    watchlist = Watchlist.objects.create(name="Candidats", query="Dupont")
    subject = story("Un pic")

    def alert(kind: str) -> Alert:
        return Alert.objects.create(kind=kind, story=subject, watchlist=watchlist, title="Alerte")

    shown = alert(Alert.Kind.SPIKE)
    page = veilleur_client.get(reverse("watch:alert_list"), {"type": "spike"})
    assert poll_params(page) == {"type": "spike", "depuis": str(shown.pk)}
    alert(Alert.Kind.SPIKE)
    alert(Alert.Kind.URGENT)
    url = reverse("watch:alert_news")
    # Session, user, the veilleur's role, the count.
    with django_assert_num_queries(4):
        spikes = veilleur_client.get(url, {"type": "spike", "depuis": str(shown.pk)})
    assert "1 nouvelle alerte — " in spikes.content.decode()
    assert f'href="{reverse("watch:alert_list")}?type=spike"' in spikes.content.decode()
    assert "2 nouvelles alertes" in veilleur_client.get(url, {"depuis": shown.pk}).content.decode()
    assert veilleur_client.get(url, {"depuis": shown.pk + 2}).content == b""


def test_the_triage_and_alert_banners_are_refused_to_volunteers(
    client: Client, volunteer_client: Client
) -> None:
    watchlist = Watchlist.objects.create(name="Candidats", query="Dupont")
    Alert.objects.create(kind="spike", story=matched("Dupont", watchlist), title="Alerte")
    for name in ("watch:triage_news", "watch:alert_news"):
        assert client.get(reverse(name), {"depuis": 0}).status_code == 403
        refused = volunteer_client.get(reverse(name), {"depuis": 0})
        assert refused.status_code == 403 and "1 nouv" not in refused.content.decode()


# --- A watchlist's review of the last 30 days ---


def test_a_watchlist_under_review_shows_its_progress_and_polls_until_done(
    hq_client: Client, django_capture_on_commit_callbacks: Any, django_assert_num_queries: Any
) -> None:
    ItemFactory.create(title="La réforme des retraites", summary="")
    ItemFactory.create(title="Retraites : la grève", summary="")
    ItemFactory.create(title="Le budget", summary="")
    with django_capture_on_commit_callbacks(execute=False) as queued:
        watchlist = save_watchlist(name="Retraites", kind="topics", query="retraite")
    assert (watchlist.backfilled_at, watchlist.backfill_matches) == (None, 0)
    page = hq_client.get(reverse("watch:watchlist_detail", args=[watchlist.pk]))
    html = page.content.decode()
    poll = reverse("watch:watchlist_backfill", args=[watchlist.pk])
    assert 'id="backfill-status" role="status" aria-live="polite"' in html
    assert f'hx-get="{poll}"' in html and "data-poll-visible" in html
    assert "Recherche dans les 30 derniers jours… 0 élément" in html
    # Session, user, the watchlist's row.
    with django_assert_num_queries(3):
        running = hq_client.get(poll)
    assert "Recherche dans les 30 derniers jours… 0 élément" in running.content.decode()
    assert f'hx-get="{poll}"' in running.content.decode()

    for callback in queued:  # the review runs
        callback()
    with django_assert_num_queries(3):
        done = hq_client.get(poll)
    html = done.content.decode()
    assert "Revue des 30 derniers jours faite le " in html
    assert ": 2 éléments trouvés." in html
    assert "hx-get" not in html and "data-poll-visible" not in html  # the polling stops
    assert f'href="{reverse("watch:watchlist_detail", args=[watchlist.pk])}"' in html
    again = hq_client.get(reverse("watch:watchlist_detail", args=[watchlist.pk]))
    assert ": 2 éléments trouvés." in again.content.decode()
    assert f'hx-get="{poll}"' not in again.content.decode()


def test_the_review_counts_its_matches_as_it_goes(monkeypatch: Any) -> None:
    for n in range(5):
        ItemFactory.create(title=f"Retraites, épisode {n}", summary="")
    ItemFactory.create(title="Le budget", summary="")
    watchlist = Watchlist.objects.create(name="Retraites", kind="topics", query="retraite")
    monkeypatch.setattr(watchlist_service, "CHUNK", 2)
    seen: list[int | None] = []
    reading = False

    def observe(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        # Before each page of items is read: the count the watchlist's page would show now.
        nonlocal reading
        if not reading and 'FROM "watch_item"' in sql and "ORDER BY" in sql:
            reading = True
            try:
                seen.append(
                    Watchlist.objects.values_list("backfill_matches", flat=True).get(
                        pk=watchlist.pk
                    )
                )
            finally:
                reading = False
        return execute(sql, params, many, context)

    with connection.execute_wrapper(observe):
        assert backfill(watchlist.pk) == 5
    assert seen == [0, 2, 4, 5]
    watchlist.refresh_from_db()
    assert watchlist.backfill_matches == 5 and watchlist.backfilled_at is not None


def test_an_edit_starts_the_count_again_and_a_paused_watchlist_shows_no_review(
    hq_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    ItemFactory.create(title="Retraites", summary="")
    with django_capture_on_commit_callbacks(execute=True):
        watchlist = save_watchlist(name="Retraites", kind="topics", query="retraite")
    watchlist.refresh_from_db()
    assert watchlist.backfill_matches == 1
    with django_capture_on_commit_callbacks(execute=False):
        save_watchlist(watchlist=watchlist, name="Retraites", kind="topics", query="budget")
    watchlist.refresh_from_db()
    assert (watchlist.backfilled_at, watchlist.backfill_matches) == (None, 0)
    with django_capture_on_commit_callbacks(execute=True):
        paused = save_watchlist(name="En pause", kind="topics", query="retraite", active=False)
    paused.refresh_from_db()
    assert paused.backfill_matches is None
    html = hq_client.get(reverse("watch:watchlist_detail", args=[paused.pk])).content.decode()
    assert "Recherche dans" not in html and "Revue des" not in html
    assert "data-poll-visible" not in html


def test_a_watchlist_reviewed_before_the_count_was_kept_says_nothing_of_it(
    hq_client: Client,
) -> None:
    watchlist = Watchlist.objects.create(
        name="Ancienne", query="Dupont", backfilled_at=timezone.now()
    )
    html = hq_client.get(reverse("watch:watchlist_detail", args=[watchlist.pk])).content.decode()
    assert "Revue des" not in html and "Recherche dans" not in html


def test_the_review_progress_is_refused_to_volunteers_and_unknown_watchlists_are_404(
    client: Client, volunteer_client: Client, veilleur_client: Client
) -> None:
    watchlist = Watchlist.objects.create(name="Candidats", query="Dupont", backfill_matches=3)
    url = reverse("watch:watchlist_backfill", args=[watchlist.pk])
    assert client.get(url).status_code == 403
    refused = volunteer_client.get(url)
    assert refused.status_code == 403 and "trouvé" not in refused.content.decode()
    assert "3 éléments trouvés" in veilleur_client.get(url).content.decode()
    missing = reverse("watch:watchlist_backfill", args=[watchlist.pk + 1])
    assert veilleur_client.get(missing).status_code == 404
