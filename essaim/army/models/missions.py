"""Missions, talking points, claims, proofs, points and notifications (issue 4, missions part).

How the pieces fit
------------------
- A `Mission` is national (`team` is None: HQ runs it) or a team's (its coordinators run it
  without HQ). Its work counts for one `role`; who may see and claim it is said by targeting
  rows: `MissionTarget` (role × stage pairs), `MissionZone` (départements or régions), the
  national mission's `target_teams`, and `windows` (an availability mask, 0 = any time).
- The quota is held by `slots_taken`, moved only by conditional UPDATEs
  (`slots_taken < quota`), so two volunteers claiming the last slot at once get exactly one
  slot between them on PostgreSQL and on SQLite. A released claim gives its slot back.
- A `Claim` is one volunteer on one mission; each submission is a `Proof` (URLs, an optional
  screenshot re-encoded without metadata, a note). Reviewers accept or return the claim; points
  are written on accept only.
- Volunteers are told of a mission by notifications (essaim.accounts.models.Notification),
  written by dispatch in one INSERT … SELECT; their unique constraint (recipient, kind, object)
  makes a second dispatch a no-op: nobody is told twice (essaim.army.services.notifications).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Shown on every mission, in the volunteer's page and the API: Essaim organizes people acting
# under their own names; it never posts for anyone, nor hands out text to paste.
OWN_NAME_REMINDER = _(
    "Agissez sous votre propre nom et respectez les règles de chaque site. Essaim ne publie "
    "jamais à votre place, et les argumentaires sont une matière pour vos propres mots : ne "
    "collez jamais un texte identique."
)


class MissionKind(models.TextChoices):
    PLACE = "place", _("Placer (bannières, visuels, vidéos)")
    RELAY = "relay", _("Relayer (argumentaire, forums)")
    INVITE = "invite", _("Inviter (carnet d'adresses)")
    TRACE = "trace", _("Tracer (veille)")
    MODERATE = "moderate", _("Modérer")
    SYNTHESIZE = "synthesize", _("Synthétiser")


class TalkingPoint(models.Model):
    """An argument of the library. Its text lives in versions; a retired point is no longer
    offered for new missions (the missions that point at it keep their version, and show the
    volunteer that it is outdated). National (`team` None, HQ's) or a team's (its coordinators
    write it; their team's missions may use it besides the national ones)."""

    title = models.CharField(_("titre"), max_length=200)
    # The display copy of the tags; filtering goes through TalkingPointTag (an index, on SQLite
    # too, where JSON containment is not available). Both are written by the service only.
    tags = models.JSONField(_("étiquettes"), default=list, blank=True)
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="talking_points",
        verbose_name=_("équipe"),
    )
    retired_at = models.DateTimeField(_("retiré le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("argument")
        verbose_name_plural = _("argumentaire")

    def __str__(self) -> str:
        return self.title


class TalkingPointTag(models.Model):
    point = models.ForeignKey(TalkingPoint, on_delete=models.CASCADE, related_name="tag_rows")
    tag = models.CharField(max_length=50)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["tag", "point"], name="army_tp_tag_uniq")
        ]


class TalkingPointVersion(models.Model):
    """One text of a talking point. Never edited: a change is a new version."""

    point = models.ForeignKey(TalkingPoint, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    body = models.TextField(_("texte"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Missions that pointed at this version (incremented with F() on publication).
    usage_count = models.PositiveIntegerField(_("utilisations"), default=0)

    class Meta:
        ordering: ClassVar = ["point", "-number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["point", "number"], name="army_tp_version_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.point_id} v{self.number}"


class Mission(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        # Published with more points than MISSION_MAX_POINTS: nobody sees it until an HQ member
        # other than its author approves it (essaim.army.services.oversight).
        AWAITING = "awaiting", _("En attente du QG")
        PUBLISHED = "published", _("Publiée")
        REFUSED = "refused", _("Refusée par le QG")
        CLOSED = "closed", _("Close")

    kind = models.CharField(_("type"), max_length=12, choices=MissionKind.choices)
    title = models.CharField(_("titre"), max_length=200)
    brief = models.TextField(_("consignes"))
    role = models.ForeignKey(
        "army.VolunteerRole",
        on_delete=models.PROTECT,
        related_name="missions",
        verbose_name=_("rôle"),
    )
    # None: a national mission run by HQ; else the team whose coordinators run it.
    team = models.ForeignKey(
        "accounts.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="missions",
        verbose_name=_("équipe"),
    )
    status = models.CharField(
        _("état"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # The kit: files and visuals (URLs of the campaign's own files), video links, embed codes,
    # target sites/forums/threads; for a watch (trace): channels, sites, archives, time slots.
    kit_files = models.JSONField(_("fichiers et visuels"), default=list, blank=True)
    video_links = models.JSONField(_("liens vidéo"), default=list, blank=True)
    embed_codes = models.JSONField(_("codes d'intégration"), default=list, blank=True)
    target_sites = models.JSONField(_("sites, forums, fils visés"), default=list, blank=True)
    watch_channels = models.JSONField(
        _("chaînes, sites, archives à suivre"), default=list, blank=True
    )
    watch_slots = models.JSONField(_("créneaux de veille"), default=list, blank=True)
    talking_point = models.ForeignKey(
        TalkingPointVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="missions",
        verbose_name=_("argument"),
    )
    windows = models.IntegerField(_("créneaux visés"), default=0)  # 0: any time
    target_teams = models.ManyToManyField(
        "accounts.Team", blank=True, related_name="targeted_by", verbose_name=_("équipes visées")
    )
    quota = models.PositiveIntegerField(
        _("nombre de réalisations"), validators=[MinValueValidator(1)]
    )
    slots_taken = models.PositiveIntegerField(default=0)
    per_volunteer_minutes = models.PositiveSmallIntegerField(
        _("durée estimée (minutes)"), default=30, validators=[MaxValueValidator(24 * 60)]
    )
    points = models.PositiveSmallIntegerField(_("points"), default=10)
    deadline = models.DateTimeField(_("échéance"))
    published_at = models.DateTimeField(_("publiée le"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # HQ's decision on a mission above the points cap (approved or refused), and by whom.
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("décidée par"),
    )
    decided_at = models.DateTimeField(_("décidée le"), null=True, blank=True)

    class Meta:
        verbose_name = _("mission")
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(slots_taken__lte=models.F("quota")),
                name="army_mission_quota",
            )
        ]
        indexes: ClassVar = [
            models.Index(fields=["status", "deadline"], name="army_mission_open_idx"),
            models.Index(fields=["team", "status"], name="army_mission_team_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_national(self) -> bool:
        return self.team_id is None

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.deadline > timezone.now()

    @property
    def slots_left(self) -> int:
        return max(self.quota - self.slots_taken, 0)


def _kit_path(instance: KitFile, filename: str) -> str:
    return f"kits/{instance.mission_id}/{filename}"


class KitFile(models.Model):
    """A file of a mission's kit (a visual, a video, a PDF), uploaded by its runners. Its type
    was read from its content, never from its name; images were re-encoded without metadata.
    Served as an attachment with nosniff and a CSP that runs nothing (views/kits.py)."""

    class Kind(models.TextChoices):
        IMAGE = "image", _("Image")
        VIDEO = "video", _("Vidéo")
        PDF = "pdf", _("PDF")

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="files")
    kind = models.CharField(max_length=5, choices=Kind.choices)
    content_type = models.CharField(max_length=40)
    name = models.CharField(_("nom"), max_length=120)  # shown and offered as the download name
    file = models.FileField(upload_to=_kit_path, max_length=200)
    size = models.PositiveBigIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["mission", "pk"]

    def __str__(self) -> str:
        return self.name


class MissionTarget(models.Model):
    """One (role, stage) pair a mission is offered to."""

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="targets")
    role = models.ForeignKey("army.VolunteerRole", on_delete=models.CASCADE, related_name="+")
    stage = models.CharField(max_length=10)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mission", "role", "stage"], name="army_target_uniq")
        ]
        indexes: ClassVar = [
            models.Index(fields=["role", "stage", "mission"], name="army_target_rs_idx")
        ]


class MissionZone(models.Model):
    """A département or a région a mission is limited to (none: everywhere)."""

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="zones")
    departement = models.CharField(max_length=3, blank=True)
    region = models.CharField(max_length=3, blank=True)

    class Meta:
        indexes: ClassVar = [
            models.Index(fields=["departement", "mission"], name="army_mzone_dep_idx"),
            models.Index(fields=["region", "mission"], name="army_mzone_reg_idx"),
        ]


class Claim(models.Model):
    class Status(models.TextChoices):
        CLAIMED = "claimed", _("En cours")
        SUBMITTED = "submitted", _("Preuve envoyée")
        RETURNED = "returned", _("À reprendre")
        ACCEPTED = "accepted", _("Acceptée")
        RELEASED = "released", _("Abandonnée")

    OPEN: ClassVar[tuple[str, ...]] = ("claimed", "submitted", "returned")

    mission = models.ForeignKey(Mission, on_delete=models.CASCADE, related_name="claims")
    volunteer = models.ForeignKey("army.Volunteer", on_delete=models.CASCADE, related_name="claims")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CLAIMED)
    claimed_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    feedback = models.TextField(_("retour du relecteur"), blank=True)
    points = models.PositiveSmallIntegerField(default=0)  # written on accept only

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["mission", "volunteer"], name="army_claim_uniq")
        ]
        indexes: ClassVar = [
            models.Index(fields=["volunteer", "status"], name="army_claim_vol_idx"),
            models.Index(fields=["status", "submitted_at"], name="army_claim_queue_idx"),
            models.Index(fields=["volunteer", "claimed_at"], name="army_claim_load_idx"),
            models.Index(fields=["status", "reviewed_at"], name="army_claim_board_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.mission_id}:{self.volunteer_id}:{self.status}"


def _screenshot_path(instance: Proof, filename: str) -> str:
    return f"proofs/{instance.claim_id}/{filename}"


class Proof(models.Model):
    """One submission of a claim (a returned claim gets a new one)."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="proofs")
    note = models.TextField(_("note"), blank=True)
    screenshot = models.FileField(_("capture d'écran"), upload_to=_screenshot_path, blank=True)
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["claim", "-submitted_at", "-id"]


class ProofLink(models.Model):
    proof = models.ForeignKey(Proof, on_delete=models.CASCADE, related_name="links")
    url = models.URLField(max_length=2000)
    # sha256 of the normalized URL: an index for "already proved", whatever the URL's length.
    url_hash = models.CharField(max_length=64, db_index=True)
    # Another claim already proved this URL: the reviewer sees a warning.
    is_duplicate = models.BooleanField(default=False)


class VolunteerMissionSettings(models.Model):
    """What a volunteer decides about missions (the leaderboards), and their points. Apart from
    the profile so that the profile's owner (sign-up) and missions rarely touch the same row.
    The email digest is everyone's, not only volunteers': essaim.accounts.models
    .NotificationSettings."""

    volunteer = models.OneToOneField(
        "army.Volunteer",
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="mission_settings",
    )
    leaderboard_opt_out = models.BooleanField(_("ne pas figurer aux classements"), default=False)
    total_points = models.PositiveIntegerField(default=0)
