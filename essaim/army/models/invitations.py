"""Invitations (the *mondains*): a volunteer opens their address book to the campaign.

Two tables, because what the volunteer asked and what the campaign did must not be told apart
by the volunteer:
- `InvitationRequest`: one row per (volunteer, address) the volunteer submitted. It is what the
  volunteer's counts and daily limit are made of, whatever became of the address.
- `Invitation`: the one invitation an address ever gets (unique on the address's hash), sent by
  the campaign in the name of the first volunteer who submitted it. An address that is
  suppressed, already in the base with a consent for the purpose, or already invited gets no
  row here, and the volunteer's answer is the same.

Hashes are `people.models.email_hash` (sha256 of the case-folded address), as on the
suppression list: no clear address is copied into these tables; the invitee's address lives in
the base (`people.Contact`) with a pending consent whose source is "invitation".
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Invitation(models.Model):
    class Status(models.TextChoices):
        SENT = "sent", _("Envoyée")  # or about to be: `sent_at` says when the mail left
        CONFIRMED = "confirmed", _("Confirmée")
        REPORTED = "reported", _("Signalée comme abusive")

    # SET_NULL: the row must outlive an account's deletion, or the address could be invited again.
    inviter = models.ForeignKey(
        "army.Volunteer",
        null=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
        verbose_name=_("invité par"),
    )
    # The invitee in the base (pending consent); None once the contact is erased.
    contact = models.ForeignKey(
        "people.Contact",
        null=True,
        on_delete=models.SET_NULL,
        related_name="invitations",
    )
    email_hash = models.CharField(max_length=64, unique=True)  # one invitation per address, ever
    note = models.CharField(_("mot personnel"), max_length=300, blank=True)
    language = models.CharField(max_length=8, default="fr")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    reported_at = models.DateTimeField(null=True, blank=True)
    points = models.PositiveSmallIntegerField(default=0)  # written on confirmation only

    class Meta:
        verbose_name = _("invitation")
        indexes: ClassVar = [
            models.Index(fields=["inviter", "status"], name="army_invitation_inviter_idx"),
            models.Index(fields=["status", "reported_at"], name="army_invitation_report_idx"),
            # Invitations waiting for a day with room under INVITATIONS_CAMPAIGN_DAILY_CAP.
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="army_invitation_waiting_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pk}:{self.status}"


class InvitationMailDay(models.Model):
    """How many invitation mails the whole campaign sent on one day (TIME_ZONE). A mail takes
    its place by a conditional UPDATE (`sent < cap`), so that concurrent workers never pass
    INVITATIONS_CAMPAIGN_DAILY_CAP between them."""

    day = models.DateField(primary_key=True)
    sent = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}:{self.sent}"


class InvitationRequest(models.Model):
    """An address a volunteer submitted, whatever the campaign did with it."""

    volunteer = models.ForeignKey(
        "army.Volunteer", on_delete=models.CASCADE, related_name="invitation_requests"
    )
    email_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["volunteer", "email_hash"], name="army_invitation_request_uniq"
            )
        ]
        indexes: ClassVar = [
            # The daily limit: this volunteer's requests since midnight.
            models.Index(fields=["volunteer", "created_at"], name="army_invreq_day_idx"),
        ]
