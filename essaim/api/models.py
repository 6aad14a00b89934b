"""API tokens: a token acts as its user; only its sha256 is stored."""

from __future__ import annotations

import hashlib
import ipaddress
from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ = "read", _("Lecture")
    WRITE = "write", _("Écriture")
    # Reading contacts (list, search, get, GDPR report) is a scope of its own: an integration
    # that reads teams or writes contacts must not be able to dump the base as well.
    CONTACTS_READ = "contacts:read", _("Lecture des contacts")


def token_hash(raw: str) -> str:
    # A token carries 256 bits of randomness: a plain sha256 is enough (no need for a slow hash),
    # and it lets us find the row by an indexed equality instead of comparing secrets in Python.
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def active(self) -> ApiTokenQuerySet:
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    """One integration's credential. `prefix` is shown in lists and recorded as the proof
    (`source_ref`) of the consents it writes; the secret itself is only printed once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("nom"), max_length=100)
    prefix = models.CharField(max_length=8, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # Always explicit: a subset of Scope, never empty (migration 0002 gave the tokens that had
    # none, which meant "everything", read and write but not contacts:read).
    scopes = models.JSONField(default=list, blank=True)
    # CIDR networks (IPv4 or IPv6) the token is accepted from; empty: from anywhere.
    networks = models.JSONField(_("réseaux autorisés"), default=list, blank=True)
    # Requests per minute; null: settings.API_RATE_LIMIT.
    rate_per_minute = models.PositiveIntegerField(_("requêtes par minute"), null=True, blank=True)
    # People read per day (midnight to midnight, TIME_ZONE); null: API_DAILY_PEOPLE_BUDGET.
    daily_people_budget = models.PositiveIntegerField(
        _("personnes lues par jour"), null=True, blank=True
    )
    # Today's count, reset by the first read of another day (one conditional UPDATE per read).
    people_read_on = models.DateField(null=True, blank=True)
    people_read = models.PositiveBigIntegerField(default=0)
    # The day HQ admins were last told that this token ran out of budget (told once a day).
    budget_alerted_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("jeton d'API")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix} ({self.name})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def scope_labels(self) -> list[str]:
        """The scopes as people read them ("Lecture des contacts", not "contacts:read")."""
        labels = dict(Scope.choices)
        return [str(labels.get(scope, scope)) for scope in self.scopes]

    def accepts_address(self, ip: str | None) -> bool:
        """Whether a request from `ip` may use the token (any address when no network is set)."""
        if not self.networks:
            return True
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(net) for net in self.networks)

    def budget(self) -> int:
        if self.daily_people_budget is not None:
            return self.daily_people_budget
        return int(settings.API_DAILY_PEOPLE_BUDGET)

    def read_on(self, day: date) -> int:
        """People read through this token on `day` (as far as the loaded row knows)."""
        return self.people_read if self.people_read_on == day else 0

    def rate(self) -> str:
        if self.rate_per_minute:
            return f"{self.rate_per_minute}/m"
        return str(settings.API_RATE_LIMIT)
