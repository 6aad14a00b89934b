"""A person's answer to a suggested merge, and the watcher placing a poll's new items."""

from __future__ import annotations

import dataclasses

import pytest
from django.utils import timezone

from essaim.accounts.models import AuditEvent, User
from essaim.watch.models import Item, Match, MergeSuggestion, Story
from essaim.watch.services.merges import AlreadyDecided, accept_suggestion, reject_suggestion
from essaim.watch.services.polling import Outcome
from essaim.watch.services.stories import ingest_items
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from essaim.watch.tests.test_claims import LIMITS, item
from essaim.watch.tests.test_stories import DISPATCH, OTHER
from essaim.watch.watcher.claims import claim, record

pytestmark = pytest.mark.django_db


def two_stories() -> tuple[Item, Item, Item]:
    """A dispatch and its copy (one story), and a short item on its own with a suggestion."""
    dispatch = ItemFactory.create(title="Dotations", summary=DISPATCH)
    copy = ItemFactory.create(title="Dotations", summary=DISPATCH)
    short = ItemFactory.create(title="Dotations en baisse", summary="Les maires protestent.")
    ingest_items([dispatch.pk, copy.pk, short.pk])
    for row in (dispatch, copy, short):
        row.refresh_from_db()
    return dispatch, copy, short


def test_accepting_moves_the_item_and_the_echoes_it_gathered_since(hq: User) -> None:
    dispatch, _copy, short = two_stories()
    # An echo of the short item, after it.
    echo = ItemFactory.create(title="Dotations en baisse", summary="Les maires protestent.")
    Item.objects.filter(pk=echo.pk).update(story=short.story_id)
    gone = short.story_id or 0
    suggestion = MergeSuggestion.objects.create(
        item=short, story_id=dispatch.story_id or 0, similar_item=dispatch, similarity=0.5
    )
    # Another suggestion about the story going away now points to the one kept.
    stray = ItemFactory.create(title="Autre", summary=OTHER)
    ingest_items([stray.pk])
    stray.refresh_from_db()
    about_gone = MergeSuggestion.objects.create(
        item=stray, story_id=gone, similar_item=short, similarity=0.4
    )
    kept = accept_suggestion(suggestion_id=suggestion.pk, user=hq)
    assert kept.pk == dispatch.story_id
    assert (kept.items_count, kept.sources_count, kept.reprints_count, kept.originals_count) == (
        4,
        4,
        2,
        2,
    )
    assert not Story.objects.filter(pk=gone).exists()
    assert set(Item.objects.filter(story=kept).values_list("pk", flat=True)) == {
        dispatch.pk,
        _copy.pk,
        short.pk,
        echo.pk,
    }
    assert Item.objects.get(pk=short.pk).match == Match.PERSON
    about_gone.refresh_from_db()
    assert (about_gone.story_id, about_gone.status) == (kept.pk, "pending")
    event = AuditEvent.objects.get(action="watch.merge_accepted")
    assert (event.details["merged_story"], event.details["items_moved"]) == (gone, 2)


def test_a_decided_suggestion_cannot_be_decided_again(hq: User) -> None:
    dispatch, _copy, short = two_stories()
    suggestion = MergeSuggestion.objects.create(
        item=short, story_id=dispatch.story_id or 0, similar_item=dispatch, similarity=0.5
    )
    reject_suggestion(suggestion_id=suggestion.pk, user=hq)
    with pytest.raises(AlreadyDecided):
        accept_suggestion(suggestion_id=suggestion.pk, user=hq)
    with pytest.raises(AlreadyDecided):
        reject_suggestion(suggestion_id=suggestion.pk, user=hq)
    assert Story.objects.count() == 2
    assert AuditEvent.objects.filter(action__startswith="watch.").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_watcher_places_a_polls_new_items_in_stories() -> None:
    SourceFactory.create(next_poll_at=timezone.now())
    other = SourceFactory.create(next_poll_at=timezone.now())
    copy = dataclasses.replace(item(1), title="Dotations", summary=DISPATCH)
    [held, held_other] = claim(watcher_id="w1", limit=10, lease_seconds=300)
    assert record(
        held, Outcome("ok", timezone.now(), http_status=200, items=[copy, item(2)]),
        watcher_id="w1", limits=LIMITS,
    ) == 2  # fmt: skip
    elsewhere = dataclasses.replace(copy, key="https://autre.fr/1", url="https://autre.fr/1/")
    record(
        held_other, Outcome("ok", timezone.now(), http_status=200, items=[elsewhere]),
        watcher_id="w1", limits=LIMITS,
    )  # fmt: skip
    assert Item.objects.filter(ingested_at__isnull=True).count() == 0
    story = Story.objects.get(items__source=other)
    assert (story.items_count, story.sources_count) == (2, 2)
    assert Story.objects.count() == 2
