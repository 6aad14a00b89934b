"""A person's answer to a suggested merge, and the watcher placing a poll's new items."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from django.utils import timezone

from essaim.accounts.models import AuditEvent, Notification, User
from essaim.army.tests.factories import MissionFactory
from essaim.watch.models import (
    Alert,
    Item,
    Match,
    MergeSuggestion,
    Story,
    StoryMission,
    StoryTriage,
    TriageDecision,
    TriageState,
)
from essaim.watch.services import alerts, triage
from essaim.watch.services.merges import AlreadyDecided, accept_suggestion, reject_suggestion
from essaim.watch.services.polling import Outcome
from essaim.watch.services.stories import ingest_items
from essaim.watch.tests.factories import ItemFactory, SourceFactory
from essaim.watch.tests.test_claims import LIMITS, item
from essaim.watch.tests.test_stories import DISPATCH, OTHER
from essaim.watch.watcher.claims import claim, record

pytestmark = pytest.mark.django_db

HOUR = dt.timedelta(hours=1)


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


def suggest_short_into_dispatch() -> tuple[Story, Story, MergeSuggestion]:
    """Two stories, and the suggestion to merge the short one (going away) into the dispatch's."""
    dispatch, _copy, short = two_stories()
    kept = Story.objects.get(pk=dispatch.story_id or 0)
    gone = Story.objects.get(pk=short.story_id or 0)
    suggestion = MergeSuggestion.objects.create(
        item=short, story=kept, similar_item=dispatch, similarity=0.5
    )
    return kept, gone, suggestion


def test_a_merge_keeps_the_triage_the_missions_the_alert_and_the_notices_of_the_story_gone(
    hq: User, hq_admin: User
) -> None:
    kept, gone, suggestion = suggest_short_into_dispatch()
    # The story going away was given to the admin, who found it urgent; a mission answers it.
    triage.decide(story=gone, user=hq, decision=TriageState.ASSIGNED, assign_to=hq_admin)
    triage.decide(story=gone, user=hq_admin, decision=TriageState.URGENT, note="Vite")
    alert = Alert.objects.get()
    mission = MissionFactory.create(publish=False)
    StoryMission.objects.create(story=gone, mission=mission, created_by=hq)
    # The kept story was seen as pertinent earlier.
    triage.decide(story=kept, user=hq, decision=TriageState.PERTINENT, now=timezone.now() - HOUR)
    told = Notification.objects.get(kind=alerts.TRIAGE_ASSIGNED)
    assert told.object_id == gone.pk

    accept_suggestion(suggestion_id=suggestion.pk, user=hq)

    assert not Story.objects.filter(pk=gone.pk).exists()
    assert list(
        TriageDecision.objects.filter(story=kept).order_by("pk").values_list("decision", "user")
    ) == [("assigned", hq.pk), ("urgent", hq_admin.pk), ("pertinent", hq.pk)]
    state = StoryTriage.objects.get()
    assert (state.story_id, state.state) == (kept.pk, "urgent")
    alert.refresh_from_db()
    assert alert.story_id == kept.pk
    assert StoryMission.objects.get().story_id == kept.pk
    told.refresh_from_db()
    assert told.object_id == kept.pk
    event = AuditEvent.objects.get(action="watch.merge_accepted")
    assert (
        event.details["decisions_moved"],
        event.details["missions_moved"],
        event.details["alerts_moved"],
    ) == (2, 1, 1)


def test_when_both_stories_were_urgent_the_older_alert_stays_the_storys(hq: User) -> None:
    kept, gone, suggestion = suggest_short_into_dispatch()
    now = timezone.now()
    triage.decide(story=gone, user=hq, decision=TriageState.URGENT, now=now - HOUR)
    triage.decide(story=kept, user=hq, decision=TriageState.URGENT, now=now)
    older = Alert.objects.get(story=gone)
    newer = Alert.objects.get(story=kept)
    # The story going away is locked by someone working on it: the lock goes with it.
    triage.take(story=gone, user=hq, now=now)

    accept_suggestion(suggestion_id=suggestion.pk, user=hq)

    older.refresh_from_db()
    newer.refresh_from_db()
    assert (older.story_id, newer.story_id) == (kept.pk, None)
    assert newer.explanation["stories"][0]["id"] == kept.pk
    state = StoryTriage.objects.get()
    assert (state.story_id, state.state, state.locked_by_id) == (kept.pk, "urgent", hq.pk)
    assert TriageDecision.objects.filter(story=kept).count() == 2


def test_a_lower_triage_state_of_the_story_gone_does_not_overwrite_the_kept_one(
    hq: User,
) -> None:
    kept, gone, suggestion = suggest_short_into_dispatch()
    triage.decide(story=kept, user=hq, decision=TriageState.PERTINENT)
    triage.decide(story=gone, user=hq, decision=TriageState.NOT_PERTINENT)
    accept_suggestion(suggestion_id=suggestion.pk, user=hq)
    assert list(StoryTriage.objects.values_list("story_id", "state")) == [(kept.pk, "pertinent")]


def test_an_item_suggested_for_both_stories_does_not_stop_the_merge(hq: User) -> None:
    kept, gone, suggestion = suggest_short_into_dispatch()
    stray = ItemFactory.create(title="Autre", summary=OTHER)
    ingest_items([stray.pk])
    similar = Item.objects.filter(story=gone).first()
    assert similar is not None
    for story in (kept, gone):
        MergeSuggestion.objects.create(
            item=stray, story=story, similar_item=similar, similarity=0.4
        )
    accept_suggestion(suggestion_id=suggestion.pk, user=hq)
    assert list(MergeSuggestion.objects.filter(item=stray).values_list("story_id", "status")) == [
        (kept.pk, "pending")
    ]
