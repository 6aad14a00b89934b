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

from essaim.accounts.services import audit
from essaim.watch.models import (
    Item,
    Match,
    MergeSuggestion,
    Story,
)
from essaim.watch.services.carry import carry_over
from essaim.watch.services.stories import lock_stories, refresh_counts


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
