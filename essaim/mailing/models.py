"""Mass mailing: campaigns and the per-recipient delivery ledger.

The ledger (`Delivery`) is the truth about who was mailed. It is written once, set-based, when a
campaign's audience is frozen, and then only moved forward by senders through guarded UPDATEs
(see essaim.mailing.sender.ledger). The rule that matters most — nobody gets the same campaign
twice, even after a crash — rests on three things here: one row per (campaign, address hash),
a `claimed` state committed before any byte goes on the wire, and an `unknown` state for every
message whose fate we cannot know (a connection lost after the final dot, a sender that died
holding claims). `unknown` is terminal: only an operator, after checking, may re-queue it.

After pretix's outgoing mail model: explicit statuses, retry times and error columns on the row,
so that an operator can read what happened to one address without digging through logs.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from essaim.people.models import Contact, Purpose, Segment


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SCHEDULED = "scheduled", _("Programmée")
        SENDING = "sending", _("En cours d'envoi")
        PAUSED = "paused", _("En pause")
        CANCELLED = "cancelled", _("Annulée")
        DONE = "done", _("Terminée")

    name = models.CharField(_("nom"), max_length=200)
    from_name = models.CharField(_("nom de l'expéditeur"), max_length=100)
    from_email = models.EmailField(_("adresse de l'expéditeur"))
    reply_to = models.EmailField(_("adresse de réponse"), blank=True)
    subject = models.CharField(_("objet"), max_length=250)
    preheader = models.CharField(_("texte d'aperçu"), max_length=250, blank=True)
    body_markdown = models.TextField(_("message (Markdown)"), blank=True)
    # What the sender compiles (essaim.mailing.message): filled from the Markdown by the composer,
    # or written directly. They may hold the whitelisted personalization slots only.
    html_template = models.TextField(blank=True)
    text_template = models.TextField(blank=True)
    purpose = models.CharField(
        _("finalité"), max_length=20, choices=Purpose.choices, default=Purpose.NEWS
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The audience: every mailable contact (`audience_all`), or a segment minus exclusions.
    # SET_NULL rather than PROTECT so that deleting a segment never fails in the people app; a
    # draft left with neither a segment nor `audience_all` cannot be launched (never "all" by
    # accident). After launch the ledger is the audience and these no longer matter.
    audience_all = models.BooleanField(_("toute la base joignable"), default=False)
    segment = models.ForeignKey(
        Segment,
        verbose_name=_("segment"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    exclude_segments = models.ManyToManyField(
        Segment, verbose_name=_("segments exclus"), blank=True, related_name="+"
    )
    # Rows written into the ledger when the audience was frozen (the count shown before launch).
    audience_count = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    frozen_at = models.DateTimeField(null=True, blank=True)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "scheduled_at"])]

    def __str__(self) -> str:
        return self.name


class CampaignTemplate(models.Model):
    """A message saved under a name, to start new campaigns from: the content only (subject,
    preview text, Markdown body). A campaign started from it copies the text: editing or
    deleting the template later changes no campaign."""

    name = models.CharField(_("nom"), max_length=200, unique=True)
    subject = models.CharField(_("objet"), max_length=250)
    preheader = models.CharField(_("texte d'aperçu"), max_length=250, blank=True)
    body_markdown = models.TextField(_("message (Markdown)"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("modèle de message")
        verbose_name_plural = _("modèles de message")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ProviderGroup(models.TextChoices):
    """Mailbox providers that shape traffic on their own; the sender caps concurrency per group."""

    GMAIL = "gmail", "Gmail"
    MICROSOFT = "microsoft", "Microsoft"
    YAHOO = "yahoo", "Yahoo/AOL"
    ORANGE = "orange", "Orange/Wanadoo"
    FREE = "free", "Free"
    SFR = "sfr", "SFR"
    LAPOSTE = "laposte", "La Poste"
    APPLE = "apple", "Apple"
    OTHER = "other", _("Autres")


class Delivery(models.Model):
    """One recipient of one campaign: the ledger row a sender claims, sends and settles.

        Life of a row::

            pending ──in a sender's claim──> accepted / rejected / unknown / suppressed / cancelled
               │                        ──4xx──> deferred ──(next_attempt_at)──> claimed …
               └ not sent (pause, stop, relay down before the final dot) ─> pending, due now
            deferred or pending-due-now ──claimed──> claimed ──> the same outcomes

            accepted (or unknown) ──hard bounce report──> bounced ──complaint report──> complained
            unknown ──operator re-queue, after checking──> deferred (due now)

    A fresh row is claimed without being written: a `DeliveryClaim` holds a run of ids of the
    campaign, and every row in it that is `pending` with no `next_attempt_at` belongs to that
    claim until its outcome. So a message costs one write of its row (its outcome), and since
    `status` is in no index (nor index predicate), that write is a HOT update on PostgreSQL
    (the table keeps free room in its pages for it: fillfactor, migration 0006). Rows that come
    back (4xx, re-queued, not sent) carry a `next_attempt_at` and are claimed the older way, by
    writing `claimed` with the sender's id and a lease on the row: few rows.

    Every outcome is an UPDATE guarded by the claim (`pending` in a live claim of this sender, or
    `claimed` by this sender), so a slow sender and the janitor, which settles the claims of a
    dead sender as `unknown` (never `pending`), never overwrite each other.

    A bounce or a complaint arrives after the relay accepted the message, through `essaim bounces`
    (essaim.mailing.bounces); it also settles an `unknown` row, since it proves the message left.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("À envoyer")
        CLAIMED = "claimed", _("Pris par un expéditeur")
        ACCEPTED = "accepted", _("Accepté par le relais")
        REJECTED = "rejected", _("Refusé")
        DEFERRED = "deferred", _("Différé")
        UNKNOWN = "unknown", _("Sort inconnu")
        BOUNCED = "bounced", _("Revenu en erreur")
        COMPLAINED = "complained", _("Signalé comme indésirable")
        SUPPRESSED = "suppressed", _("Désinscrit entre-temps")
        CANCELLED = "cancelled", _("Annulé")

    # PROTECT: the ledger is the proof of what was sent; a campaign with a ledger is not deleted.
    # No index of its own: the unique (campaign, email_hash) leads with it. Every index of this
    # table costs an entry at each status change of each row (two per message: see Meta).
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="deliveries", db_index=False
    )
    # SET_NULL: an erased contact leaves the row (with its hash) so counts stay right; the GDPR
    # erasure must also blank `email` and `first_name` here (they are copies, see below).
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL)
    # Copies taken at freeze time: the sender's hot path reads one table, and a contact edited
    # during the send does not change whom the message goes to.
    email = models.CharField(max_length=254)
    email_hash = models.CharField(max_length=64)
    first_name = models.CharField(max_length=150, blank=True)
    # The contact's département at freeze time: blackout windows are per département.
    departement = models.CharField(max_length=3, blank=True, default="")
    provider = models.CharField(max_length=10, choices=ProviderGroup.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)  # claims so far
    # When a row that came back may be claimed again (exponential backoff after a 4xx, now for
    # a re-queued or unsent one); null once settled, and for every row never claimed yet.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The sender (host:pid:random) of a row claimed by writing `claimed` (see above).
    claimed_by = models.CharField(max_length=64, blank=True)
    # The lease of a row claimed by writing `claimed` (see above); heartbeats push it forward.
    lease_until = models.DateTimeField(null=True, blank=True)
    smtp_code = models.PositiveSmallIntegerField(null=True, blank=True)
    smtp_reply = models.CharField(max_length=200, blank=True)  # truncated last reply
    last_change_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("envoi")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "email_hash"], name="mailing_delivery_once_per_address"
            )
        ]
        # `status` must stay out of every index and index predicate: the outcome is then a HOT
        # update, which writes no index entry at all. The full indexes are the key, the address
        # unique, the contact (erasure and SET_NULL) and this one; none of their columns moves
        # when a message is settled.
        indexes = [
            # Claims take the next run of ids after the campaign's cursor (its claims' last id).
            models.Index(fields=["campaign", "id"], name="mailing_deliv_run_idx"),
            # Rows waiting for another try (4xx, re-queued, not sent) or held by such a claim;
            # `next_attempt_at` is cleared when a row settles, so the index holds open rows only.
            models.Index(
                fields=["campaign", "next_attempt_at"],
                name="mailing_deliv_retry_idx",
                condition=Q(next_attempt_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.email} ({self.status})"


class BlackoutWindow(models.Model):
    """A period when campaigns may not be launched nor sent, e.g. the electoral silence (from
    Friday midnight before a vote). Zones are départements and régions (a région stands for its
    départements); no zone at all means national: every contact."""

    starts_at = models.DateTimeField(_("début"))
    ends_at = models.DateTimeField(_("fin"))
    departements = models.JSONField(_("départements"), default=list, blank=True)
    regions = models.JSONField(_("régions"), default=list, blank=True)
    reason = models.CharField(_("motif"), max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("période d'interdiction")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="mailing_blackout_ordered"
            )
        ]

    def __str__(self) -> str:
        return self.reason

    @property
    def is_national(self) -> bool:
        return not self.departements and not self.regions


class BounceReport(models.Model):
    """One message received by the bounce intake (`essaim bounces`) for one VERP address, with
    the decision taken on it and the raw report (size-capped) for audit.

    Nothing received is dropped: a report nobody could read is kept as `unparsed`. A report
    received twice (same Message-ID for the same delivery, or the same bytes) is stored once and
    decided once (`fingerprint` is unique)."""

    class Kind(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Erreur définitive")
        SOFT_BOUNCE = "soft_bounce", _("Erreur temporaire")
        COMPLAINT = "complaint", _("Plainte")
        IGNORED = "ignored", _("Sans effet (réponse automatique, retard)")
        UNPARSED = "unparsed", _("Illisible")

    # SET_NULL never happens in practice (ledger rows are kept); the campaign is copied so that
    # the results count reports without a join.
    delivery = models.ForeignKey(
        Delivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    email_hash = models.CharField(max_length=64, blank=True)  # the delivery's address hash
    fingerprint = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # What the report said: the RFC 3463 status (5.1.1), the DSN action, the remote server's
    # words, the reported recipient, and which reader understood it (dsn, arf, flufl, …).
    status = models.CharField(max_length=16, blank=True)
    action = models.CharField(max_length=16, blank=True)
    diagnostic = models.CharField(max_length=500, blank=True)
    recipient = models.CharField(max_length=254, blank=True)
    parser = models.CharField(max_length=20, blank=True)
    # True when this report put the address on the suppression list.
    suppressed = models.BooleanField(default=False)
    mail_from = models.CharField(max_length=254, blank=True)  # the report's envelope sender
    peer = models.CharField(max_length=64, blank=True)  # the SMTP client's address
    size = models.PositiveIntegerField(default=0)  # bytes received
    raw = models.BinaryField(default=b"")  # the first BOUNCES_KEEP_BYTES of them
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rapport de non-remise")
        ordering = ["-received_at", "-id"]
        indexes = [
            # Soft bounces of one address within the window; erasure by address.
            models.Index(fields=["email_hash", "received_at"], name="mailing_report_addr_idx"),
            models.Index(fields=["campaign", "kind"], name="mailing_report_campaign_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id}:{self.kind}"


class DeliveryClaim(models.Model):
    """A sender's hold on the next run of a campaign's ledger rows: the rows with first_id ≤ id ≤
    last_id that were `pending` with no `next_attempt_at` when it was made (see Delivery).

    Claims are never deleted: the campaign's cursor is its claims' highest `last_id`, and the
    unique (campaign, first_id) turns two senders' simultaneous claims of the same run into an
    error for the second, which claims again after the first. A claim ends when its sender has
    written every outcome (`ended_at`), or when its lease runs out (`expired`, its rows then
    `unknown`)."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="claims", db_index=False
    )
    sender_id = models.CharField(max_length=64)
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    lease_until = models.DateTimeField(null=True, blank=True)  # heartbeats push it forward
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    expired = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("prise d'envois")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "first_id"], name="mailing_claim_one_per_run"
            )
        ]
        indexes = [
            models.Index(fields=["campaign", "last_id"], name="mailing_claim_cursor_idx"),
            models.Index(
                fields=["sender_id"], name="mailing_claim_live_idx", condition=Q(ended_at=None)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.first_id}-{self.last_id} ({self.sender_id})"

    @staticmethod
    def held_rows(runs: Iterable[tuple[int, int, int]]) -> Q | None:
        """The ledger rows that claims of these runs (campaign id, first id, last id) hold, as a
        condition on Delivery; None when there is no run."""
        held = [
            Q(campaign_id=campaign_id, pk__gte=first_id, pk__lte=last_id)
            for campaign_id, first_id, last_id in runs
        ]
        if not held:
            return None
        return functools.reduce(operator.or_, held) & Q(
            status=Delivery.Status.PENDING, next_attempt_at=None
        )
