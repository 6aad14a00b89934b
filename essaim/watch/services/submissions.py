"""The tracers' submissions (the watch's human sensors): a link reported in seconds, answered at
once (new, or already in the watch and which echo of it this is), then read like any page of
the watch, reviewed, and counted in the tracer's record.

How a submission enters the stream: each page that tracers report is one `Item` of the
installation's tracers' source (`Source.Kind.TRACER`, made on first use), whatever the number
of tracers who report it. Items keep one table, so everything downstream (stories, search,
watchlists) reads the tracers' finds as it reads the feeds'; the page is fetched once, through
the guarded fetcher, by a task (`essaim.watch.tasks.fetch_submission`), and kept as evidence.
A page the feeds already brought is not fetched again: its item takes the feed item's title and
summary. Reports of one page are counted one after the other (the page's item is locked while
a report is added), so the echo numbers are exact.

Stories (essaim.watch.services.stories): the page's item is placed in a story once its text is
known (copied from a feed, or read), or once reading it failed (the address alone still joins
it to the feeds' items of the same page); read later after all, it is placed again. The answer
names the story when the page already has one, and counts the reports of the whole story; a
page first reported by a tracer that turns out to belong to a story the watch already had
becomes "merged" once placed.

What a tracer may not learn: who else reported a page. The answer says only how many did.
"""

from __future__ import annotations

import hashlib
import logging
import re
import statistics
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from essaim.accounts.services import audit
from essaim.army.services.proofs import ProofError, clean_screenshot
from essaim.lib import ratelimit
from essaim.lib.fetcher import FetchError, FetchPolicy, fetch_sync
from essaim.watch.models import Evidence, Item, Source, Story, Submission, format_time_code
from essaim.watch.services import notices, stories
from essaim.watch.services.discovery import read_page
from essaim.watch.services.evidence import make_warc
from essaim.watch.services.feeds import content_hash, text_only
from essaim.watch.services.health import error_words
from essaim.watch.services.urls import InvalidURL, clean_url, url_key

if TYPE_CHECKING:
    from essaim.accounts.models import User
    from essaim.army.models import Volunteer

log = logging.getLogger("essaim.watch.submissions")

# The tracers' source is one row, found by this key (no URL is ever this).
TRACER_SOURCE_KEY = "essaim:tracers"
NOTE_MAX = 2000
REASON_MAX = 1000
SUMMARY_MAX = 600
MAX_TIME_CODE = 99 * 3600 + 59 * 60 + 59
RATE_SCOPE = "watch-submissions"
# The task fetches the page and calls back into this module: it is named by its path.
FETCH_TASK = "essaim.watch.tasks.fetch_submission"
_TIME_CODE = re.compile(r"(?:(\d{1,2}):)?(\d{1,2}):(\d{1,2})")
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")


class SubmissionRefused(Exception):
    """Nothing was stored. `code` is stable (bad_url, bad_time_code, note_too_long,
    bad_urgency, bad_screenshot, flood, not_open, reason_required), `message` for the person,
    `field` the form field it is about ("" for the whole form)."""

    def __init__(self, code: str, message: str, *, field: str = "", retry_after: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after


@dataclass(frozen=True)
class Submitted:
    submission: Submission
    created: bool  # False: this tracer had already submitted this page
    known: bool  # the watch had the page before this submission
    echo: int  # this report's rank among the reports of the page
    title: str  # what the watch calls the page (its title, else its address)

    @property
    def answer(self) -> str:
        """The sentence the tracer reads at once."""
        if not self.created:
            return _(
                "Vous aviez déjà signalé ce lien : « %(title)s » (écho n°%(echo)s). Rien n'a "
                "été ajouté."
            ) % {"title": self.title, "echo": self.echo}
        if self.known:
            return _("Déjà dans la veille : « %(title)s », vous êtes l'écho n°%(echo)s.") % {
                "title": self.title,
                "echo": self.echo,
            }
        return _("Nouveau : la veille n'avait pas encore ce lien. Merci !")


@dataclass(frozen=True)
class Record:
    """A tracer's record: their submissions' fates, and how far ahead of the feeds they were."""

    total: int
    accepted: int
    rejected: int
    found_first: int  # pages the feeds brought only after the tracer reported them
    ahead_minutes: int | None  # the median lead of those, in minutes

    @property
    def decided(self) -> int:
        return self.accepted + self.rejected

    @property
    def accepted_percent(self) -> int | None:
        """Accepted among those reviewed, in percent (None before any review)."""
        return round(100 * self.accepted / self.decided) if self.decided else None


# --- Inputs -------------------------------------------------------------------------------------


def parse_time_code(text: str) -> int | None:
    """Seconds from the start, from "hh:mm:ss" or "mm:ss" (None when empty); minutes and
    seconds under 60. SubmissionRefused otherwise."""
    text = (text or "").strip()
    if not text:
        return None
    match = _TIME_CODE.fullmatch(text)
    refused = SubmissionRefused(
        "bad_time_code",
        _("Minutage illisible : écrivez hh:mm:ss ou mm:ss (par exemple 1:02:03 ou 12:34)."),
        field="time_code",
    )
    if match is None:
        raise refused
    hours, minutes, seconds = int(match[1] or 0), int(match[2]), int(match[3])
    if minutes > 59 or seconds > 59:
        raise refused
    return hours * 3600 + minutes * 60 + seconds


def _clean_inputs(url: str, time_code: str, note: str, urgency: str) -> tuple[str, str, int | None]:
    try:
        clean = clean_url((url or "").strip())
        key = url_key(clean)
    except InvalidURL as exc:
        raise SubmissionRefused("bad_url", str(exc), field="url") from exc
    seconds = parse_time_code(time_code)
    if len(note) > NOTE_MAX:
        raise SubmissionRefused(
            "note_too_long",
            _("Note trop longue (%(n)s caractères au plus).") % {"n": NOTE_MAX},
            field="note",
        )
    if urgency not in Submission.Urgency.values:
        raise SubmissionRefused("bad_urgency", _("Urgence inconnue."), field="urgency")
    return clean, key, seconds


# --- Submitting ---------------------------------------------------------------------------------


def tracer_source() -> Source:
    """The installation's tracers' source, made on first use (never polled: see claims)."""
    source, _created = Source.objects.get_or_create(
        url_key=TRACER_SOURCE_KEY,
        defaults={
            "url": "",
            "kind": Source.Kind.TRACER,
            "title": str(Source.Kind.TRACER.label),
            "interval_seconds": settings.WATCH_MAX_INTERVAL,
        },
    )
    return source


def submit(
    *,
    volunteer: Volunteer,
    url: str,
    time_code: str = "",
    note: str = "",
    urgency: str = Submission.Urgency.NORMAL,
    screenshot: UploadedFile | None = None,
) -> Submitted:
    """Record a tracer's report of `url` and say at once whether the watch knew the page (see
    module). The same tracer submitting the same page again gets their first submission back,
    unchanged. Raises SubmissionRefused (nothing stored): bad input, or a flood (more new links
    than WATCH_SUBMISSION_RATE_LIMIT allows)."""
    note = (note or "").strip()
    clean, key, seconds = _clean_inputs(url, time_code, note, urgency)
    again = _existing(volunteer, key)
    if again is not None:
        return again
    image = None
    if screenshot is not None:
        try:
            image = clean_screenshot(screenshot)
        except ProofError as exc:
            raise SubmissionRefused("bad_screenshot", str(exc.message), field="screenshot") from exc
    decision = ratelimit.hit(RATE_SCOPE, str(volunteer.pk), settings.WATCH_SUBMISSION_RATE_LIMIT)
    if not decision.allowed:
        minutes = max(1, (decision.retry_after + 59) // 60)
        raise SubmissionRefused(
            "flood",
            ngettext(
                "Trop de signalements d'un coup : réessayez dans %(n)s minute.",
                "Trop de signalements d'un coup : réessayez dans %(n)s minutes.",
                minutes,
            )
            % {"n": minutes},
            retry_after=decision.retry_after,
        )
    source = tracer_source()
    try:
        with transaction.atomic():
            feed_item = (
                Item.objects.filter(url_key=key)
                .exclude(source=source)
                .order_by("fetched_at", "id")
                .select_related("story")
                .only("title", "summary", "content_hash", "story__title")
                .first()
            )
            item, created_item = Item.objects.get_or_create(
                source=source,
                url_key=key,
                defaults={
                    "url": clean,
                    "title": feed_item.title if feed_item else "",
                    "summary": feed_item.summary if feed_item else "",
                    "content_hash": feed_item.content_hash if feed_item else "",
                },
            )
            # The page's reports are counted one after the other: exact echo numbers.
            item = (
                Item.objects.select_related("story").select_for_update(of=("self",)).get(pk=item.pk)
            )
            # The page's story: its own item's, else the feeds' item's (the same page).
            story = item.story or (feed_item.story if feed_item is not None else None)
            echo = _reports(item, story).count() + 1
            known = not created_item or feed_item is not None
            never_read = not item.title and item.evidence_id is None
            in_flight = (
                never_read
                and Submission.objects.filter(
                    item=item, fetch_state=Submission.FetchState.PENDING
                ).exists()
            )
            submission = Submission(
                volunteer=volunteer,
                url=clean,
                url_key=key,
                time_code=seconds,
                note=note,
                urgency=urgency,
                state=Submission.State.MERGED if known else Submission.State.NEW,
                item=item,
                echo=echo,
                fetch_state=(
                    Submission.FetchState.PENDING if never_read else Submission.FetchState.KNOWN
                ),
            )
            if image is not None:
                submission.screenshot.save(image.name or "capture.png", image, save=False)
            submission.save()
            if created_item:
                Source.objects.filter(pk=source.pk).update(items_count=F("items_count") + 1)
            if never_read and not in_flight:
                task = import_string(FETCH_TASK)
                transaction.on_commit(partial(task.enqueue, submission.pk))
            # A page whose text came from a feed is placed now; one still to read, once read.
            to_place = item.ingested_at is None and not never_read
    except IntegrityError:
        # The same tracer sent the same page twice at once: the other request stored it.
        again = _existing(volunteer, key)
        if again is None:
            raise
        return again
    if to_place:
        place(item.pk)
    title = (story.title if story is not None else "") or item.title or clean
    return Submitted(submission, created=True, known=known, echo=echo, title=title)


def _reports(item: Item, story: Story | None) -> QuerySet[Submission]:
    """The tracers' reports of the page's story (of the page alone while it has none)."""
    if story is not None:
        return Submission.objects.filter(Q(item__story=story) | Q(item=item))
    return Submission.objects.filter(item=item)


def _title(item: Item, url: str) -> str:
    """What the watch calls the page: its story's title, else its own, else its address."""
    story = item.story if item.story_id is not None else None
    return (story.title if story is not None else "") or item.title or url


def place(item_id: int, *, again: bool = False) -> None:
    """Place a tracers' item in a story (`again`: take it out of the one it has and place it
    anew, its text having changed); its reports that were new become merged when the story
    had other items. A failure loses nothing: the item stays pending for the catch-up job."""
    try:
        if again:
            story_id = stories.place_again(item_id)
        else:
            story_id = stories.ingest_items([item_id]).get(item_id)
    except Exception:
        log.exception("watch: placing the tracers' item %s in a story failed", item_id)
        return
    if story_id is not None and Item.objects.filter(story_id=story_id).exclude(pk=item_id).exists():
        Submission.objects.filter(item_id=item_id, state=Submission.State.NEW).update(
            state=Submission.State.MERGED
        )


def _existing(volunteer: Volunteer, key: str) -> Submitted | None:
    found = (
        Submission.objects.select_related("item__story")
        .filter(volunteer=volunteer, url_key=key)
        .first()
    )
    if found is None:
        return None
    return Submitted(
        found,
        created=False,
        known=found.state != Submission.State.NEW or found.echo > 1,
        echo=found.echo,
        title=_title(found.item, found.url),
    )


# --- Reading the page ---------------------------------------------------------------------------


def fetch_submission(submission_id: int) -> str:
    """Read the page of a submission through the guarded fetcher: its title and summary go to
    its item, the response is kept as evidence, and every report of the page waiting for it is
    told how it went (`fetch_state`). Returns the fetch state written ("" when there was
    nothing to do)."""
    submission = Submission.objects.select_related("item").filter(pk=submission_id).first()
    if submission is None or submission.fetch_state != Submission.FetchState.PENDING:
        return ""
    item = submission.item
    policy = FetchPolicy.from_settings(max_bytes=settings.WATCH_MAX_BYTES)
    try:
        result = fetch_sync(submission.url, policy=policy)
    except FetchError as exc:
        return _failed(item, exc.code, exc.message)
    if not result.ok:
        code = f"http_{result.status}"
        return _failed(item, code, error_words(code))
    now = timezone.now()
    content_type = result.headers.get("content-type", "")
    title, summary = "", ""
    if result.content_type in _HTML_TYPES:
        page = read_page(result.body, url=result.final_url, content_type=content_type)
        title = page.title
        summary = text_only(page.description or page.text, SUMMARY_MAX)
    warc = make_warc(
        url=result.final_url,
        status=result.status,
        headers=result.headers,
        body=result.body,
        fetched_at=now,
    )
    with transaction.atomic():
        evidence = Evidence.objects.create(
            source_id=item.source_id,
            url=result.final_url[:2000],
            fetched_at=now,
            http_status=result.status,
            content_type=content_type[:200],
            size=len(result.body),
            sha256=hashlib.sha256(result.body).hexdigest(),
            warc=warc,
        )
        Item.objects.filter(pk=item.pk).update(
            title=title,
            summary=summary,
            content_hash=content_hash(title, summary),
            evidence=evidence,
        )
        Submission.objects.filter(item=item, fetch_state=Submission.FetchState.PENDING).update(
            fetch_state=Submission.FetchState.DONE, fetch_error="", fetch_message=""
        )
    # A page placed before it could be read (an earlier fetch failed) was placed untitled, by
    # its address alone: now that its text is known it goes through the layers again.
    place(item.pk, again=item.ingested_at is not None)
    return Submission.FetchState.DONE


def _failed(item: Item, code: str, message: str) -> str:
    """The page could not be read: its reports stay, each saying why (nothing is lost)."""
    Submission.objects.filter(item=item, fetch_state=Submission.FetchState.PENDING).update(
        fetch_state=Submission.FetchState.FAILED,
        fetch_error=code[:40],
        fetch_message=(message or error_words(code))[:300],
    )
    # Its address alone still joins it to the feeds' items of the same page, now or later.
    place(item.pk)
    return Submission.FetchState.FAILED


# --- Review -------------------------------------------------------------------------------------


def review(*, submission: Submission, by: User, accept: bool, reason: str = "") -> Submission:
    """Accept or reject an open submission (a rejection says why, for the tracer), audited; the
    tracer is told. The caller checked that `by` may review it (essaim.watch.rules).
    SubmissionRefused when it was decided already or a rejection has no reason."""
    reason = (reason or "").strip()
    if not accept and not reason:
        raise SubmissionRefused(
            "reason_required",
            _("Dites au traceur pourquoi ce signalement est écarté."),
            field="reason",
        )
    if len(reason) > REASON_MAX:
        raise SubmissionRefused(
            "reason_too_long",
            _("Raison trop longue (%(n)s caractères au plus).") % {"n": REASON_MAX},
            field="reason",
        )
    state = Submission.State.ACCEPTED if accept else Submission.State.REJECTED
    now = timezone.now()
    with transaction.atomic():
        moved = Submission.objects.filter(
            pk=submission.pk, state__in=(Submission.State.NEW, Submission.State.MERGED)
        ).update(
            state=state,
            reason="" if accept else reason,
            reviewed_by=by,
            reviewed_at=now,
        )
        if not moved:
            raise SubmissionRefused("not_open", _("Ce signalement a déjà été examiné."))
        if accept:
            audit(
                action="watch.submission_accepted",
                actor=by,
                object_type="watch.submission",
                object_id=submission.pk,
            )
        else:
            audit(
                action="watch.submission_rejected",
                actor=by,
                object_type="watch.submission",
                object_id=submission.pk,
                reason=reason,
            )
        notices.submission_reviewed(submission=submission, accepted=accept, actor_id=by.pk)
    submission.state, submission.reviewed_by, submission.reviewed_at = state, by, now
    submission.reason = "" if accept else reason
    return submission


# --- The record ---------------------------------------------------------------------------------


def with_feed_first(submissions: QuerySet[Submission]) -> QuerySet[Submission]:
    """The submissions with `feed_first_at`: when a feed first brought the same page, or an
    item of the same story (None while none has), in the same query."""
    first = (
        Item.objects.filter(Q(url_key=OuterRef("url_key")) | Q(story_id=OuterRef("item__story_id")))
        .exclude(source__kind=Source.Kind.TRACER)
        .order_by("fetched_at")
        .values("fetched_at")[:1]
    )
    return submissions.annotate(feed_first_at=Subquery(first))


def lead_minutes(submitted_at: datetime, feed_first_at: datetime | None) -> int | None:
    """Minutes the tracer was ahead of the feeds (None: no feed has it, or a feed had it
    first)."""
    if feed_first_at is None or feed_first_at <= submitted_at:
        return None
    return int((feed_first_at - submitted_at).total_seconds() // 60)


def record(volunteer: Volunteer | Any) -> Record:
    """The tracer's record, in one query over their submissions."""
    rows = with_feed_first(Submission.objects.filter(volunteer=volunteer)).values_list(
        "state",
        "created_at",
        "feed_first_at",  # type: ignore[misc]  # the annotation's, which the plugin misses
    )
    accepted = rejected = 0
    leads: list[int] = []
    total = 0
    for state, created_at, feed_first_at in rows.iterator(chunk_size=2000):
        total += 1
        accepted += state == Submission.State.ACCEPTED
        rejected += state == Submission.State.REJECTED
        lead = lead_minutes(created_at, feed_first_at)
        if lead is not None:
            leads.append(lead)
    return Record(
        total=total,
        accepted=accepted,
        rejected=rejected,
        found_first=len(leads),
        ahead_minutes=int(statistics.median(leads)) if leads else None,
    )


def describe_time_code(seconds: int | None) -> str:
    return "" if seconds is None else format_time_code(seconds)
