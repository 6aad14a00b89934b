"""The watch's list pages run a fixed number of queries whatever the rows they show: two rows
or ten, the same count (no query per row). Each page is filled with rows that reach every
relation its template reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from essaim.accounts.tests.factories import UserFactory
from essaim.army.models import Stage
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.watch.models import Alert, Story, Watchlist, WatchlistMatch
from essaim.watch.services import triage
from essaim.watch.services.search import index_items
from essaim.watch.services.submissions import submit
from essaim.watch.tests.factories import ItemFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hq_user() -> Any:
    return UserFactory.create(email="qg@qg.test", full_name="Hélène Quartier", hq=True)


def veilleur_user() -> Any:
    return make_volunteer("veilleur@equipe.test", roles={"veilleur": Stage.ACTIVE}).user


def add_triage(n: int) -> None:
    """Matched stories, each assigned to a veilleur of its own (a name to show per row)."""
    watchlist, _made = Watchlist.objects.get_or_create(
        name="Candidats", defaults={"kind": "names", "query": "Dupont"}
    )
    boss = UserFactory.create(hq=True)
    for _k in range(n):
        item = ItemFactory.create(title="Dupont en meeting", summary="")
        story = Story.objects.create(title=item.title, first_item=item, first_source=item.source)
        item.story = story
        item.save(update_fields=["story"])
        WatchlistMatch.objects.create(watchlist=watchlist, item=item, terms=["dupont"])
        assignee = make_volunteer(roles={"veilleur": Stage.ACTIVE}).user
        triage.decide(story=story, user=boss, decision="assigned", assign_to=assignee)


def add_alerts(n: int) -> None:
    watchlist = Watchlist.objects.create(name=f"Liste {Watchlist.objects.count()}", query="x")
    for _k in range(n):
        item = ItemFactory.create()
        story = Story.objects.create(title="Un sujet", first_item=item, first_source=item.source)
        Alert.objects.create(kind=Alert.Kind.SPIKE, story=story, watchlist=watchlist, title="Pic")


def add_submissions(n: int) -> None:
    """Reports by tracers of a team, each of a page already in a story of two items."""
    team = make_team()
    for _k in range(n):
        feed_item = ItemFactory.create(title="Un débat", summary="Le candidat répond.")
        story = Story.objects.create(title="Un débat", items_count=2)
        feed_item.story = story
        feed_item.save(update_fields=["story"])
        tracer = make_volunteer(roles={"traceur": Stage.ACTIVE}, teams=[team])
        submit(volunteer=tracer, url=feed_item.url)


def add_items(n: int) -> None:
    """Items of sources of their own, found by the search."""
    items = [
        ItemFactory.create(title="Retraites : la manifestation", summary="") for _k in range(n)
    ]
    index_items([item.pk for item in items])


def add_watchlists(n: int) -> None:
    start = Watchlist.objects.count()
    for k in range(n):
        watchlist = Watchlist.objects.create(
            name=f"Liste {start + k}", query="Dupont", labels=["élus"]
        )
        WatchlistMatch.objects.create(watchlist=watchlist, item=ItemFactory.create())


# page: (who asks, the URL with its query, how to add rows, the queries expected: session,
# user, the page's own, the menu's)
PAGES: dict[str, tuple[Callable[[], Any], str, Callable[[int], None], int]] = {
    "triage_queue": (veilleur_user, "watch:triage_queue?etat=assigned", add_triage, 7),
    "alert_list": (veilleur_user, "watch:alert_list", add_alerts, 6),
    "review_queue": (hq_user, "watch:review_queue", add_submissions, 5),
    "item_search": (veilleur_user, "watch:item_search?q=retraites", add_items, 6),
    "watchlist_list": (veilleur_user, "watch:watchlist_list", add_watchlists, 6),
}


def rows_of(response: Any) -> int:
    context = response.context
    return len(context["page"].items if "page" in context else context["watchlists"])


@pytest.mark.parametrize("page", sorted(PAGES))
def test_a_list_page_runs_as_many_queries_for_ten_rows_as_for_two(
    page: str, django_assert_num_queries: Any
) -> None:
    who, target, add_rows, expected = PAGES[page]
    name, _sep, query = target.partition("?")
    url = reverse(name) + (f"?{query}" if query else "")
    client = client_of(who())
    add_rows(2)
    with django_assert_num_queries(expected):
        first = client.get(url)
    add_rows(8)
    with django_assert_num_queries(expected):
        second = client.get(url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (rows_of(first), rows_of(second)) == (2, 10)
