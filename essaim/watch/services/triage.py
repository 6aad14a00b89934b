"""The veilleurs' triage: the queue of new stories that watchlists matched, a lock so that two
people do not work the same story, and the decisions (pertinent, non pertinent, urgent, confié à
quelqu'un), every one kept in TriageDecision and audited.

The lock is one conditional UPDATE (free, run out, or already ours → ours until now + LOCK_FOR):
the database decides who gets it, never a read followed by a write. A decision is written the
same way, only while nobody else holds a live lock, and frees the story.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from essaim.accounts.services import audit
from essaim.watch import rules
from essaim.watch.models import Story, StoryTriage, TriageDecision, TriageState, WatchlistMatch

# How long a taken story stays with its taker: long enough to read it and its sources.
LOCK_FOR = dt.timedelta(minutes=15)
DECISIONS = (
    TriageState.PERTINENT,
    TriageState.NOT_PERTINENT,
    TriageState.URGENT,
    TriageState.ASSIGNED,
)


class Locked(Exception):
    """Someone else holds a live lock on the story."""


class InvalidDecision(ValueError):
    """Not a decision, or an assignment to someone who cannot triage."""


def in_scope(*, watchlist_id: int | None = None) -> QuerySet[Story]:
    """The stories of the triage: those an item of which a watchlist matched (this watchlist
    when given). EXISTS rather than joins: a story comes once however many of its items
    matched."""
    matches = WatchlistMatch.objects.filter(item__story=OuterRef("pk"))
    if watchlist_id is not None:
        matches = matches.filter(watchlist_id=watchlist_id)
    return Story.objects.filter(Exists(matches))


def queue(*, watchlist_id: int | None = None, state: str = TriageState.NEW) -> QuerySet[Story]:
    """The stories of the triage (`in_scope`) in this triage state (a story without a triage
    row is new)."""
    stories = in_scope(watchlist_id=watchlist_id)
    if state == TriageState.NEW:
        stories = stories.filter(Q(triage__isnull=True) | Q(triage__state=TriageState.NEW))
    else:
        stories = stories.filter(triage__state=state)
    return stories.select_related(
        "first_source", "triage__locked_by", "triage__assigned_to__volunteer__contact"
    ).order_by("-pk")


def _ensure_row(story_id: int) -> None:
    # ignore_conflicts: two people opening a new story at once both find the row afterwards.
    StoryTriage.objects.bulk_create([StoryTriage(story_id=story_id)], ignore_conflicts=True)


def _free_or_mine(user: Any, now: dt.datetime) -> Q:
    return Q(locked_by__isnull=True) | Q(locked_until__lt=now) | Q(locked_by=user.pk)


def take(*, story: Story, user: Any, now: dt.datetime | None = None) -> dt.datetime:
    """Lock the story for `user` until the returned time; Locked if someone else holds it."""
    now = now or timezone.now()
    _ensure_row(story.pk)
    until = now + LOCK_FOR
    taken = (
        StoryTriage.objects.filter(story_id=story.pk)
        .filter(_free_or_mine(user, now))
        .update(locked_by=user.pk, locked_until=until)
    )
    if not taken:
        raise Locked
    return until


def release(*, story: Story, user: Any) -> bool:
    """Give the story back (only one's own lock)."""
    return bool(
        StoryTriage.objects.filter(story_id=story.pk, locked_by=user.pk).update(
            locked_by=None, locked_until=None
        )
    )


def decide(
    *,
    story: Story,
    user: Any,
    decision: str,
    note: str = "",
    assign_to: Any = None,
    request: HttpRequest | None = None,
    now: dt.datetime | None = None,
) -> TriageDecision:
    """Record a decision on the story and free it. Locked while someone else's lock is live;
    InvalidDecision for an unknown decision or an assignment to someone who cannot triage. An
    urgent story raises its alert (essaim.watch.services.alerts), in the same transaction."""
    from essaim.watch.services import alerts

    now = now or timezone.now()
    if decision not in DECISIONS:
        raise InvalidDecision(decision)
    if decision == TriageState.ASSIGNED:
        if assign_to is None or not rules.can_triage(assign_to):
            raise InvalidDecision("assign_to")
    else:
        assign_to = None
    note = note.strip()[:2000]
    _ensure_row(story.pk)
    with transaction.atomic():
        written = (
            StoryTriage.objects.filter(story_id=story.pk)
            .filter(_free_or_mine(user, now))
            .update(
                state=decision,
                assigned_to=assign_to.pk if assign_to else None,
                # A story given to someone is theirs to work: locked for them, not left free.
                locked_by=assign_to.pk if assign_to else None,
                locked_until=now + LOCK_FOR if assign_to else None,
                updated_at=now,
            )
        )
        if not written:
            raise Locked
        row = TriageDecision.objects.create(
            story=story,
            user=user,
            decision=decision,
            assigned_to=assign_to,
            note=note,
            created_at=now,
        )
        audit(
            action="watch.triage_decided",
            actor=user,
            request=request,
            obj=story,
            decision=decision,
            assigned_to=assign_to.pk if assign_to else None,
        )
        if decision == TriageState.URGENT:
            alerts.raise_urgent(story=story, user=user, note=note, now=now)
        if assign_to is not None:
            alerts.tell_assigned(story=story, user=user, assignee=assign_to)
    return row


def state_of(story: Story) -> StoryTriage | None:
    return (
        StoryTriage.objects.filter(story=story)
        .select_related("locked_by", "assigned_to__volunteer__contact")
        .first()
    )


def history(story: Story) -> QuerySet[TriageDecision]:
    return (
        TriageDecision.objects.filter(story=story)
        .select_related("user__volunteer__contact", "assigned_to__volunteer__contact")
        .order_by("-created_at", "-pk")
    )


def shown_name(user: Any, *, full: bool) -> str:
    """How the triage names a person: for HQ (`full`), their name else their address, as the
    rest of HQ's pages do; for everyone else the volunteer's "Camille D." and never an address
    (a veilleur sees who decided, not how to reach them). Load `user` with its
    `volunteer__contact`: nothing is queried here."""
    from essaim.army.models import Volunteer
    from essaim.army.services.invitations import display_name

    if user is None:
        return _("compte supprimé")
    if full:
        return str(user.full_name or user.email)
    volunteer = getattr(user, "volunteer", None)
    if volunteer is None:
        # HQ staff may have no volunteer profile: their account's name, reduced the same way.
        volunteer = Volunteer(user=user)
    if volunteer.first_name or user.full_name:
        return display_name(volunteer)
    return _("Quelqu'un du QG") if user.is_hq else _("Un veilleur")


def newer_count(
    *, watchlist_id: int | None = None, state: str = TriageState.NEW, after: int
) -> int:
    """How many stories of the queue (`queue`) came after story `after` (the newest the page
    showed): one COUNT, its range on the primary key, for the queue's live banner."""
    return queue(watchlist_id=watchlist_id, state=state).filter(pk__gt=after).count()
