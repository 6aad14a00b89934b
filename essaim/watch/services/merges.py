"""A person's answer to a merge the de-duplication suggested (essaim.watch.models.MergeSuggestion).

Accepting moves the suggested item's whole story (the item and the echoes it gathered since)
into the story suggested, with everything that pointed at it (its triage decisions and state,
its missions, its alerts, the notifications that lead to it), deletes the emptied story, and
settles the other suggestions that the move answered; rejecting keeps the stories apart. Either
is audited and final: a decided suggestion is not decided again.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from essaim.accounts.services import audit, notifications
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
from essaim.watch.services import alerts
from essaim.watch.services.stories import lock_stories, refresh_counts

# The triage state a merged story keeps when both stories had one: the one that asks most of
# the veilleurs (a story one part of which was urgent is urgent).
_STATE_RANK: dict[str, int] = {
    TriageState.NEW: 0,
    TriageState.NOT_PERTINENT: 1,
    TriageState.PERTINENT: 2,
    TriageState.ASSIGNED: 3,
    TriageState.URGENT: 4,
}


class AlreadyDecided(Exception):
    """The suggestion was accepted or rejected already (perhaps by someone else meanwhile)."""


def accept_suggestion(
    *, suggestion_id: int, user: Any, request: HttpRequest | None = None
) -> Story:
    """Merge the suggested item's story into the suggested story. Returns the story kept."""
    with transaction.atomic():
        # The ingest must not place an item in the story that is going away.
        lock_stories()
        suggestion = _pending(suggestion_id)
        target = Story.objects.select_for_update().get(pk=suggestion.story_id)
        item = Item.objects.get(pk=suggestion.item_id)
        moved_from = item.story_id
        now = timezone.now()
        moved = 0
        carried: dict[str, Any] = {}
        if moved_from is not None and moved_from != target.pk:
            moved = Item.objects.filter(story_id=moved_from).update(story=target)
            # Suggestions about the story that is going away now point to the one kept (but for
            # an item already suggested for it: one suggestion per item and story); those that
            # this answers (an item now in the story suggested for it) are settled.
            MergeSuggestion.objects.filter(story_id=moved_from).exclude(
                item__in=MergeSuggestion.objects.filter(story=target).values("item")
            ).update(story=target)
            MergeSuggestion.objects.filter(
                status=MergeSuggestion.Status.PENDING, item__story_id=target.pk, story=target
            ).exclude(pk=suggestion.pk).update(
                status=MergeSuggestion.Status.ACCEPTED, decided_by=user, decided_at=now
            )
            carried = carry_over(gone=moved_from, kept=target.pk, now=now)
            Story.objects.filter(pk=moved_from).delete()
        Item.objects.filter(pk=item.pk).update(match=Match.PERSON)
        MergeSuggestion.objects.filter(pk=suggestion.pk).update(
            status=MergeSuggestion.Status.ACCEPTED, decided_by=user, decided_at=now
        )
        refresh_counts([target.pk])
        audit(
            action="watch.merge_accepted",
            actor=user,
            request=request,
            obj=target,
            item=item.pk,
            merged_story=moved_from,
            items_moved=moved,
            similarity=suggestion.similarity,
            **carried,
        )
    target.refresh_from_db()
    return target


def carry_over(*, gone: int, kept: int, now: Any) -> dict[str, Any]:
    """Move to the kept story every row that points at the one going away, which the delete
    would otherwise take with it (CASCADE) or leave pointing at nothing (SET_NULL)."""
    # First, as it locks both triage rows: a decision being taken on either meanwhile is
    # committed before its row, its alert and its decision are moved, or refused after.
    _merge_triage(gone=gone, kept=kept, now=now)
    decisions = TriageDecision.objects.filter(story_id=gone).update(story_id=kept)
    missions = StoryMission.objects.filter(story_id=gone).update(story_id=kept)
    # One urgent alert per story (a unique constraint): when both stories had one, the older
    # stays the kept story's and the newer keeps its explanation but no longer its story.
    urgent = list(
        Alert.objects.filter(story_id__in=[gone, kept], kind=Alert.Kind.URGENT)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)
    )
    if len(urgent) == 2:
        Alert.objects.filter(pk=urgent[1]).update(story=None)
    moved_alerts = Alert.objects.filter(story_id=gone).update(story_id=kept)
    notifications.move(kinds=[alerts.TRIAGE_ASSIGNED], object_id=gone, to=kept)
    return {
        "decisions_moved": decisions,
        "missions_moved": missions,
        "alerts_moved": moved_alerts,
    }


def _merge_triage(*, gone: int, kept: int, now: Any) -> None:
    """The kept story's triage row: the gone story's when it alone had one; when both had one,
    the state (and the person it was given to) that ranks higher, and the live lock, the kept
    story's first (whoever is working on it keeps it)."""
    rows = {
        row.story_id: row
        for row in StoryTriage.objects.select_for_update().filter(story_id__in=[gone, kept])
    }
    if gone not in rows:
        return
    if kept not in rows:
        StoryTriage.objects.filter(story_id=gone).update(story_id=kept)
        return
    old, new = rows[gone], rows[kept]
    winner = old if _STATE_RANK[old.state] > _STATE_RANK[new.state] else new

    def live(row: StoryTriage) -> bool:
        return row.locked_by_id is not None and (row.locked_until or now) > now

    lock = new if live(new) else old if live(old) else None
    StoryTriage.objects.filter(story_id=kept).update(
        state=winner.state,
        assigned_to=winner.assigned_to_id,
        locked_by=lock.locked_by_id if lock else None,
        locked_until=lock.locked_until if lock else None,
        updated_at=max(old.updated_at, new.updated_at),
    )


def reject_suggestion(*, suggestion_id: int, user: Any, request: HttpRequest | None = None) -> None:
    """Keep the item's story apart from the story suggested."""
    with transaction.atomic():
        suggestion = _pending(suggestion_id)
        MergeSuggestion.objects.filter(pk=suggestion.pk).update(
            status=MergeSuggestion.Status.REJECTED, decided_by=user, decided_at=timezone.now()
        )
        audit(
            action="watch.merge_rejected",
            actor=user,
            request=request,
            object_type="watch.story",
            object_id=suggestion.story_id,
            item=suggestion.item_id,
            similarity=suggestion.similarity,
        )


def _pending(suggestion_id: int) -> MergeSuggestion:
    suggestion = MergeSuggestion.objects.select_for_update().get(pk=suggestion_id)
    if suggestion.status != MergeSuggestion.Status.PENDING:
        raise AlreadyDecided(suggestion.status)
    return suggestion
