"""Volunteers, their roles and each role's lifecycle.

How the rest of Essaim refers to a volunteer
--------------------------------------------
- A volunteer is a `Volunteer` row, one-to-one with `accounts.User`, **whose primary key is the
  user's id** (`Volunteer.pk == Volunteer.user_id == user.id`). Missions, claims, proofs and points
  hold `models.ForeignKey("army.Volunteer", on_delete=…)`; the stored value is the user id, so a
  claim joins to memberships (`accounts.Membership.user_id`) and to the audit log without a detour
  through the profile table, and `request.user.pk` is the volunteer id in views.
- What a volunteer may do is a `VolunteerRole` (a table, seeded with the typology, HQ adds more)
  held through a `RoleAssignment` (one per volunteer × role) at a `Stage`. Missions target roles
  by `VolunteerRole` id and stages by `Stage` value; dispatch selects with `VolunteerQuerySet`
  (`with_role`, `in_zone`, `in_team`, `available_in`), which the indexes below serve.
- When a proof is accepted, missions set `RoleAssignment.last_accepted_work_at` for the mission's
  role (set-based: `RoleAssignment.objects.filter(volunteer=…, role=…).update(…)`); the lapse job
  reads it. A lapsed role that gets accepted work again is moved back with `move_to(ACTIVE)`.
- Teams stay in `accounts` (`Team`, `Membership`): coordinators and HQ staff are users who need
  not be volunteers. A membership counts only in state `member`; team coordinators are members
  with `is_coordinator`.
- Availability is a bitmask (`windows`): bit `day * 3 + part`, Monday = 0, parts morning,
  afternoon, evening. "Free on Saturday evening or Sunday morning" is
  `available_in(window_mask([(5, 2), (6, 0)]))`, one `windows & mask <> 0` in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from essaim.accounts.models import User

DAYS = (
    _("lundi"),
    _("mardi"),
    _("mercredi"),
    _("jeudi"),
    _("vendredi"),
    _("samedi"),
    _("dimanche"),
)
PARTS_OF_DAY = (_("matin"), _("après-midi"), _("soir"))
FULL_WEEK = (1 << (len(DAYS) * len(PARTS_OF_DAY))) - 1


def window_bit(day: int, part: int) -> int:
    """The bit of one window: day 0-6 (Monday first), part 0-2 (morning, afternoon, evening)."""
    if not (0 <= day < len(DAYS) and 0 <= part < len(PARTS_OF_DAY)):
        raise ValueError(f"no such window: day {day}, part {part}")
    return 1 << (day * len(PARTS_OF_DAY) + part)


def window_mask(windows: Iterable[tuple[int, int]]) -> int:
    mask = 0
    for day, part in windows:
        mask |= window_bit(day, part)
    return mask


def windows_from_mask(mask: int) -> list[tuple[int, int]]:
    return [
        (day, part)
        for day in range(len(DAYS))
        for part in range(len(PARTS_OF_DAY))
        if mask & window_bit(day, part)
    ]


class Language(models.TextChoices):
    """Languages a volunteer can write in (to relay talking points, moderate, synthesize)."""

    FR = "fr", _("français")
    EN = "en", _("anglais")
    ES = "es", _("espagnol")
    DE = "de", _("allemand")
    IT = "it", _("italien")
    PT = "pt", _("portugais")
    AR = "ar", _("arabe")
    OC = "oc", _("occitan")
    BR = "br", _("breton")
    CO = "co", _("corse")
    EU = "eu", _("basque")
    CA = "ca", _("catalan")
    RCF = "rcf", _("créole")


class VolunteerRole(models.Model):
    """A kind of work volunteers do (tchatcheur, traceur…). A table and not an enum: HQ adds roles
    without a release. The seven of the typology are created by migration 0002 with fixed slugs
    that code may name (`VolunteerRole.objects.get(slug="traceur")`)."""

    slug = models.SlugField(_("identifiant"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=80)
    name_en = models.CharField(_("nom en anglais"), max_length=80, blank=True)
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description en anglais"), blank=True)
    position = models.PositiveSmallIntegerField(_("ordre"), default=100)
    # A retired role is no longer offered at sign-up; its assignments and history stay.
    is_open = models.BooleanField(_("proposé à l'inscription"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering: ClassVar = ["position", "id"]
        verbose_name = _("rôle de volontaire")
        verbose_name_plural = _("rôles de volontaire")

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the active language (French unless an English name is given)."""
        if (get_language() or "fr").startswith("en") and self.name_en:
            return self.name_en
        return self.name

    @property
    def help_text(self) -> str:
        if (get_language() or "fr").startswith("en") and self.description_en:
            return self.description_en
        return self.description


class Stage(models.TextChoices):
    APPLIED = "applied", _("Candidat")
    TRAINED = "trained", _("Formé")
    ACTIVE = "active", _("Actif")
    LAPSED = "lapsed", _("En sommeil")


# Moves a coordinator or HQ may make. Lapsing is also done by the periodic job; a lapsed role
# comes back through training or straight to active.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    Stage.APPLIED: frozenset({Stage.TRAINED}),
    Stage.TRAINED: frozenset({Stage.ACTIVE, Stage.APPLIED}),
    Stage.ACTIVE: frozenset({Stage.LAPSED}),
    Stage.LAPSED: frozenset({Stage.TRAINED, Stage.ACTIVE}),
}


class VolunteerQuerySet(models.QuerySet["Volunteer"]):
    """The filters of dispatch; each is one predicate that an index below serves."""

    def with_role(
        self, roles: Iterable[int | VolunteerRole], stages: Iterable[str] | None = None
    ) -> VolunteerQuerySet:
        ids = [r.pk if isinstance(r, VolunteerRole) else r for r in roles]
        assignments = RoleAssignment.objects.filter(volunteer=models.OuterRef("pk"), role__in=ids)
        if stages is not None:
            assignments = assignments.filter(stage__in=list(stages))
        return self.filter(models.Exists(assignments))

    def in_zone(
        self, *, departements: Iterable[str] = (), regions: Iterable[str] = ()
    ) -> VolunteerQuerySet:
        q = models.Q()
        if departements:
            q |= models.Q(departement__in=list(departements))
        if regions:
            q |= models.Q(region__in=list(regions))
        return self.filter(q) if q else self

    def in_team(self, teams: Iterable[int]) -> VolunteerQuerySet:
        from essaim.accounts.models import Membership

        members = Membership.objects.filter(
            user=models.OuterRef("pk"), team__in=list(teams), state=Membership.State.MEMBER
        )
        return self.filter(models.Exists(members))

    def available_in(self, mask: int) -> VolunteerQuerySet:
        """Volunteers free in at least one of the windows of `mask`."""
        return self.alias(_free=models.F("windows").bitand(mask)).filter(_free__gt=0)


class Volunteer(models.Model):
    """A person who gives time: the profile beside their account. Created on a confirmed
    "Je m'engage" sign-up or an accepted invitation, never by an import."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="volunteer",
        verbose_name=_("compte"),
    )
    # The base's record of the same person, where the consent (purpose volunteering) and its
    # proof live. SET_NULL: erasing the contact must not erase the account's history of work.
    contact = models.ForeignKey(
        "people.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="volunteers",
        verbose_name=_("contact"),
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    weekly_hours = models.PositiveSmallIntegerField(
        _("heures par semaine"), default=2, validators=[MaxValueValidator(80)]
    )
    windows = models.IntegerField(_("créneaux"), default=0)  # see window_bit
    skills = models.JSONField(_("compétences"), default=list, blank=True)
    languages = models.JSONField(_("langues"), default=list, blank=True)
    postcode = models.CharField(_("code postal"), max_length=10, blank=True)
    # Copied from the postcode at write time (essaim.people.services.zones), as for contacts.
    departement = models.CharField(_("département"), max_length=3, blank=True)
    region = models.CharField(_("région"), max_length=3, blank=True)
    created_at = models.DateTimeField(_("inscrit le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    # Set when abuse reports on their invitations pass INVITATIONS_ABUSE_SUSPEND_THRESHOLD:
    # they may not invite and their invitations waiting to be mailed stay unsent until a
    # coordinator or HQ lifts it (essaim.army.services.invitations). Reports made before the
    # last lift no longer count towards the threshold.
    invitations_suspended_at = models.DateTimeField(
        _("invitations suspendues le"), null=True, blank=True
    )
    invitations_lifted_at = models.DateTimeField(
        _("suspension des invitations levée le"), null=True, blank=True
    )

    objects = VolunteerQuerySet.as_manager()

    class Meta:
        verbose_name = _("volontaire")
        verbose_name_plural = _("volontaires")
        indexes: ClassVar = [
            models.Index(fields=["departement", "user"], name="army_vol_dep_idx"),
            models.Index(fields=["region", "user"], name="army_vol_reg_idx"),
        ]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(windows__gte=0, windows__lte=FULL_WEEK),
                name="army_vol_windows_range",
            )
        ]

    def __str__(self) -> str:
        return self.first_name or str(self.user_id)

    @property
    def window_set(self) -> set[tuple[int, int]]:
        return set(windows_from_mask(self.windows))

    @property
    def window_labels(self) -> list[str]:
        """ "samedi soir", … in the active language, for a coordinator's eyes."""
        return [f"{DAYS[d]} {PARTS_OF_DAY[p]}" for d, p in windows_from_mask(self.windows)]


class RoleAssignment(models.Model):
    """One volunteer in one role, at one stage of its lifecycle."""

    volunteer = models.ForeignKey(Volunteer, on_delete=models.CASCADE, related_name="assignments")
    role = models.ForeignKey(VolunteerRole, on_delete=models.PROTECT, related_name="assignments")
    stage = models.CharField(
        _("étape"), max_length=10, choices=Stage.choices, default=Stage.APPLIED
    )
    stage_changed_at = models.DateTimeField(_("depuis le"), default=timezone.now)
    stage_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("par"),
    )
    # Set by missions when a proof of work in this role is accepted; the lapse job reads it.
    last_accepted_work_at = models.DateTimeField(
        _("dernier travail accepté"), null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("rôle d'un volontaire")
        verbose_name_plural = _("rôles des volontaires")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["volunteer", "role"], name="army_assignment_uniq")
        ]
        indexes: ClassVar = [
            # Dispatch: "tchatcheurs, active" → volunteer ids, from the index alone.
            models.Index(fields=["role", "stage", "volunteer"], name="army_assign_dispatch_idx"),
            # The lapse job: active roles whose clock started before the cut-off.
            models.Index(fields=["stage", "stage_changed_at"], name="army_assign_stage_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.volunteer_id}:{self.role_id}:{self.stage}"

    def can_move_to(self, stage: str) -> bool:
        return stage in ALLOWED_MOVES.get(self.stage, frozenset())

    def move_to(self, stage: str, *, by: User | None, reason: str = "") -> RoleTransition:
        """Move this role to `stage` and record the transition. Raises ValueError for a move the
        lifecycle does not allow, and StaleStage when someone moved it meanwhile (the update is
        conditional on the stage we read, so two coordinators clicking at once make one move)."""
        if not self.can_move_to(stage):
            raise ValueError(f"cannot move a role from {self.stage} to {stage}")
        now = timezone.now()
        with transaction.atomic():
            moved = RoleAssignment.objects.filter(pk=self.pk, stage=self.stage).update(
                stage=stage, stage_changed_at=now, stage_changed_by=by
            )
            if not moved:
                raise StaleStage
            transition = RoleTransition.objects.create(
                assignment=self, from_stage=self.stage, to_stage=stage, at=now, by=by, reason=reason
            )
        self.stage, self.stage_changed_at, self.stage_changed_by = stage, now, by
        return transition


class StaleStage(Exception):
    """The role was moved by someone else since it was read."""


class RoleTransition(models.Model):
    """The history of a role: every move, who made it (None: the system) and when. Never updated."""

    assignment = models.ForeignKey(
        RoleAssignment, on_delete=models.CASCADE, related_name="transitions"
    )
    from_stage = models.CharField(max_length=10, choices=Stage.choices, blank=True)  # "": created
    to_stage = models.CharField(max_length=10, choices=Stage.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering: ClassVar = ["at", "id"]
        indexes: ClassVar = [models.Index(fields=["assignment", "at"], name="army_transition_idx")]
