"""What points at a story that goes away (an accepted merge, essaim.watch.services.merges; a
tracer's page that joins another story, essaim.watch.services.stories.place_again) moves to the
story kept, in the caller's transaction: its triage, decisions, missions, alerts and the
notices that named it."""

from __future__ import annotations

from typing import Any

from essaim.accounts.services import notifications
from essaim.watch.models import Alert, StoryMission, StoryTriage, TriageDecision, TriageState
from essaim.watch.services import alerts

# The triage state a merged story keeps when both stories had one: the one that asks most of
# the veilleurs (a story one part of which was urgent is urgent).
_STATE_RANK: dict[str, int] = {
    TriageState.NEW: 0,
    TriageState.NOT_PERTINENT: 1,
    TriageState.PERTINENT: 2,
    TriageState.ASSIGNED: 3,
    TriageState.URGENT: 4,
}


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
