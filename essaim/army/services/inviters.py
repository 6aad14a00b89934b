"""Who may invite and how much: a volunteer's standing (a trained or active mondain, not
suspended; a small daily limit for new accounts), the suspension that abuse reports bring and
its lifting, and the campaign-wide daily cap on invitation mails. The invitations themselves
are essaim.army.services.invitations, which asks these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from essaim.accounts.services import audit
from essaim.army.models import (
    Invitation,
    InvitationMailDay,
    RoleAssignment,
    Stage,
    Volunteer,
)

if TYPE_CHECKING:
    from django.http import HttpRequest

    from essaim.accounts.models import User

# The role that invites, and the stages at which a coordinator has trusted someone with it.
MONDAIN = "mondain"
TRUSTED_STAGES = (Stage.TRAINED, Stage.ACTIVE)


class InvitationError(ValueError):
    """The request cannot be accepted as a whole; the message is for the volunteer."""


class NotAllowed(InvitationError):
    """This volunteer may not invite (not a trained mondain, or suspended): the page shows
    why, the API answers 403, nothing is recorded."""

    def __init__(self, message: str, code: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Standing:
    """What decides whether and how much a volunteer invites, read in one query."""

    refusal: NotAllowed | None
    daily_limit: int
    suspended_at: datetime | None


def standing(volunteer: Volunteer, *, now: datetime | None = None) -> Standing:
    """Whether this volunteer may invite now (a trained or active mondain, not suspended) and
    their daily limit (small for a new account or one without accepted work)."""
    now = now or timezone.now()
    mine = RoleAssignment.objects.filter(volunteer=models.OuterRef("pk"))
    row = (
        Volunteer.objects.filter(pk=volunteer.pk)
        .annotate(
            mondain_stage=models.Subquery(mine.filter(role__slug=MONDAIN).values("stage")[:1]),
            worked=models.Exists(mine.filter(last_accepted_work_at__isnull=False)),
        )
        .values("mondain_stage", "worked", "invitations_suspended_at", "user__date_joined")
        .first()
    )
    if row is None:
        return Standing(NotAllowed(_("Vous n'êtes pas volontaire."), "not_volunteer"), 0, None)
    refusal = None
    suspended_at = row["invitations_suspended_at"]
    if suspended_at is not None:
        refusal = NotAllowed(
            _(
                "Vos invitations sont suspendues : plusieurs personnes que vous avez invitées "
                "les ont signalées comme abusives. Un coordinateur de votre équipe ou le QG "
                "peut lever la suspension."
            ),
            "suspended",
        )
    elif row["mondain_stage"] not in TRUSTED_STAGES:
        if row["mondain_stage"] is None:
            message = _(
                "Les invitations sont réservées aux volontaires mondains, formés ou actifs. "
                "Demandez le rôle de mondain dans votre profil : un coordinateur vous formera."
            )
        else:
            message = _(
                "Votre rôle de mondain est à l'étape « %(stage)s » : seuls les mondains formés "
                "ou actifs invitent. Un coordinateur de votre équipe peut vous former."
            ) % {"stage": Stage(row["mondain_stage"]).label}
        refusal = NotAllowed(message, "not_trusted")
    new = row["user__date_joined"] > now - timedelta(days=settings.INVITATIONS_NEW_ACCOUNT_DAYS)
    limit = settings.INVITATIONS_DAILY_LIMIT
    if new or not row["worked"]:
        limit = min(limit, settings.INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT)
    return Standing(refusal, limit, suspended_at)


def take_a_place(day: date) -> bool:
    """One place in the day's campaign-wide count of invitation mails, if any is left. The
    UPDATE is conditional on the count being under the cap, so the database serializes
    concurrent takers (row lock on PostgreSQL, the write lock on SQLite): never more than the
    cap between them."""
    InvitationMailDay.objects.get_or_create(day=day)
    return bool(
        InvitationMailDay.objects.filter(
            day=day, sent__lt=settings.INVITATIONS_CAMPAIGN_DAILY_CAP
        ).update(sent=F("sent") + 1)
    )


def places_left(day: date) -> int:
    """Invitation mails the campaign may still send on `day`."""
    used = InvitationMailDay.objects.filter(day=day).values_list("sent", flat=True).first()
    return max(settings.INVITATIONS_CAMPAIGN_DAILY_CAP - (used or 0), 0)


def suspend_if_reported_enough(inviter_id: int, *, now: datetime) -> None:
    """Suspend the inviter once their reports within the window, since the last lift, reach
    the threshold. Conditional on not being suspended already: audited once."""
    inviter = Volunteer.objects.filter(pk=inviter_id).values("invitations_lifted_at").first()
    if inviter is None:
        return
    since = now - timedelta(days=settings.INVITATIONS_ABUSE_WINDOW_DAYS)
    lifted = inviter["invitations_lifted_at"]
    if lifted is not None and lifted > since:
        since = lifted
    reports = Invitation.objects.filter(
        inviter_id=inviter_id, status=Invitation.Status.REPORTED, reported_at__gt=since
    ).count()
    if reports < settings.INVITATIONS_ABUSE_SUSPEND_THRESHOLD:
        return
    suspended = Volunteer.objects.filter(
        pk=inviter_id, invitations_suspended_at__isnull=True
    ).update(invitations_suspended_at=now)
    if suspended:
        audit(
            action="army.invitations_suspended",
            object_type="army.volunteer",
            object_id=inviter_id,
            reports=reports,
            window_days=settings.INVITATIONS_ABUSE_WINDOW_DAYS,
        )


def lift_suspension(*, volunteer: Volunteer, by: User, request: HttpRequest | None = None) -> bool:
    """A coordinator of the volunteer's team or HQ (the caller checked
    rules.can_see_invitation_reports_of) lets them invite again; their waiting invitations go
    out with the next hourly run. Reports made before now no longer count towards the next
    suspension. Audited; False if they were not suspended."""
    now = timezone.now()
    with transaction.atomic():
        lifted = Volunteer.objects.filter(
            pk=volunteer.pk, invitations_suspended_at__isnull=False
        ).update(invitations_suspended_at=None, invitations_lifted_at=now)
        if lifted:
            audit(
                action="army.invitations_lifted",
                actor=by,
                request=request,
                object_type="army.volunteer",
                object_id=volunteer.pk,
            )
    if lifted:
        volunteer.invitations_suspended_at, volunteer.invitations_lifted_at = None, now
    return bool(lifted)
