"""The contact base: contacts, consent, tags, zones, suppression, segments, imports.

Sized for a million contacts and more: every column a segment filters on is a plain indexed
column of `Contact` (département and région are copied from the postcode at write time) so that
a segment count is one SQL query over one table plus, for tags and consent, indexed semi-joins.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from essaim.lib.lookups import prefix_q
from essaim.lib.text import InvalidValue, name_key, normalize_phone


class Tag(models.Model):
    name = models.CharField(_("nom"), max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# What a phone number looks like in a search box: digits, spaces, dots, dashes, an optional "+".
_PHONE_RE = re.compile(r"^\+?[\d][\d .\-()]{5,}$")
# The start of a postcode (shown in clear to everyone who sees the row).
_POSTCODE_PREFIX_RE = re.compile(r"^[0-9]{2,5}$")
# A bare domain typed in the search box ("gmail.com", "campagne.fr").
_DOMAIN_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$", re.IGNORECASE)
# Words of a name query tried as first/last name splits; more are ignored.
NAME_SEARCH_TOKENS = 4


def masked_field_searched(query: str) -> str:
    """The field `query` can only search, "phone" or "email", which coordinators see
    masked; "" for a search on what everyone sees (names, postcode)."""
    text = " ".join(query.split())
    if _PHONE_RE.match(text):
        return "phone"
    if "@" in text:
        return "email"
    return ""


class ContactQuerySet(models.QuerySet["Contact"]):
    def visible_to(self, user: Any) -> ContactQuerySet:
        """HQ sees everything, a coordinator their départements, anyone else nothing."""
        if user.is_authenticated and user.is_active and user.is_hq:
            return self
        if user.is_authenticated and user.is_active and user.is_coordinator:
            return self.filter(departement__in=list(user.zones or []))
        return self.none()

    def mailable(self, purpose: str) -> ContactQuerySet:
        """Contacts with a granted consent for `purpose` and not on the suppression list."""
        return self.filter(
            models.Exists(
                Consent.objects.filter(
                    contact=models.OuterRef("pk"), purpose=purpose, status=Consent.Status.GRANTED
                )
            ),
        ).exclude(
            models.Exists(Suppression.objects.filter(email_hash=models.OuterRef("email_hash")))
        )

    def search(
        self, query: str, *, masked: bool = False, town_postcodes: tuple[str, ...] = ()
    ) -> ContactQuerySet:
        """Contacts matching what someone typed in the search box, always through an index but
        for a domain.

        A phone number matches exactly (E.164); an address with "@" matches as a prefix of
        `email_key`, "@domain" or a bare "domain.tld" the addresses of that domain; two to five
        digits match a prefix of the postcode; anything else matches names, accents and case
        aside ("lefevre" finds "Lefèvre", "marie dupont" and "dupont marie" find her), the
        postcodes of a town whose name it is (`town_postcodes`, given by the caller from the
        zones), or a prefix of the address. With `masked` (coordinators, who see addresses and
        phones masked) only what they see in clear is searched: a phone number or an address
        matches nothing (callers refuse such a query first, see people.services.contact_search),
        and no address or domain is tried.
        """
        text = " ".join(query.split())
        if not text:
            return self
        field = masked_field_searched(text)
        if field and masked:
            return self.none()
        if field == "phone":
            try:
                return self.filter(phone=normalize_phone(text))
            except InvalidValue:
                return self.none()
        if field == "email":
            if text.startswith("@") and len(text) > 1:
                return self.filter(email_key__endswith=text.casefold())
            return self.filter(prefix_q("email_key", text.casefold()))
        if _POSTCODE_PREFIX_RE.match(text):
            by_postcode = prefix_q("postcode", text)
            if not masked:
                by_postcode |= prefix_q("email_key", text)
            return self.filter(by_postcode)
        # Words are what the person typed apart; "marie.c" is one word, never "marie" and "c".
        tokens = [key for word in text.split()[:NAME_SEARCH_TOKENS] if (key := name_key(word))]
        found = models.Q(pk__in=[])
        if tokens:
            found = prefix_q("last_name_key", " ".join(tokens))
        for cut in range(1, len(tokens)):
            first, last = " ".join(tokens[:cut]), " ".join(tokens[cut:])
            found |= prefix_q("first_name_key", first) & prefix_q("last_name_key", last)
            found |= prefix_q("last_name_key", first) & prefix_q("first_name_key", last)
        if town_postcodes:
            found |= models.Q(postcode__in=town_postcodes)
        if not masked:
            found |= prefix_q("email_key", text.casefold())
            if _DOMAIN_RE.match(text):
                found |= models.Q(email_key__endswith="@" + text.casefold())
        return self.filter(found)


# The sources that Essaim itself writes on a contact (the others are imports' own words).
SOURCE_LABELS = {
    "signup": _("Formulaire d'inscription"),
    "invitation": _("Invitation d'un volontaire"),
    "staff": _("Saisie QG"),
}


class Contact(models.Model):
    # `email` is shown and mailed as normalized (trimmed, domain lower-cased and IDNA-encoded);
    # `email_key` is its case-folded form, the identity of a person in the base.
    email = models.CharField(_("e-mail"), max_length=254)
    email_key = models.CharField(max_length=254, unique=True)
    # sha256 of email_key: joins with the suppression list without keeping clear addresses there.
    email_hash = models.CharField(max_length=64)
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150, blank=True)
    phone = models.CharField(_("téléphone"), max_length=20, blank=True)  # E.164
    postcode = models.CharField(_("code postal"), max_length=10, blank=True, db_index=True)
    departement = models.CharField(_("département"), max_length=3, blank=True)
    region = models.CharField(_("région"), max_length=3, blank=True)
    # Free text: an import's source as its author typed it, or one of the codes below.
    source = models.CharField(_("source"), max_length=100, blank=True)
    # The names as searched (lib.text.name_key), written with them by save() and by the bulk
    # writers, so that "lefevre" finds "Lefèvre" through an index on both databases.
    # A database default too: rows written by raw SQL elsewhere (benches, tests) stay valid.
    last_name_key = models.CharField(max_length=150, blank=True, default="", db_default="")
    first_name_key = models.CharField(max_length=150, blank=True, default="", db_default="")
    created_at = models.DateTimeField(_("créé le"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    tags = models.ManyToManyField(Tag, through="ContactTag", related_name="contacts", blank=True)
    # The import that created the contact: the "Import" entry of its timeline, written with the
    # row instead of one ContactEvent per created contact (a million extra rows, indexed and
    # checked, for a first load). No database constraint and no index: the bulk path writes it
    # a million times without a foreign-key check each, nothing looks contacts up by it, and
    # batches are never deleted (their files are purged, not their rows).
    import_batch = models.ForeignKey(
        "ImportBatch",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    objects = ContactQuerySet.as_manager()

    class Meta:
        verbose_name = _("contact")
        # Every index costs each imported row an insertion (the 1M-row import is bound by them),
        # so each one here has a reader. Declared in Meta rather than with db_index=True, which on
        # PostgreSQL adds a second `_like` index to every CharField: only email_key (address
        # prefix search) and postcode (prefix filter) need one. (region, id) and (departement, id)
        # turn a zone filter into an index-only scan feeding the segments' semi-joins. The
        # name search reads last_name_key's index.
        # No index on email_hash: nothing looks a contact up by it alone (suppression joins probe
        # the suppression table's unique hash; unsubscribe links carry the id).
        indexes = [
            models.Index(fields=["phone"], name="people_contact_phone_idx"),
            models.Index(fields=["source"], name="people_contact_source_idx"),
            models.Index(fields=["region", "id"], name="people_contact_reg_id_idx"),
            models.Index(fields=["departement", "id"], name="people_contact_dep_id_idx"),
            # Name search by prefix: LIKE 'lef%' on PostgreSQL whatever the collation, a range
            # on SQLite (which ignores the operator class).
            models.Index(
                fields=["last_name_key"],
                name="people_contact_name_key_idx",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.fill_name_keys()
        fields = kwargs.get("update_fields")
        if fields is not None and {"first_name", "last_name"} & set(fields):
            kwargs["update_fields"] = [*fields, "first_name_key", "last_name_key"]
        super().save(*args, **kwargs)

    def fill_name_keys(self) -> None:
        self.last_name_key = name_key(self.last_name)
        self.first_name_key = name_key(self.first_name)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def source_label(self) -> str:
        return str(SOURCE_LABELS.get(self.source, self.source))


class ContactTag(models.Model):
    # No single-column foreign-key indexes: (contact, tag) and (tag, contact) below lead with
    # each column. A lone tag_id index also lured PostgreSQL's segment counts into reading the
    # table instead of an index-only scan of (tag, contact).
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "tag"], name="uniq_contact_tag")]
        # The reverse direction, for "contacts with tag T" in segments.
        indexes = [models.Index(fields=["tag", "contact"])]


class Purpose(models.TextChoices):
    NEWS = "news", _("Actualités")
    MOBILIZATION = "mobilization", _("Mobilisation")
    VOLUNTEERING = "volunteering", _("Bénévolat")


def purpose_labels(codes: list[str]) -> list[str]:
    """The labels of purpose codes, for people to read; an unknown code stays as it is."""
    labels = dict(Purpose.choices)
    return [str(labels.get(code, code)) for code in codes]


class Consent(models.Model):
    """Consent of one contact for one purpose, with its legal basis and proof.

    Political opinion is special-category data (GDPR art. 9): the basis is explicit consent or,
    for members and regular contacts of the movement, art. 9.2.d. It only goes down by the
    person's own act (unsubscribe, erasure) or a bounce/complaint; an import never lowers it.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("En attente de confirmation")
        GRANTED = "granted", _("Accordé")
        WITHDRAWN = "withdrawn", _("Retiré")

    class Basis(models.TextChoices):
        EXPLICIT_CONSENT = "explicit_consent", _("Consentement explicite (art. 9.2.a)")
        MEMBERSHIP = "membership", _("Membre ou contact régulier (art. 9.2.d)")

    class Source(models.TextChoices):
        SIGNUP_FORM = "signup_form", _("Formulaire d'inscription")
        IMPORT = "import", _("Import")
        INVITATION = "invitation", _("Invitation")
        API = "api", _("API")
        STAFF = "staff", _("Saisie QG")
        CALL = "call", _("Appel à volontaires")

    # Indexed by the unique (contact, purpose) below, which leads with it.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="consents", db_index=False
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    basis = models.CharField(max_length=20, choices=Basis.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    # Proof: the import batch id, the API token name, the inviter's id…
    source_ref = models.CharField(max_length=100, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)  # double opt-in
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_reason = models.CharField(max_length=50, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "purpose"], name="uniq_consent_purpose")
        ]
        indexes = [models.Index(fields=["purpose", "status", "contact"])]


class ContactEvent(models.Model):
    """The contact's timeline: consents given and withdrawn, imports, edits, reveals, bounces."""

    # Indexed by (contact, -at) below, which leads with it.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact", "-at"])]


def email_hash(email_key: str) -> str:
    # Unkeyed on purpose: a suppression must survive a rotation of SECRET_KEY, or an erased person
    # could be imported and mailed again.
    return hashlib.sha256(email_key.encode("utf-8")).hexdigest()


class Suppression(models.Model):
    """Addresses no channel may ever mail, kept as hashes so erasure leaves no clear address."""

    class Reason(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe", _("Désinscription")
        ERASURE = "erasure", _("Effacement RGPD")
        HARD_BOUNCE = "hard_bounce", _("Adresse invalide")
        COMPLAINT = "complaint", _("Plainte")
        ABUSE_REPORT = "abuse_report", _("Signalement d'abus")
        STAFF = "staff", _("Décision QG")

    email_hash = models.CharField(max_length=64, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    created_at = models.DateTimeField(default=timezone.now)
    note = models.CharField(max_length=200, blank=True)


class Segment(models.Model):
    """A saved audience. `definition` is the filter document of people.services.segments; it
    compiles to one SQL query."""

    name = models.CharField(_("nom"), max_length=150, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    definition = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_count = models.PositiveIntegerField(null=True, blank=True)
    last_counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportBatch(models.Model):
    """One CSV import: the file, the declared basis, the progress and the outcome."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Téléversé")
        QUEUED = "queued", _("En file")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Terminé")
        FAILED = "failed", _("Échec")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500)  # under DATA_DIR/imports
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    mapping = models.JSONField(default=dict, blank=True)  # field name -> column index
    basis = models.CharField(max_length=20, choices=Consent.Basis.choices)
    purposes = models.JSONField(default=list)
    source = models.CharField(max_length=100)
    tags = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    # Values left out of imported rows (an invalid phone, postcode or tag): one per value.
    warnings = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    report_path = models.CharField(max_length=500, blank=True)  # the rejected rows
    warnings_path = models.CharField(max_length=500, blank=True)  # the values left out
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    @property
    def purpose_labels(self) -> list[str]:
        return purpose_labels(self.purposes)

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(99, int(100 * self.processed_rows / self.total_rows))


class DeferredSchema(models.Model):
    """An index or a foreign key of the contact tables dropped for a bulk load and not rebuilt
    yet, with the database's own statement to rebuild it. Rows exist only while a bulk import
    runs, or after one was killed: the next import rebuilds them (people.services.imports.bulk)."""

    class Kind(models.TextChoices):
        INDEX = "index"
        FOREIGN_KEY = "foreign_key"

    name = models.CharField(max_length=200, unique=True)
    table = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    sql = models.TextField()
    # A foreign key's child column, whose rows pointing to a deleted parent are removed first.
    column = models.CharField(max_length=200, blank=True)
    dropped_at = models.DateTimeField(default=timezone.now)


__all__ = [
    "Consent",
    "Contact",
    "ContactEvent",
    "ContactTag",
    "DeferredSchema",
    "ImportBatch",
    "Purpose",
    "Segment",
    "Suppression",
    "Tag",
    "email_hash",
    "masked_field_searched",
]
