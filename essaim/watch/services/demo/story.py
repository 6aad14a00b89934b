"""The watch's story in the demo, told through the services over the demo's items: the
watchlists HQ wrote (their matches are made as the items are stored), the links the demo
volunteer reported as a tracer, HQ's triage of the stories, and the syntheses.

History needs dates in the past, which the services never write: the rows are made by the
services as the product makes them, then only their timestamps are moved back with plain
UPDATEs (as the army's part of the demo does).

Each part is told once: the watchlists by name, the reports while the volunteer has none, the
triage while no decision exists, the syntheses while there is none.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from essaim.accounts.models import Notification, User
from essaim.accounts.services import DEMO_VOLUNTEER
from essaim.army.models import Volunteer
from essaim.people.services.demo import story_day
from essaim.watch.models import (
    Item,
    ItemBand,
    Story,
    Submission,
    Synthesis,
    TriageDecision,
    TriageState,
    Watchlist,
)
from essaim.watch.services import stories, submissions, synthesis
from essaim.watch.services import triage as triage_service
from essaim.watch.services.demo.content import (
    ACTU_LYON,
    CENTRE,
    FETCH_DELAY,
    GRATUITE,
    QUARTIERS,
    RIPOSTE,
    SCOLAIRES,
    WATCHLISTS,
    DemoItem,
)
from essaim.watch.services.notices import SUBMISSION_ACCEPTED
from essaim.watch.services.urls import url_key
from essaim.watch.services.watchlists import save_watchlist

# The volunteer heard it on the radio: they reported the page this long after it went online,
# before the feed brought it (FETCH_DELAY after).
REPORTED_AFTER = dt.timedelta(minutes=10)

PUBLISHED_INTRO = (
    "Journée dominée par le logement : le plan de la candidate est repris par trois sites en "
    "quelques heures. À l'école Jules-Ferry, la pétition des parents gagne du terrain."
)
PUBLISHED_NOTES = "Préparer des éléments sur le financement du plan logement avant le débat du 12."


def ensure_watchlists(*, by: User) -> int:
    """HQ's watchlists (content.WATCHLISTS), made through the service where missing; returns how
    many were made."""
    known = set(Watchlist.objects.values_list("name", flat=True))
    made = 0
    for spec in WATCHLISTS:
        if spec.name in known:
            continue
        save_watchlist(
            name=spec.name, kind=spec.kind, query=spec.query, labels=list(spec.labels), by=by
        )
        made += 1
    return made


def _item(source_url: str, spec: DemoItem) -> Item | None:
    return (
        Item.objects.filter(source__url_key=url_key(source_url), title=spec.title)
        .order_by("pk")
        .first()
    )


def _story(source_url: str, spec: DemoItem) -> Story | None:
    item = _item(source_url, spec)
    return item.story if item is not None else None


def report_links(*, reviewer: User, now: dt.datetime) -> int:
    """The demo volunteer, a tracer, reported two pages: one of them before any feed brought it
    (accepted by their coordinator), the other an echo of the morning's story, not reviewed yet.
    Both pages are in the feeds already, so the service reads nothing from the network."""
    volunteer = Volunteer.objects.filter(user__email=DEMO_VOLUNTEER).first()
    if volunteer is None or Submission.objects.filter(volunteer=volunteer).exists():
        return 0
    made = 0
    first = _item(ACTU_LYON, GRATUITE)
    if first is not None:
        at = first.fetched_at - FETCH_DELAY + REPORTED_AFTER
        reported = submissions.submit(
            volunteer=volunteer,
            url=first.url,
            note="Entendu à la matinale : il l'a dit en direct, l'article arrive.",
        ).submission
        _backdate_report(reported, at=at)
        submissions.review(submission=reported, by=reviewer, accept=True)
        reviewed = at + dt.timedelta(hours=2)
        Submission.objects.filter(pk=reported.pk).update(reviewed_at=reviewed)
        # The volunteer read the news of it that day.
        Notification.objects.filter(kind=SUBMISSION_ACCEPTED, object_id=reported.pk).update(
            created_at=reviewed, read_at=reviewed + dt.timedelta(hours=1)
        )
        made += 1
    echo = _item(CENTRE, RIPOSTE)
    if echo is not None:
        reported = submissions.submit(
            volunteer=volunteer,
            url=echo.url,
            note="Le communiqué de Sophie Lacombe repris mot pour mot.",
            urgency=Submission.Urgency.URGENT,
        ).submission
        _backdate_report(reported, at=max(echo.fetched_at, now - dt.timedelta(hours=1)))
        made += 1
    return made


def _backdate_report(submission: Submission, *, at: dt.datetime) -> None:
    """The report, and the page's item in the tracers' source, made at `at`; the story's first
    item and times follow (a page a tracer reported first opens its story)."""
    Submission.objects.filter(pk=submission.pk).update(created_at=at)
    Item.objects.filter(pk=submission.item_id).update(fetched_at=at, seen_at=at)
    ItemBand.objects.filter(item_id=submission.item_id).update(seen_at=at)
    story_id = Item.objects.filter(pk=submission.item_id).values_list("story_id", flat=True).first()
    if story_id is not None:
        stories.refresh_counts([story_id])


def triage(*, by: User, now: dt.datetime) -> int:
    """HQ triaged three of the stories the watchlists matched: the opponent's attack of this
    morning is urgent (its alert goes out), the bus fares are to follow, the school buses'
    timetable is not for the campaign. The others wait in the queue."""
    if TriageDecision.objects.exists():
        return 0
    decisions = (
        (
            _story(QUARTIERS, SCOLAIRES),
            TriageState.NOT_PERTINENT,
            "Information pratique, sans enjeu pour la campagne.",
            story_day(now, 1, 16),
        ),
        (
            _story(ACTU_LYON, GRATUITE),
            TriageState.PERTINENT,
            "À suivre : la question reviendra au débat du 12.",
            story_day(now, 1, 13.5),
        ),
        (
            _story(CENTRE, RIPOSTE),
            TriageState.URGENT,
            "Réponse à préparer avant ce soir : notre chiffrage du plan logement.",
            now - dt.timedelta(hours=1.5),
        ),
    )
    made = 0
    for story, decision, note, at in decisions:
        if story is None:
            continue
        triage_service.decide(story=story, user=by, decision=decision, note=note, now=at)
        made += 1
    return made


def syntheses(*, by: User, now: dt.datetime) -> int:
    """Yesterday's synthesis (of the day before), edited and published by HQ in the morning, and
    this morning's draft (of yesterday), still to edit."""
    if Synthesis.objects.exists():
        return 0
    today = timezone.localdate(now)
    published = synthesis.make_draft(day=today - dt.timedelta(days=2))
    synthesis.edit(synthesis_id=published.pk, by=by, intro=PUBLISHED_INTRO, notes=PUBLISHED_NOTES)
    synthesis.publish(synthesis_id=published.pk, by=by)
    Synthesis.objects.filter(pk=published.pk).update(
        created_at=story_day(now, 1, 7),
        updated_at=story_day(now, 1, 8.25),
        published_at=story_day(now, 1, 8.5),
    )
    draft = synthesis.make_draft(day=today - dt.timedelta(days=1))
    # Made by the morning job, whatever the hour of the run (not later than the run).
    made_at = min(story_day(now, 0, 7), now)
    Synthesis.objects.filter(pk=draft.pk).update(created_at=made_at, updated_at=made_at)
    return 2
