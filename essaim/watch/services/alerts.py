"""The watch's alerts: a story marked urgent in the triage raises one alert (never two: a unique
constraint on the story), told to HQ in the app, and by email, through a task after the commit,
to those who chose it and may still see the alerts (essaim.watch.models.AlertEmail keeps who
was sent what). Each alert carries its explanation: the stories, their first sources, the terms
the watchlists found, and the counts.

Notification kinds (essaim.accounts.services.notifications): `watch_alert`, an alert for HQ, and
`watch_triage_given`, a story given to someone to triage.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections import Counter
from collections.abc import Collection, Mapping
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import Role, User
from essaim.accounts.services import notifications
from essaim.accounts.services.notifications import Target
from essaim.watch import rules
from essaim.watch.models import Alert, AlertEmail, AlertPreference, Item, Story, WatchlistMatch

logger = logging.getLogger(__name__)

ALERT = "watch_alert"
TRIAGE_ASSIGNED = "watch_triage_given"  # Notification.kind holds 20 characters
# The task calls back into this module: enqueued by its dotted name (tasks import services).
MAIL_TASK = "essaim.watch.tasks.mail_alert"
# How long the task enqueued at the commit has before the periodic job sends its mails instead.
PENDING_GRACE = dt.timedelta(minutes=5)
# Terms kept in an explanation.
TOP_TERMS = 10


def _alerts(ids: Collection[int]) -> Mapping[int, Target]:
    rows = Alert.objects.filter(pk__in=list(ids)).values_list("pk", "title")
    return {pk: Target(title, reverse("watch:alert_detail", args=[pk])) for pk, title in rows}


def _stories(ids: Collection[int]) -> Mapping[int, Target]:
    rows = Story.objects.filter(pk__in=list(ids)).values_list("pk", "title")
    return {
        pk: Target(title or str(pk), reverse("watch:triage_story", args=[pk])) for pk, title in rows
    }


def register_kinds() -> None:
    """From WatchConfig.ready."""
    notifications.register_kind(
        ALERT, sentence=_("Alerte de veille : %(subject)s"), resolve=_alerts
    )
    notifications.register_kind(
        TRIAGE_ASSIGNED, sentence=_("Sujet à trier pour vous : %(subject)s"), resolve=_stories
    )


def hq_recipients() -> list[int]:
    return list(
        User.objects.filter(is_active=True, role__in=[Role.HQ_ADMIN, Role.HQ_STAFF]).values_list(
            "pk", flat=True
        )
    )


def explain_stories(story_ids: list[int]) -> dict[str, Any]:
    """The stories, their first sources and the terms the watchlists found in their items."""
    stories = Story.objects.filter(pk__in=story_ids).select_related("first_source")
    terms: Counter[str] = Counter()
    watchlists: set[str] = set()
    for found, name in WatchlistMatch.objects.filter(item__story_id__in=story_ids).values_list(
        "terms", "watchlist__name"
    )[:5000]:
        watchlists.add(name)
        for term in found or []:
            terms[str(term)] += 1
    return {
        "stories": [
            {
                "id": story.pk,
                "title": story.title,
                "first_source": (
                    (story.first_source.title or story.first_source.url)
                    if story.first_source
                    else ""
                ),
                "first_seen": story.first_seen.isoformat(),
                "sources": story.sources_count,
                "echoes": story.items_count,
            }
            for story in stories
        ],
        "first_sources": sorted(
            {
                url
                for url in Item.objects.filter(
                    story_id__in=story_ids, pk__in=stories.values("first_item")
                ).values_list("url", flat=True)
                if url
            }
        ),
        "top_terms": [term for term, _n in terms.most_common(TOP_TERMS)],
        "watchlists": sorted(watchlists),
    }


def raise_urgent(
    *, story: Story, user: Any, note: str = "", now: dt.datetime | None = None
) -> Alert | None:
    """The story's urgent alert, made once; None when it exists already (a second "urgent" on
    the same story tells nobody again)."""
    now = now or timezone.now()
    explanation = explain_stories([story.pk])
    explanation["note"] = note
    explanation["decided_by"] = getattr(user, "pk", None)
    try:
        # A savepoint: the unique constraint refusing a second alert must not spoil the
        # caller's transaction.
        with transaction.atomic():
            alert = Alert.objects.create(
                kind=Alert.Kind.URGENT,
                story=story,
                title=(story.title or str(story.pk))[:500],
                explanation=explanation,
                created_at=now,
            )
    except IntegrityError:
        return None
    deliver(alert, actor_id=getattr(user, "pk", None))
    return alert


def recipients(kind: str) -> tuple[list[int], list[int]]:
    """Who is told of an alert of this kind: (in the app, by email), as ids. A person's
    AlertPreference decides; HQ without one gets it in the app. A preference counts only while
    its person may still see the alerts (a veilleur who left the role, a former coordinator
    keep their row but get nothing)."""
    chosen = AlertPreference.objects.filter(user__is_active=True, **{kind: True}).select_related(
        "user"
    )
    # The alerts page's own rule, asked of each person: those who chose alerts are a handful.
    allowed = [pref for pref in chosen if rules.can_see_triage(pref.user)]
    in_app = {pref.user_id for pref in allowed if pref.in_app}
    email = {pref.user_id for pref in allowed if pref.email}
    with_row = set(AlertPreference.objects.values_list("user_id", flat=True))
    in_app.update(pk for pk in hq_recipients() if pk not in with_row)
    return sorted(in_app), sorted(email)


def deliver(alert: Alert, *, actor_id: int | None = None) -> int:
    """Tell those who chose it: in the app now; by email through a task enqueued once the
    transaction commits (a row per person, written here, says what is to be sent). The actor
    is told in the app of nothing they did, but a mail is still sent (it may be how the alert
    reaches others reading that box)."""
    from essaim.watch.services import webhooks

    webhooks.queue(alert)
    in_app, email = recipients(alert.kind)
    told = notifications.notify(
        kind=ALERT, object_id=alert.pk, recipients=in_app, actor_id=actor_id
    )
    if email:
        AlertEmail.objects.bulk_create(
            [AlertEmail(alert=alert, user_id=pk) for pk in email], ignore_conflicts=True
        )
        transaction.on_commit(partial(import_string(MAIL_TASK).enqueue, alert.pk))
    return told


def mail_alert(*, alert_id: int) -> int:
    """Send the alert's waiting mails, over one connection; returns how many went.

    Each row is claimed before its message leaves and marked after (essaim.watch.models.
    AlertEmail): a task run again sends nothing twice. Whether the person may still see the
    alerts is asked again now: someone who lost the role since the alert gets nothing. A bad
    address or a refusal fails that mail alone, noted on its row; the others still go. When
    the server cannot be reached, the rows not yet tried stay pending for the next run (the
    periodic `send_pending_watch_alert_mails`)."""
    alert = Alert.objects.filter(pk=alert_id).first()
    if alert is None:
        return 0
    waiting = list(
        AlertEmail.objects.filter(alert=alert, status=AlertEmail.Status.PENDING)
        .select_related("user")
        .order_by("user_id")
    )
    mailer = mailers.default
    sent = 0
    try:
        for row in waiting:
            if not _claim(row):
                continue  # another run has it
            user = row.user
            if not rules.can_see_triage(user):
                _mark(row, AlertEmail.Status.WITHHELD)
                continue
            try:
                mailer.open()  # once: it stays open for the next ones
            except OSError:
                logger.warning("watch alert %s: the mail server is unreachable", alert.pk)
                AlertEmail.objects.filter(pk=row.pk).update(status=AlertEmail.Status.PENDING)
                break
            try:
                mailer.send_messages([_alert_message(alert, user.email)])
            except (ValueError, OSError) as exc:  # smtplib.SMTPException is an OSError
                logger.warning("watch alert mail to user %s failed: %s", user.pk, exc)
                _mark(row, AlertEmail.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
                if not isinstance(exc, (ValueError, smtplib.SMTPRecipientsRefused)):
                    # The connection may be broken: the next mail opens a new one.
                    _close_quietly(mailer)
                continue
            _mark(row, AlertEmail.Status.SENT)
            sent += 1
    finally:
        _close_quietly(mailer)
    return sent


def mail_pending(now: dt.datetime | None = None) -> int:
    """Send the alert mails still pending a while after their alert (the server was down, the
    task's message was lost); returns how many went. The rows' claims keep this from sending
    a mail the task is sending at the same moment."""
    now = now or timezone.now()
    alert_ids = list(
        AlertEmail.objects.filter(
            status=AlertEmail.Status.PENDING, created_at__lt=now - PENDING_GRACE
        )
        .values_list("alert_id", flat=True)
        .distinct()
        .order_by("alert_id")[:100]
    )
    sent = 0
    for pk in alert_ids:
        sent += mail_alert(alert_id=pk)
        if AlertEmail.objects.filter(alert_id=pk, status=AlertEmail.Status.PENDING).exists():
            break  # the server is still unreachable: the next run tries again
    return sent


def _claim(row: AlertEmail) -> bool:
    return bool(
        AlertEmail.objects.filter(pk=row.pk, status=AlertEmail.Status.PENDING).update(
            status=AlertEmail.Status.SENDING
        )
    )


def _mark(row: AlertEmail, status: str, *, error: str = "") -> None:
    AlertEmail.objects.filter(pk=row.pk).update(
        status=status,
        error=error[:300],
        sent_at=timezone.now() if status == AlertEmail.Status.SENT else None,
    )


def _close_quietly(mailer: Any) -> None:
    try:
        mailer.close()
    except OSError:
        logger.info("closing the mail connection failed", exc_info=True)


def _alert_message(alert: Alert, address: str) -> EmailMultiAlternatives:
    with translation.override("fr"):
        url = settings.SITE_URL + reverse("watch:alert_detail", args=[alert.pk])
        subject = gettext("Essaim : alerte de veille, %(title)s") % {"title": alert.title[:150]}
        text = render_to_string(
            "watch/alert_mail.txt", {"alert": alert, "x": alert.explanation, "url": url}
        )
    # One message per person: nobody sees who else receives the alerts.
    return EmailMultiAlternatives(
        subject, text, to=[address], headers={"Auto-Submitted": "auto-generated"}
    )


def tell_assigned(*, story: Story, user: Any, assignee: Any) -> None:
    notifications.notify(
        kind=TRIAGE_ASSIGNED,
        object_id=story.pk,
        recipients=[assignee.pk],
        actor_id=getattr(user, "pk", None),
    )
