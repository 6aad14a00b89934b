"""The stream of stories (HQ and coordinators), a story's page, the merges HQ decides, and
the stories over the API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.api.testing import Api
from essaim.watch.models import Evidence, Item, Match, MergeSuggestion, Story
from essaim.watch.services.stories import ingest_items, refresh_counts
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from essaim.watch.tests.test_stories import DISPATCH

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_rate_limits")]


def story_of(*items: Item, title: str = "") -> Story:
    story = Story.objects.create(title=title)
    Item.objects.filter(pk__in=[i.pk for i in items]).update(story=story)
    for item in items:
        Item.objects.filter(pk=item.pk).update(
            seen_at=item.published_at, is_reprint=item.is_reprint
        )
    refresh_counts([story.pk])
    story.refresh_from_db()
    return story


def dispatch_story(copies: int = 3) -> Story:
    start = timezone.now() - dt.timedelta(hours=6)
    items = [
        ItemFactory.create(
            source=SourceFactory.create(
                title=f"Journal {n}", camp="presse", zone=f"7{n}", media_type="news"
            ),
            title="Dotations : les communes rurales privées de 300 millions",
            summary=DISPATCH,
            published_at=start + dt.timedelta(minutes=30 * n),
        )
        for n in range(copies)
    ]
    ingest_items([i.pk for i in items])
    return Story.objects.get(items=items[0])


def test_the_stream_lists_stories_newest_first_with_their_counts(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    older = dispatch_story(3)
    newer = story_of(ItemFactory.create(title="<script>alert(1)</script>"))
    for n in range(10):
        story_of(ItemFactory.create(), title=f"Sujet {n}")
    # Session, user, the watchlists, the sources' labels, the pending suggestions, the page,
    # the menu badges.
    with django_assert_num_queries(7):
        response = hq_client.get(reverse("watch:story_list"))
    assert response.status_code == 200
    listed = [s.pk for s in response.context["page"].items]
    assert listed[-2:] == [newer.pk, older.pk]
    html = response.content.decode()
    # The title of its first item, escaped like everything from the web.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    row = next(s for s in response.context["page"].items if s.pk == older.pk)
    assert (row.items_count, row.sources_count, row.originals_count, row.reprints_count) == (
        3,
        3,
        0,
        3,
    )
    assert row.first_source.title == "Journal 0"


def test_the_stream_filters_by_source_label_and_by_period(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    press = dispatch_story(2)
    blog = SourceFactory.create(camp="opposition", media_type="blog", zone="69")
    old = ItemFactory.create(source=blog, published_at=timezone.now() - dt.timedelta(days=10))
    opposition = story_of(old, title="Vieux billet")
    url = reverse("watch:story_list")
    with django_assert_num_queries(7):
        by_camp = hq_client.get(url, {"camp": "opposition"})
    assert [s.pk for s in by_camp.context["page"].items] == [opposition.pk]
    by_zone = hq_client.get(url, {"zone": "70"})
    assert [s.pk for s in by_zone.context["page"].items] == [press.pk]
    by_type = hq_client.get(url, {"type": "blog"})
    assert [s.pk for s in by_type.context["page"].items] == [opposition.pk]
    recent = hq_client.get(url, {"periode": "7j"})
    assert [s.pk for s in recent.context["page"].items] == [press.pk]
    nothing = hq_client.get(url, {"periode": "24h", "camp": "opposition"})
    assert list(nothing.context["page"].items) == []
    assert "Aucun sujet ne correspond à ces filtres." in nothing.content.decode()
    unknown = hq_client.get(url, {"periode": "jamais"})
    assert unknown.context["period"] == ""
    assert len(unknown.context["page"].items) == 2


def test_the_stream_finds_stories_by_words_watchlist_and_triage_state(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    from essaim.watch.models import StoryTriage, Watchlist, WatchlistMatch
    from essaim.watch.services.search import index_items

    press = dispatch_story(2)
    school = story_of(
        ItemFactory.create(title="Fermeture d'écoles", summary="Les Élèves de Lyon manifestent."),
        ItemFactory.create(title="Écoles : la suite", summary="Les élèves reviennent."),
        title="Fermeture d'écoles",
    )
    index_items(list(Item.objects.values_list("pk", flat=True)))
    schools = Watchlist.objects.create(name="École", kind="topics", query="école")
    for item in school.items.all():  # type: ignore[attr-defined]
        WatchlistMatch.objects.create(watchlist=schools, item=item, terms=["école"])
    StoryTriage.objects.create(story=press, state="urgent")
    url = reverse("watch:story_list")
    # Listed once though both its items hold the words; accents and capitals folded.
    with django_assert_num_queries(7):
        by_words = hq_client.get(url, {"q": "eleves lyon"})
    assert [s.pk for s in by_words.context["page"].items] == [school.pk]
    assert [s.pk for s in hq_client.get(url, {"q": "élèves"}).context["page"].items] == [school.pk]
    by_list = hq_client.get(url, {"liste": schools.pk})
    assert [s.pk for s in by_list.context["page"].items] == [school.pk]
    urgent = hq_client.get(url, {"tri": "urgent"})
    assert [s.pk for s in urgent.context["page"].items] == [press.pk]
    # Never triaged counts as "à trier".
    assert [s.pk for s in hq_client.get(url, {"tri": "new"}).context["page"].items] == [school.pk]
    # Unknown values are ignored, never an error.
    for params in ({"liste": "999"}, {"liste": "²"}, {"tri": "bidon"}, {"q": "%'\"()*"}):
        response = hq_client.get(url, params)
        assert response.status_code == 200
    assert len(hq_client.get(url, {"liste": "999"}).context["page"].items) == 2
    assert list(hq_client.get(url, {"q": "introuvable"}).context["page"].items) == []


def test_a_coordinator_sees_the_stream_but_no_merge_to_decide(
    coordinator_client: Client, hq: Any
) -> None:
    story = dispatch_story(2)
    response = coordinator_client.get(reverse("watch:story_list"))
    assert response.status_code == 200
    assert response.context["pending_suggestions"] == 0
    assert coordinator_client.get(reverse("watch:story_detail", args=[story.pk])).status_code == 200
    assert coordinator_client.get(reverse("watch:suggestion_list")).status_code == 403
    assert coordinator_client.get(reverse("watch:source_list")).status_code == 403


def test_a_volunteer_does_not_see_the_stream(volunteer_client: Client) -> None:
    story = dispatch_story(2)
    assert volunteer_client.get(reverse("watch:story_list")).status_code == 403
    assert volunteer_client.get(reverse("watch:story_detail", args=[story.pk])).status_code == 403


def test_a_story_page_marks_the_first_source_and_tells_originals_from_reprints(
    hq_client: Client,
) -> None:
    story = dispatch_story(3)
    first = Item.objects.get(pk=story.first_item_id or 0)
    evidence = Evidence.objects.create(
        source=first.source, url="https://x.fr/", http_status=200, size=3, sha256="0" * 64,
        warc=b"WARC",
    )  # fmt: skip
    Item.objects.filter(pk=first.pk).update(evidence=evidence)
    own = ItemFactory.create(
        title="Trois cents millions en moins", published_at=timezone.now() - dt.timedelta(hours=1)
    )
    Item.objects.filter(pk=own.pk).update(story=story, seen_at=own.published_at, match=Match.PERSON)
    refresh_counts([story.pk])
    response = hq_client.get(reverse("watch:story_detail", args=[story.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("première source") == 1
    assert html.count("Dépêche d'agence") == 3
    assert html.count(">Original<") == 1
    assert reverse("watch:evidence_download", args=[evidence.pk]) in html
    chart = response.context["chart"]
    assert chart.series[0].values[-1] == 4  # every echo, cumulated
    assert chart.series[1].values[-1] == 4  # four distinct sources
    assert chart.series[0].values[0] == 0
    download = hq_client.get(reverse("watch:evidence_download", args=[evidence.pk]))
    assert download["Content-Disposition"] == (
        f'attachment; filename="essaim-preuve-{evidence.pk}.warc.gz"'
    )
    assert download.content == b"WARC"


def suggested() -> tuple[Story, Story, MergeSuggestion]:
    kept = dispatch_story(2)
    item = ItemFactory.create(title="Les maires ruraux en colère")
    alone = story_of(item, title="Les maires ruraux en colère")
    suggestion = MergeSuggestion.objects.create(
        item=item, story=kept, similar_item_id=kept.first_item_id or 0, similarity=0.45
    )
    return kept, alone, suggestion


def test_hq_accepts_a_suggested_merge_and_the_story_grows(hq_client: Client) -> None:
    kept, alone, suggestion = suggested()
    page = hq_client.get(reverse("watch:story_detail", args=[kept.pk]))
    assert [s.pk for s in page.context["suggestions"]] == [suggestion.pk]
    response = hq_client.post(reverse("watch:suggestion_accept", args=[suggestion.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("watch:story_detail", args=[kept.pk])
    kept.refresh_from_db()
    assert (kept.items_count, kept.sources_count, kept.originals_count) == (3, 3, 1)
    assert not Story.objects.filter(pk=alone.pk).exists()
    assert Item.objects.get(pk=suggestion.item_id).match == Match.PERSON
    suggestion.refresh_from_db()
    assert suggestion.status == "accepted"
    event = AuditEvent.objects.get(action="watch.merge_accepted")
    assert (event.object_type, event.object_id) == ("watch.story", str(kept.pk))
    assert event.details["item"] == suggestion.item_id
    again = hq_client.post(reverse("watch:suggestion_accept", args=[suggestion.pk]))
    assert again["Location"] == reverse("watch:suggestion_list")
    assert AuditEvent.objects.filter(action="watch.merge_accepted").count() == 1


def test_hq_rejects_a_suggested_merge_and_the_stories_stay_apart(
    hq_client: Client, django_assert_num_queries: Any
) -> None:
    kept, alone, suggestion = suggested()
    for n in range(5):
        item = ItemFactory.create(title=f"Autre {n}")
        MergeSuggestion.objects.create(
            item=item, story=story_of(item), similar_item_id=kept.first_item_id or 0,
            similarity=0.4,
        )  # fmt: skip
    with django_assert_num_queries(4):  # session, user, the page, the menu badges
        listed = hq_client.get(reverse("watch:suggestion_list"))
    assert len(listed.context["page"].items) == 6
    listed = hq_client.get(reverse("watch:suggestion_list"))
    assert [s.pk for s in listed.context["page"].items][-1] == suggestion.pk
    response = hq_client.post(reverse("watch:suggestion_reject", args=[suggestion.pk]))
    assert response.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == "rejected"
    assert Story.objects.filter(pk__in=[kept.pk, alone.pk]).count() == 2
    assert AuditEvent.objects.filter(action="watch.merge_rejected").count() == 1
    assert suggestion.pk not in [
        s.pk for s in hq_client.get(reverse("watch:suggestion_list")).context["page"].items
    ]


def test_a_coordinator_cannot_decide_a_merge_and_nothing_changes(
    coordinator_client: Client,
) -> None:
    kept, alone, suggestion = suggested()
    for name in ("watch:suggestion_accept", "watch:suggestion_reject"):
        assert coordinator_client.post(reverse(name, args=[suggestion.pk])).status_code == 403
    suggestion.refresh_from_db()
    assert suggestion.status == "pending"
    assert Story.objects.filter(pk__in=[kept.pk, alone.pk]).count() == 2
    assert not AuditEvent.objects.filter(action__startswith="watch.").exists()


def test_the_api_lists_stories_and_gives_one_with_its_echoes(
    coordinator_api: Api, volunteer_api: Api
) -> None:
    first = dispatch_story(3)
    second = story_of(ItemFactory.create(), title="Autre")
    page = coordinator_api.get("/api/v1/watch/stories", limit=1).json()
    assert [s["id"] for s in page["items"]] == [second.pk]
    rest = coordinator_api.get("/api/v1/watch/stories", after=page["next"]).json()
    assert ([s["id"] for s in rest["items"]], rest["next"]) == ([first.pk], None)
    assert rest["items"][0]["reprints_count"] == 3
    detail = coordinator_api.get(f"/api/v1/watch/stories/{first.pk}").json()
    assert [e["match"] for e in detail["echoes"]] == ["first", "text", "text"]
    assert all(e["is_wire"] and e["is_reprint"] for e in detail["echoes"])
    assert coordinator_api.get("/api/v1/watch/stories/999999").status_code == 404
    assert volunteer_api.get("/api/v1/watch/stories").status_code == 403


def test_the_api_reads_since_in_any_offset_and_refuses_one_out_of_range(
    coordinator_api: Api,
) -> None:
    story = story_of(ItemFactory.create(), title="Récent")
    # An offset PostgreSQL refuses (beyond ±15:59) is valid ISO 8601: read as the UTC instant.
    far = coordinator_api.get("/api/v1/watch/stories", since="2000-01-01T00:00:00-16:10")
    assert [s["id"] for s in far.json()["items"]] == [story.pk]
    later = coordinator_api.get("/api/v1/watch/stories", since="2999-01-01T00:00:00+00:00")
    assert later.json()["items"] == []
    # Year 1 minus a day's offset has no UTC instant.
    refused = coordinator_api.get("/api/v1/watch/stories", since="0001-01-01T00:00:00+23:59")
    assert refused.status_code == 422
    assert refused.json()["error"]["message"] == "since is out of range."
