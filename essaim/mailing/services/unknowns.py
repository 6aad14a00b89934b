"""Deliveries whose fate is unknown, and the operator's re-queue of them.

A row is `unknown` when its message may or may not have left: the connection was lost after the
final dot (the relay may have queued it), or the sender holding it died (the janitor settled its
expired lease). Senders never send such a row again by themselves — no message twice. An HQ
user who checked (the relay's logs, the recipient) may put some or all of them back in the
queue, with an explicit confirmation; each re-queue is written to the audit log with who did it
and how many rows it moved.

A re-queued row becomes `deferred`, due now: senders claim due deferred rows before fresh ones
and without their keyset cursor, so a row far behind a running sender's cursor is sent too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.accounts.services import audit
from essaim.mailing import rules
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.sender.blackouts import blackout_scope
from essaim.mailing.services.campaigns import (
    BlackedOut,
    CampaignRefused,
    CampaignStateError,
    blackout_message,
)

D = Delivery.Status
S = Campaign.Status
MAX_LISTED: Final = 500
# The replies the sender and the janitor write (essaim.mailing.sender), and what they mean.
AFTER_DOT: Final = "connection lost after the final dot"
LEASE: Final = "lease expired: the sender stopped"
REASONS: Final = {
    "after_dot": gettext_lazy(
        "Connexion perdue après le point final : le relais a peut-être accepté le message."
    ),
    "lease": gettext_lazy(
        "L'expéditeur s'est arrêté en tenant cet envoi (bail expiré) : le message est peut-être "
        "parti."
    ),
    "other": gettext_lazy("Autre cause"),
}


class RequeueRefused(CampaignRefused):
    code = "requeue_refused"


def reason_of(reply: str) -> str:
    """ "after_dot", "lease" or "other", from the row's last reply."""
    if reply.startswith(AFTER_DOT):
        return "after_dot"
    if reply.startswith(LEASE):
        return "lease"
    return "other"


@dataclass(frozen=True)
class UnknownRow:
    id: int
    email: str
    provider: str
    attempts: int
    reason: str  # a key of REASONS
    reply: str
    last_change_at: dt.datetime

    @property
    def why(self) -> str:
        return str(REASONS[self.reason])


@dataclass(frozen=True)
class Unknowns:
    total: int
    by_reason: dict[str, int]
    rows: list[UnknownRow]  # the first MAX_LISTED, oldest first


def _requeueable(campaign: Campaign) -> Any:
    # An erased person's row has no address left: nothing to send it to.
    return Delivery.objects.filter(campaign=campaign, status=D.UNKNOWN).exclude(email="")


def list_unknown(campaign: Campaign, *, limit: int = MAX_LISTED) -> Unknowns:
    """The campaign's unknown rows that could be re-queued, with why they are unknown."""
    rows = [
        UnknownRow(pk, email, provider, attempts, reason_of(reply), reply, changed)
        for pk, email, provider, attempts, reply, changed in _requeueable(campaign)
        .order_by("pk")
        .values_list("pk", "email", "provider", "attempts", "smtp_reply", "last_change_at")[:limit]
    ]
    by_reason = dict.fromkeys(REASONS, 0)
    for reply in _requeueable(campaign).values_list("smtp_reply", flat=True).iterator():
        by_reason[reason_of(reply)] += 1
    return Unknowns(sum(by_reason.values()), by_reason, rows)


def requeue_unknown(
    campaign: Campaign,
    *,
    user: Any,
    ids: Sequence[int] | None,
    confirmed: bool,
    request: Any = None,
) -> int:
    """Put unknown rows back in the queue: those of `ids`, or every one when `ids` is None.
    Refused — with nothing changed — unless `user` is HQ and `confirmed`, when the campaign is a
    draft or cancelled (CampaignStateError), or during a blackout covering those rows
    (BlackedOut). A finished campaign goes back to sending. Returns the rows re-queued."""
    if not rules.can_manage_campaigns(user):
        raise RequeueRefused(_("Seul un membre du QG peut remettre des envois en file."))
    if not confirmed:
        raise RequeueRefused(
            _("Confirmez avoir vérifié que ces messages ne sont pas partis avant de les renvoyer.")
        )
    if ids is not None and not ids:
        raise RequeueRefused(_("Choisissez au moins un envoi."))
    now = timezone.now()
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status in (S.DRAFT, S.CANCELLED):
            raise CampaignStateError(f"campaign {campaign.pk} is {locked.status}")
        rows = _requeueable(locked)
        if ids is not None:
            rows = rows.filter(pk__in=list(ids))
        scope = blackout_scope(now)
        if scope.national or (
            scope.departements and rows.filter(departement__in=scope.departements).exists()
        ):
            raise BlackedOut(blackout_message(scope))
        count = rows.update(
            status=D.DEFERRED,
            next_attempt_at=now,
            claimed_by="",
            lease_until=None,
            last_change_at=now,
            smtp_reply=Substr(
                Concat(Value("requeued after: "), F("smtp_reply"), output_field=CharField()),
                1,
                200,
            ),
        )
        if count == 0:
            return 0
        if locked.status == S.DONE:
            locked.status, locked.finished_at, locked.updated_at = S.SENDING, None, now
            locked.save(update_fields=["status", "finished_at", "updated_at"])
        audit(
            action="campaign.requeue_unknown",
            actor=user,
            request=request,
            obj=locked,
            requeued=count,
            selection="all" if ids is None else "chosen",
        )
    campaign.refresh_from_db()
    return count
