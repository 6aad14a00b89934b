"""Calls for volunteers: a landing page, a campaign to a segment, and the response funnel.

The 2006 call reached 12,000 of 220,000 members in three days; a call here is what shows such a
curve. The campaign engine (essaim.mailing) does the sending: a call owns one campaign, whose
mail carries a per-recipient link to the landing page (essaim.army.services.call_links). The
funnel reads the delivery ledger (reached), `CallEvent` (page visited, signed up) and the
missions' claims (first mission accepted), set-based, never row by row.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Call(models.Model):
    title = models.CharField(_("titre"), max_length=200)
    # Rendered by markdown-it with raw HTML off, then sanitized by nh3 (the campaigns' composer).
    text_markdown = models.TextField(_("texte (Markdown)"), max_length=20_000)
    roles = models.ManyToManyField(
        "army.VolunteerRole", verbose_name=_("rôles recherchés"), related_name="+", blank=True
    )
    # PROTECT: the campaign's ledger is the funnel's "reached"; neither goes without the other.
    campaign = models.OneToOneField(
        "mailing.Campaign",
        on_delete=models.PROTECT,
        related_name="volunteer_call",
        verbose_name=_("campagne"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("appel à volontaires")
        verbose_name_plural = _("appels à volontaires")
        ordering: ClassVar = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class CallEvent(models.Model):
    """One step of one person in one call's funnel, recorded once: a refresh of the landing page
    or a second confirmation click adds nothing (unique call, contact, kind)."""

    class Kind(models.TextChoices):
        VISIT = "visit", _("Page visitée")
        SIGNUP = "signup", _("Inscription confirmée")

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    # SET_NULL: an erased contact leaves the step counted and nobody behind it (NULLs never
    # collide in the unique constraint).
    contact = models.ForeignKey(
        "people.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["call", "contact", "kind"], name="army_callevent_once")
        ]
        # The funnel counts one call's events per kind and hour.
        indexes: ClassVar = [
            models.Index(fields=["call", "kind", "at"], name="army_callevent_funnel_idx")
        ]

    def __str__(self) -> str:
        return f"{self.call_id}:{self.contact_id}:{self.kind}"
