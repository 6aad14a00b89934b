"""The daily synthesis: each morning a draft made from yesterday's stories (the top ones by
distinct sources, new and growing ones, what tracers found first, the watchlists' spikes, the
missions opened from stories and their results, the volume per watchlist), each story with a
few sentences from its earliest original source, never from a reprint. Writers edit the intro
and notes and publish it; the published synthesis is mailed once to each person who asked for it."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import smtplib
from functools import partial
from typing import Any

import nh3
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from essaim.accounts.models import User
from essaim.accounts.services import audit
from essaim.army.models import Claim
from essaim.watch import rules
from essaim.watch.models import (
    Alert,
    Item,
    Story,
    StoryMission,
    Submission,
    Synthesis,
    SynthesisDelivery,
    SynthesisSubscription,
    WatchlistMatch,
)
from essaim.watch.services.submissions import lead_minutes, with_feed_first

logger = logging.getLogger(__name__)

# The task calls back into this module: enqueued by its dotted name (tasks import services).
MAIL_TASK = "essaim.watch.tasks.mail_synthesis"
TOP_STORIES = 10
LISTED = 10
SENTENCES = 3
SENTENCE_CHARS = 400
# A sentence ends at . ! ? or … followed by space and a capital, a quote or a digit.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[«\"A-ZÀ-ÖØ-Þ0-9])")


class AlreadyPublished(Exception):
    """A published synthesis is archived as it went out: it is not edited again."""


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, start + dt.timedelta(days=1)


def plain_text(text: str) -> str:
    """The web's text with every tag dropped and entities read, spaces folded."""
    cleaned = html.unescape(nh3.clean(text or "", tags=set()))
    return " ".join(cleaned.split())


def sentences(text: str, limit: int = SENTENCES) -> list[str]:
    """The first `limit` sentences of `text` (plain, each capped in length)."""
    parts = [p.strip() for p in _SENTENCE_END.split(plain_text(text)) if p.strip()]
    return [p if len(p) <= SENTENCE_CHARS else p[: SENTENCE_CHARS - 1] + "…" for p in parts[:limit]]


def earliest_original(story_id: int) -> Item | None:
    return (
        Item.objects.filter(story_id=story_id, is_reprint=False)
        .select_related("source")
        .order_by("seen_at", "pk")
        .first()
    )


def _story_entry(story: Story, echoes_today: int) -> dict[str, Any]:
    original = earliest_original(story.pk)
    return {
        "id": story.pk,
        "title": story.title,
        "sources": story.sources_count,
        "echoes": story.items_count,
        "echoes_today": echoes_today,
        "originals": story.originals_count,
        "first_seen": story.first_seen.isoformat(),
        "first_source": (story.first_source.title or story.first_source.url)
        if story.first_source
        else "",
        "excerpt": sentences(original.summary or original.title) if original else [],
        "excerpt_source": (original.source.title or original.source.url) if original else "",
        "excerpt_url": original.url if original else "",
    }


def _tracers_first(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Stories that a tracer's report of the day brought before any feed fetched them (or that no
    feed has), with how many minutes ahead: the rule of the tracer's own record
    (essaim.watch.services.submissions.lead_minutes)."""
    rows = (
        with_feed_first(
            Submission.objects.filter(
                created_at__gte=start, created_at__lt=end, item__story__isnull=False
            )
        )
        # The annotation's name, which the plugin misses.
        .filter(Q(feed_first_at__isnull=True) | Q(feed_first_at__gt=F("created_at")))  # type: ignore[misc]
        .order_by("created_at", "pk")
        .values_list("item__story_id", "item__story__title", "created_at", "feed_first_at")
    )
    found: dict[int, dict[str, Any]] = {}
    for story_id, title, at, feed_first_at in rows:
        if story_id not in found and len(found) < LISTED:
            found[story_id] = {
                "id": story_id,
                "title": title,
                "ahead_minutes": lead_minutes(at, feed_first_at),
            }
    return list(found.values())


def _spikes(start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """The day's spike alerts (essaim.watch.services.spikes), each with its counts and the
    stories it named."""
    spikes = Alert.objects.filter(
        kind=Alert.Kind.SPIKE, created_at__gte=start, created_at__lt=end
    ).order_by("created_at", "pk")[:LISTED]
    out = []
    for alert in spikes:
        counts = alert.explanation.get("counts") or {}
        out.append(
            {
                "watchlist": alert.title,
                "at": alert.created_at.isoformat(),
                "sources": counts.get("sources", 0),
                "baseline": max(counts.get("baseline_weeks", 0), counts.get("baseline_hours", 0)),
                "stories": [
                    {"id": story["id"], "title": story["title"]}
                    for story in alert.explanation.get("stories", [])
                ],
            }
        )
    return out


def build_body(day: dt.date) -> dict[str, Any]:
    """The draft's figures and excerpts for `day`, as JSON."""
    start, end = day_bounds(day)
    today = (
        Item.objects.filter(seen_at__gte=start, seen_at__lt=end, story__isnull=False)
        .values("story_id")
        .annotate(n=Count("pk"))
    )
    echoes = {row["story_id"]: row["n"] for row in today}
    stories = Story.objects.filter(pk__in=list(echoes)).select_related("first_source")
    top = sorted(stories, key=lambda s: (-s.sources_count, -echoes[s.pk], s.pk))[:TOP_STORIES]
    new = [s for s in top if start <= s.first_seen < end]
    growing = [s for s in top if s.first_seen < start]
    volume = list(
        WatchlistMatch.objects.filter(item__seen_at__gte=start, item__seen_at__lt=end)
        .values("watchlist__name")
        .annotate(items=Count("item"), stories=Count("item__story", distinct=True))
        .order_by("-items", "watchlist__name")
    )
    opened = (
        StoryMission.objects.filter(created_at__lt=end)
        .filter(Q(created_at__gte=start) | Q(mission__claims__reviewed_at__gte=start))
        .select_related("mission", "story")
        .annotate(
            accepted=Count(
                "mission__claims",
                filter=Q(mission__claims__status=Claim.Status.ACCEPTED),
                distinct=True,
            )
        )
        .distinct()
        .order_by("created_at", "pk")[:LISTED]
    )
    return {
        "date": day.isoformat(),
        "stories": [_story_entry(s, echoes[s.pk]) for s in top],
        "new": [s.pk for s in new],
        "growing": [s.pk for s in growing],
        "tracers_first": _tracers_first(start, end),
        "spikes": _spikes(start, end),
        "missions": [
            {
                "id": row.mission_id,
                "title": row.mission.title,
                "status": row.mission.status,
                "story": row.story_id,
                "story_title": row.story.title,
                "accepted": row.accepted,  # type: ignore[attr-defined]
            }
            for row in opened
        ],
        "watchlists": [
            {"name": v["watchlist__name"], "items": v["items"], "stories": v["stories"]}
            for v in volume
        ],
        "totals": {"stories": len(echoes), "echoes": sum(echoes.values())},
    }


def make_draft(*, day: dt.date | None = None) -> Synthesis:
    """Yesterday's draft (or `day`'s), made or remade: a draft's figures are recomputed, its
    intro and notes kept; a published synthesis is left as it went out."""
    day = day or (timezone.localdate() - dt.timedelta(days=1))
    body = build_body(day)
    with transaction.atomic():
        synthesis, created = Synthesis.objects.select_for_update().get_or_create(
            date=day, defaults={"body": body}
        )
        if not created and synthesis.state == Synthesis.State.DRAFT:
            synthesis.body = body
            synthesis.updated_at = timezone.now()
            synthesis.save(update_fields=["body", "updated_at"])
    return synthesis


def edit(*, synthesis_id: int, by: User, intro: str, notes: str, request: Any = None) -> Synthesis:
    with transaction.atomic():
        synthesis = Synthesis.objects.select_for_update().get(pk=synthesis_id)
        if synthesis.state != Synthesis.State.DRAFT:
            raise AlreadyPublished
        synthesis.intro, synthesis.notes = intro, notes
        synthesis.edited_by, synthesis.updated_at = by, timezone.now()
        synthesis.save(update_fields=["intro", "notes", "edited_by", "updated_at"])
        audit(action="watch.synthesis_edited", actor=by, request=request, obj=synthesis)
    return synthesis


def publish(*, synthesis_id: int, by: User, request: Any = None) -> Synthesis:
    """Publish a draft; its mailing is enqueued after the commit."""
    task = import_string(MAIL_TASK)
    with transaction.atomic():
        synthesis = Synthesis.objects.select_for_update().get(pk=synthesis_id)
        if synthesis.state != Synthesis.State.DRAFT:
            raise AlreadyPublished
        synthesis.state = Synthesis.State.PUBLISHED
        synthesis.published_at = timezone.now()
        synthesis.edited_by = by
        synthesis.save(update_fields=["state", "published_at", "edited_by"])
        audit(action="watch.synthesis_published", actor=by, request=request, obj=synthesis)
        transaction.on_commit(partial(task.enqueue, synthesis.pk))
    return synthesis


def set_subscription(*, user: User, subscribed: bool) -> None:
    if subscribed:
        SynthesisSubscription.objects.get_or_create(user=user)
    else:
        SynthesisSubscription.objects.filter(user=user).delete()


def mail_synthesis(*, synthesis_id: int) -> int:
    """Mail a published synthesis to each subscriber not yet sent it; returns how many went.
    Each delivery row is written in the transaction that decides to send, and the mail leaves
    after the commit: a crash loses a mail, never sends one twice."""
    synthesis = Synthesis.objects.get(pk=synthesis_id)
    if synthesis.state != Synthesis.State.PUBLISHED:
        return 0
    waiting = (
        SynthesisSubscription.objects.filter(user__is_active=True)
        .exclude(user__in=SynthesisDelivery.objects.filter(synthesis=synthesis).values("user"))
        .select_related("user")
        .order_by("user_id")
    )
    sent = 0
    for subscription in waiting.iterator(chunk_size=500):
        # The synthesis pages' own rule, asked now: someone who asked for the mail as a
        # coordinator or a writer and has lost that role since gets nothing.
        if not rules.can_read_syntheses(subscription.user):
            continue
        try:
            with transaction.atomic():
                SynthesisDelivery.objects.create(synthesis=synthesis, user=subscription.user)
                message = _message(synthesis, subscription.user)
                transaction.on_commit(lambda m=message: _send_quietly(m))  # type: ignore[misc]
        except IntegrityError:
            continue  # another worker sent it
        sent += 1
    return sent


def _send_quietly(message: EmailMultiAlternatives) -> None:
    # A bad address (ValueError) fails its own mail only: the next subscribers still get theirs.
    try:
        message.send()
    except (ValueError, OSError, smtplib.SMTPException):
        logger.warning("synthesis to %s failed", message.to, exc_info=True)


def _message(synthesis: Synthesis, user: User) -> EmailMultiAlternatives:
    with translation.override("fr"):
        context = {
            "synthesis": synthesis,
            "body": synthesis.body,
            "url": settings.SITE_URL + reverse("watch:synthesis_detail", args=[synthesis.pk]),
        }
        subject = _("Synthèse de la veille du %(date)s") % {
            "date": synthesis.date.strftime("%d/%m/%Y")
        }
        text = render_to_string("watch/synthesis_mail.txt", context)
        page = render_to_string("watch/synthesis_mail.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [user.email])
    message.attach_alternative(page, "text/html")
    return message
