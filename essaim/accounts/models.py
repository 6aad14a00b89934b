"""Staff and volunteer accounts, teams, and the audit log."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    HQ_ADMIN = "hq_admin", _("Administrateur QG")
    HQ_STAFF = "hq_staff", _("Équipe QG")
    COORDINATOR = "coordinator", _("Coordinateur")
    VOLUNTEER = "volunteer", _("Volontaire")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.HQ_ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. The role decides what they reach; coordinators are also scoped to
    départements (`zones`) and to the teams they coordinate."""

    email = models.EmailField(_("adresse e-mail"), unique=True)
    full_name = models.CharField(_("nom"), max_length=150, blank=True)
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.VOLUNTEER)
    # Département codes ("75", "2A", "971") a coordinator may see. Kept on the user, not in a join
    # table: a handful of codes, read on every request, used as `departement__in=` in one query.
    zones = models.JSONField(_("zones (départements)"), default=list, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    date_joined = models.DateTimeField(_("inscrit le"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")

    def __str__(self) -> str:
        return self.email

    @property
    def is_staff(self) -> bool:  # the Django admin is for HQ admins only
        return self.is_active and self.role == Role.HQ_ADMIN

    @property  # replaces PermissionsMixin's column: derived from the role, never set apart
    def is_superuser(self) -> bool:  # type: ignore[override]
        return self.is_active and self.role == Role.HQ_ADMIN

    @property
    def is_hq(self) -> bool:
        return self.role in {Role.HQ_ADMIN, Role.HQ_STAFF}

    @property
    def is_coordinator(self) -> bool:
        return self.role == Role.COORDINATOR

    @property
    def is_volunteer(self) -> bool:
        return self.role == Role.VOLUNTEER


class Team(models.Model):
    """A group of volunteers that acts without waiting for HQ: local (a département) or thematic
    (a subject, a kind of work). Its coordinators are members with `is_coordinator`."""

    class Kind(models.TextChoices):
        LOCAL = "local", _("Locale")
        THEMATIC = "thematic", _("Thématique")

    name = models.CharField(_("nom"), max_length=150, unique=True)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices, default=Kind.LOCAL)
    # A local team's zone; a thematic team may name one too (then it is only informative).
    departement = models.CharField(_("département"), max_length=3, blank=True)
    region = models.CharField(_("région"), max_length=3, blank=True)
    description = models.TextField(_("description"), blank=True)
    # Closed teams show no "join" button; coordinators add members from requests only.
    accepts_requests = models.BooleanField(_("accepte les demandes"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("équipe")
        indexes: ClassVar = [
            models.Index(fields=["kind", "departement"], name="accounts_team_kind_dep_idx")
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's place in a team. A join request is a membership in state `requested` that a
    coordinator approves (`member`) or declines; only `member` rows count anywhere."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Demande en attente")
        MEMBER = "member", _("Membre")
        DECLINED = "declined", _("Demande refusée")
        LEFT = "left", _("Parti")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    state = models.CharField(_("état"), max_length=10, choices=State.choices, default=State.MEMBER)
    is_coordinator = models.BooleanField(_("coordinateur"), default=False)
    message = models.CharField(_("message"), max_length=300, blank=True)  # with the request
    requested_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    decided_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["team", "user"], name="uniq_membership")
        ]
        indexes: ClassVar = [
            # A team's members or pending requests; (user, state) serves "my teams".
            models.Index(fields=["team", "state", "user"], name="accounts_member_team_idx"),
            models.Index(fields=["user", "state"], name="accounts_member_user_idx"),
        ]


class AuditEvent(models.Model):
    """Who did what, when, to which object, from where. Written for every export, every read of
    contacts in clear, every reveal of a person's details and every other sensitive act; never
    updated, never deleted (on PostgreSQL a trigger refuses both, see migration 0003).

    Tamper-evident: `hash` is sha256 over the previous entry's hash and this entry's canonical
    content (`canonical`), so editing, back-dating or removing a row breaks the chain from
    there on (`essaim audit verify`). Only essaim.accounts.services.audit() writes rows."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # No foreign key in the database and DO_NOTHING in Django: deleting a user must neither
    # cascade nor SET NULL here (either would rewrite append-only rows, which the trigger
    # refuses, and break their hash); the entry keeps the id and `actor_email` of who acted.
    actor = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
    )
    actor_email = models.CharField(max_length=254, blank=True)  # kept if the account goes
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_email} {self.action}"

    def compute_hash(self) -> str:
        return chain_hash(self)


def chain_hash(event: Any) -> str:
    """sha256 over the previous entry's hash and the entry's canonical content (a function, not
    only a method, so that migrations can hash their historical rows the same way)."""
    return hashlib.sha256(event.prev_hash.encode("ascii") + b"\n" + canonical(event)).hexdigest()


def canonical(event: Any) -> bytes:
    """The entry's content as hashed: fixed keys, sorted, ASCII-only JSON of the values as the
    database gives them back (UTC time to the microsecond, normalized address; floats that are
    whole numbers written as integers, which is how PostgreSQL's jsonb returns them)."""
    return json.dumps(
        {
            "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": event.actor_id,
            "actor_email": event.actor_email,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "ip": event.ip or None,
            "user_agent": event.user_agent,
            "details": _canonical_json(event.details),
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")


def _canonical_json(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _canonical_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical_json(v) for v in value]
    return value


class Notification(models.Model):
    """Something a person should know or act on: a join request for a team they run, a proof to
    review, a mission offered, a proof accepted or returned, an approval waiting.

    What it is about is `kind` and `object_id`: the apps that produce a kind register it
    (essaim.accounts.services.notifications.register_kind) and say how it reads and where it
    leads, so accounts names no model of theirs. One row per (recipient, kind, object): telling
    someone again about the same thing renews the row instead of adding one."""

    # No database foreign key (Django still cascades deletes): a mission is offered to tens of
    # thousands of volunteers in one INSERT … SELECT of existing users, and on PostgreSQL the
    # per-row referential check (which locks the user's row) cost more than the insert itself
    # (docs/benchmarks.md, army).
    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications", db_constraint=False
    )
    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        # Three indexes, each written by every row of a dispatch, so each serves several reads.
        # The unique one leads with the thing: a dispatch's rows land side by side in it, and
        # settling a thing for everyone (`settle`) finds its rows there. The recipient's holds
        # their list, their counts per kind (unread: read_at IS NULL, from the index alone) and
        # their marking. The digest's, partial, holds only what waits for a mail.
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "recipient"], name="accounts_notif_uniq"
            )
        ]
        indexes: ClassVar = [
            models.Index(
                fields=["recipient", "read_at", "kind"], name="accounts_notif_recipient_idx"
            ),
            models.Index(
                fields=["recipient"],
                condition=models.Q(read_at__isnull=True, emailed_at__isnull=True),
                name="accounts_notif_digest_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recipient_id}:{self.kind}:{self.object_id}"


class NotificationSettings(models.Model):
    """How often a person wants the email digest of their unread notifications. A row of its
    own, written by the digest job at each mail, rather than columns of the user, which every
    login writes."""

    class Digest(models.TextChoices):
        NONE = "none", _("Jamais")
        DAILY = "daily", _("Chaque jour")
        WEEKLY = "weekly", _("Chaque semaine")

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="notification_settings"
    )
    digest = models.CharField(
        _("récapitulatif par e-mail"), max_length=6, choices=Digest.choices, default=Digest.DAILY
    )
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("réglages des notifications")
        verbose_name_plural = _("réglages des notifications")
