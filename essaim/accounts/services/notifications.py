"""In-app notifications: who is told what, read and unread, the menu's counts and the digest.

The apps tell people about an event in their own service, inside its transaction: `notify` for
a handful of people (a team's coordinators, HQ), `notify_selected` for a set chosen by a query
(a mission offered to thousands of volunteers: one INSERT … SELECT). Accounts knows no pillar:
each app registers the kinds it produces (`register_kind`, from its AppConfig.ready) with the
sentence a notification reads as and a function that finds, for many ids at once, what each is
about and where it leads. When the thing is dealt with (a request decided, a proof reviewed),
`settle` marks everyone's notification of it read, so that a count in the menu is work left.

The digest (`send_digests`, an hourly job of essaim/schedule.py) mails each person who wants one
their unread notifications not yet mailed, at the interval they chose (`NotificationSettings`).
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, models, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, ngettext

from essaim.accounts.models import Notification, NotificationSettings, User

logger = logging.getLogger(__name__)

# --- The kinds, registered by the apps that produce them ------------------------------------------


@dataclass(frozen=True)
class Target:
    """What a notification is about, as its reader sees it: a name and the page it leads to."""

    subject: str
    url: str


# ids of one kind's objects → the targets of those that still exist (one query for them all).
Resolver = Callable[[Collection[int]], Mapping[int, Target]]


@dataclass(frozen=True)
class Kind:
    key: str
    # Reads with the target's name: "Nouvelle mission : %(subject)s".
    sentence: str | Promise
    resolve: Resolver


_kinds: dict[str, Kind] = {}


def register_kind(key: str, *, sentence: str | Promise, resolve: Resolver) -> None:
    """Declare a kind of notification (from an AppConfig.ready); the same key twice replaces
    it. `sentence` has a `%(subject)s` slot; `resolve(ids)` answers for the ids still there."""
    _kinds[key] = Kind(key=key, sentence=sentence, resolve=resolve)


@dataclass(frozen=True)
class Entry:
    """A notification as a page or a mail shows it; `url` is empty when its thing is gone."""

    notification: Notification
    text: str
    url: str

    @property
    def unread(self) -> bool:
        return self.notification.read_at is None


def entries(notifications: Iterable[Notification]) -> list[Entry]:
    """The notifications with their sentences and links, in the order given: one query per kind
    present, whatever their number."""
    rows = list(notifications)
    ids: dict[str, set[int]] = {}
    for row in rows:
        ids.setdefault(row.kind, set()).add(row.object_id)
    targets = {
        key: (_kinds[key].resolve(wanted) if key in _kinds else {}) for key, wanted in ids.items()
    }
    out = []
    for row in rows:
        kind = _kinds.get(row.kind)
        target = targets[row.kind].get(row.object_id)
        subject = target.subject if target else gettext("élément supprimé")
        sentence = str(kind.sentence) if kind else "%(subject)s"
        out.append(Entry(row, sentence % {"subject": subject}, target.url if target else ""))
    return out


# --- Telling people -------------------------------------------------------------------------------


def notify(
    *,
    kind: str,
    object_id: int,
    recipients: Iterable[int],
    actor_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Tell these users (ids) about `object_id`, never the actor (nobody is told of their own
    act). Someone already told about the same thing is told again: their row is renewed (unread,
    not yet mailed, dated now). One statement; returns how many were told."""
    at = at or timezone.now()
    ids = sorted({int(pk) for pk in recipients} - {actor_id})
    Notification.objects.bulk_create(
        [
            Notification(recipient_id=pk, kind=kind, object_id=object_id, created_at=at)
            for pk in ids
        ],
        update_conflicts=True,
        unique_fields=["kind", "object_id", "recipient"],
        update_fields=["created_at", "read_at", "emailed_at"],
    )
    return len(ids)


def notify_selected(
    *, kind: str, object_id: int, recipients: QuerySet[Any], at: datetime | None = None
) -> int:
    """Tell everyone `recipients` selects (a queryset whose primary keys are user ids, filtered,
    ordered and sliced as the caller wants) in one INSERT … SELECT, whatever their number.
    Someone already told is left as they are (a second dispatch is a no-op). Returns the rows
    written."""
    at = at or timezone.now()
    select = recipients.annotate(
        _kind=Value(kind, output_field=models.CharField()),
        _object=Value(object_id, output_field=models.BigIntegerField()),
        _at=Value(at, output_field=models.DateTimeField()),
    ).values_list("pk", "_kind", "_object", "_at")
    sql, params = select.query.sql_with_params()
    table = connection.ops.quote_name(Notification._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        # SQLite needs the SELECT wrapped for ON CONFLICT not to read as a join clause.
        cursor.execute(
            f"INSERT INTO {table} (recipient_id, kind, object_id, created_at) "  # noqa: S608
            f"SELECT * FROM ({sql}) AS chosen WHERE 1 = 1 ON CONFLICT DO NOTHING",
            params,
        )
        return max(cursor.rowcount, 0)


def settle(*, kinds: Iterable[str], object_id: int, at: datetime | None = None) -> int:
    """The thing was dealt with (a request decided, a proof reviewed, an approval given): the
    unread notifications of it are read, for everyone. Returns how many."""
    return Notification.objects.filter(
        kind__in=list(kinds), object_id=object_id, read_at__isnull=True
    ).update(read_at=at or timezone.now())


def move(*, kinds: Iterable[str], object_id: int, to: int) -> int:
    """The thing became part of another (two stories merged into one): its notifications now
    lead to the other. Someone told of both keeps the row they had of the other. Returns how
    many rows moved."""
    kinds = list(kinds)
    told = Notification.objects.filter(
        kind=OuterRef("kind"), object_id=to, recipient_id=OuterRef("recipient_id")
    )
    rows = Notification.objects.filter(kind__in=kinds, object_id=object_id)
    rows.filter(Exists(told)).delete()
    return rows.update(object_id=to)


def backdate(
    *,
    kinds: Iterable[str],
    object_id: int,
    at: datetime,
    recipient_id: int | None = None,
    read_at: datetime | None = None,
) -> int:
    """History for the demo, which services only ever write at the present time: these
    notifications were made at `at` (and, those read, read at `read_at`)."""
    rows = Notification.objects.filter(kind__in=list(kinds), object_id=object_id)
    if recipient_id is not None:
        rows = rows.filter(recipient_id=recipient_id)
    done = rows.update(created_at=at)
    if read_at is not None:
        rows.filter(read_at__isnull=False).update(read_at=read_at)
    return done


# --- Reading them ---------------------------------------------------------------------------------

_COUNTS = "_essaim_unread_notifications"


def unread_counts(user: Any) -> dict[str, int]:
    """Unread notifications per kind: one query, kept on the user object for the rest of the
    request, so that every badge of the menu and the bell share it (Django keeps a user's
    permissions on it the same way)."""
    cached = getattr(user, _COUNTS, None)
    if cached is None:
        cached = dict(
            Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
            .values_list("kind")
            .annotate(n=Count("*"))
            .order_by()
        )
        setattr(user, _COUNTS, cached)
    return cached


def unread_count(user: Any, kinds: Collection[str] | None = None) -> int:
    """Unread notifications of these kinds (all when None)."""
    counts = unread_counts(user)
    return sum(n for kind, n in counts.items() if kinds is None or kind in kinds)


def _forget_counts(user: Any) -> None:
    if hasattr(user, _COUNTS):
        delattr(user, _COUNTS)


def of(user: Any) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=user.pk)


def mark_read(*, user: Any, notification_id: int) -> Notification:
    """Mark one of the user's notifications read; Notification.DoesNotExist when it is not
    theirs (the caller answers 404: someone else's ids reveal nothing)."""
    notification = of(user).get(pk=notification_id)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
        _forget_counts(user)
    return notification


def mark_all_read(*, user: Any) -> int:
    """Mark every unread notification of the user read; returns how many."""
    done = of(user).filter(read_at__isnull=True).update(read_at=timezone.now())
    _forget_counts(user)
    return done


def mark_read_about(*, user_id: int, kinds: Iterable[str], object_id: int) -> int:
    """The user opened or acted on the thing itself (a mission's page, taking the mission):
    their notifications of it are read."""
    return Notification.objects.filter(
        recipient_id=user_id, kind__in=list(kinds), object_id=object_id, read_at__isnull=True
    ).update(read_at=timezone.now())


# --- The email digest -----------------------------------------------------------------------------

DIGEST_EVERY: dict[str, timedelta] = {
    # A little under the day and the week: the hourly job's run drifts by minutes.
    NotificationSettings.Digest.DAILY: timedelta(hours=20),
    NotificationSettings.Digest.WEEKLY: timedelta(days=6, hours=20),
}


def digest_choice(user: Any) -> str:
    row = NotificationSettings.objects.filter(user_id=user.pk).first()
    return row.digest if row else NotificationSettings.Digest.DAILY


def set_digest(*, user: Any, digest: str) -> None:
    """The person's choice of digest: none, daily or weekly."""
    if digest not in NotificationSettings.Digest.values:
        raise ValueError(f"unknown digest {digest!r}")
    NotificationSettings.objects.update_or_create(user_id=user.pk, defaults={"digest": digest})


def _waiting(now: datetime) -> QuerySet[Notification]:
    """Notifications a digest would list now: unread, never mailed, of an active person whose
    interval is up (no settings row: daily)."""
    not_due = NotificationSettings.objects.filter(user_id=OuterRef("recipient_id")).filter(
        Q(digest=NotificationSettings.Digest.NONE)
        | Q(
            digest=NotificationSettings.Digest.DAILY,
            last_digest_at__gt=now - DIGEST_EVERY[NotificationSettings.Digest.DAILY],
        )
        | Q(
            digest=NotificationSettings.Digest.WEEKLY,
            last_digest_at__gt=now - DIGEST_EVERY[NotificationSettings.Digest.WEEKLY],
        )
    )
    return Notification.objects.filter(
        read_at__isnull=True,
        emailed_at__isnull=True,
        created_at__lte=now,
        recipient__is_active=True,
    ).exclude(Exists(not_due))


def send_digests(*, now: datetime | None = None, batch: int = 500) -> int:
    """Mail each person whose digest is due their unread notifications not yet mailed; returns
    the digests sent. Each digest marks what it lists as mailed and notes its time in one
    transaction, and the mail leaves after the commit: a crash loses a digest, never sends one
    twice, and a second run right after sends nothing. The notifications stay in the app."""
    now = now or timezone.now()
    waiting = (
        _waiting(now).values_list("recipient_id", flat=True).distinct().order_by("recipient_id")
    )
    sent, last = 0, 0
    while True:
        ids = list(waiting.filter(recipient_id__gt=last)[:batch])
        if not ids:
            break
        last = ids[-1]
        for user_id in ids:
            sent += _send_one_digest(user_id, now)
    return sent


def _send_one_digest(user_id: int, now: datetime) -> int:
    with transaction.atomic():
        # Locked, then checked again: two workers running the job at once mail it once.
        notes = list(
            _waiting(now)
            .filter(recipient_id=user_id)
            .select_for_update(of=("self",))
            .order_by("-created_at", "-pk")
        )
        if not notes:
            return 0
        Notification.objects.filter(pk__in=[n.pk for n in notes]).update(emailed_at=now)
        NotificationSettings.objects.update_or_create(
            user_id=user_id, defaults={"last_digest_at": now}
        )
        user = User.objects.get(pk=user_id)
        message = _digest_message(user, notes)
        transaction.on_commit(lambda: _send_quietly(message))
    return 1


def _send_quietly(message: EmailMultiAlternatives) -> None:
    # The notifications are already marked mailed: a failed digest is logged, not retried (no
    # message twice), and its reader still finds everything in the app.
    try:
        message.send()
    except (OSError, smtplib.SMTPException):
        logger.warning("notification digest to %s failed", message.to, exc_info=True)


def _digest_message(user: User, notes: list[Notification]) -> EmailMultiAlternatives:
    with translation.override("fr"):
        listed = entries(notes)
        context = {
            "user": user,
            "entries": listed,
            "count": len(listed),
            "site_url": settings.SITE_URL,
            "url": settings.SITE_URL + reverse("accounts:notifications"),
        }
        subject = ngettext(
            "Essaim : %(n)d notification non lue",
            "Essaim : %(n)d notifications non lues",
            len(listed),
        ) % {"n": len(listed)}
        text = render_to_string("accounts/mail/notifications_digest.txt", context)
    return EmailMultiAlternatives(
        subject, text, to=[user.email], headers={"Auto-Submitted": "auto-generated"}
    )


# --- A person's rights (GDPR) ---------------------------------------------------------------------


def access_section(*, user_ids: Collection[int]) -> list[dict[str, Any]]:
    """What the accounts hold of notifications, one entry per account: the digest chosen and
    each notification's kind, object and dates."""
    out = []
    for user in User.objects.filter(pk__in=list(user_ids)).order_by("pk"):
        out.append(
            {
                "account": user.email,
                "digest": digest_choice(user),
                "notifications": [
                    {
                        "kind": n.kind,
                        "object_id": n.object_id,
                        "created_at": n.created_at.isoformat(),
                        "read_at": n.read_at.isoformat() if n.read_at else None,
                        "emailed_at": n.emailed_at.isoformat() if n.emailed_at else None,
                    }
                    for n in of(user).order_by("created_at", "pk")
                ],
            }
        )
    return out


def erase(*, user_ids: Collection[int]) -> int:
    """Delete these accounts' notifications and digest settings; returns the notifications
    deleted."""
    ids = list(user_ids)
    NotificationSettings.objects.filter(user_id__in=ids).delete()
    deleted, _ = Notification.objects.filter(recipient_id__in=ids).delete()
    return deleted
