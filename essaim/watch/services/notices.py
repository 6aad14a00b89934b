"""The watch's notifications (essaim.accounts.services.notifications): a tracer is told when
a submission of theirs is accepted or rejected; the notification leads to their page, where the
submission says why. Registered from WatchConfig.ready."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from essaim.accounts.models import Notification
from essaim.accounts.services import notifications
from essaim.accounts.services.notifications import Target

if TYPE_CHECKING:
    from essaim.watch.models import Submission

SUBMISSION_ACCEPTED = "submission_accepted"
SUBMISSION_REJECTED = "submission_rejected"
# About a tracer's own submissions: the "Signaler" entry counts them, their page reads them.
TRACER_KINDS = (SUBMISSION_ACCEPTED, SUBMISSION_REJECTED)


def _submissions(ids: Collection[int]) -> Mapping[int, Target]:
    from essaim.watch.models import Submission

    page = reverse("watch:tracer")
    rows = Submission.objects.filter(pk__in=list(ids)).values_list("pk", "item__title", "url")
    return {pk: Target(title or url, f"{page}#signalement-{pk}") for pk, title, url in rows}


def register_kinds() -> None:
    notifications.register_kind(
        SUBMISSION_ACCEPTED, sentence=_("Signalement retenu : %(subject)s"), resolve=_submissions
    )
    notifications.register_kind(
        SUBMISSION_REJECTED, sentence=_("Signalement écarté : %(subject)s"), resolve=_submissions
    )


def submission_reviewed(*, submission: Submission, accepted: bool, actor_id: int | None) -> int:
    """The tracer is told (not if they reviewed it themselves, which the rules forbid)."""
    return notifications.notify(
        kind=SUBMISSION_ACCEPTED if accepted else SUBMISSION_REJECTED,
        object_id=submission.pk,
        recipients=[submission.volunteer_id],
        actor_id=actor_id,
    )


def read_shown(*, user_id: int, submission_ids: Collection[int]) -> int:
    """The tracer's page showed these submissions: their notices are read (one statement)."""
    return Notification.objects.filter(
        recipient_id=user_id,
        kind__in=TRACER_KINDS,
        object_id__in=list(submission_ids),
        read_at__isnull=True,
    ).update(read_at=timezone.now())
