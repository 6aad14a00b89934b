"""Unsubscribe links: signed, without expiry, usable by the page and by RFC 8058 one-click.

A token carries the contact's id and address hash, signed with SECRET_KEY: it cannot be forged
or pointed at someone else, and it never expires (leaving must always work, even from a mail
read years later). The hash makes a token useless for a different person who might one day get
the same id, and lets "unsubscribe from everything" suppress the address even after the contact
was erased.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse

from essaim.people.models import Consent, Contact, Purpose, Suppression
from essaim.people.services.contacts import record_event, withdraw_consent
from essaim.people.services.suppression import suppress, suppress_hash

UNSUBSCRIBE_SALT = "essaim.unsubscribe"
REASON = "unsubscribe"


class InvalidUnsubscribeToken(Exception):
    """The token was not made by us or was altered."""


@dataclass(frozen=True)
class UnsubscribeTarget:
    """Whom a valid token designates; `contact` is None once they are erased."""

    contact_id: int
    email_hash: str
    contact: Contact | None


@dataclass(frozen=True)
class UnsubscribeResult:
    withdrawn: list[str] = field(default_factory=list)  # purposes that changed
    suppressed: bool = False  # the address was added to the suppression list now

    @property
    def changed(self) -> bool:
        return bool(self.withdrawn or self.suppressed)


def _signer() -> signing.Signer:
    return signing.Signer(salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(contact: Contact) -> str:
    return _signer().sign_object({"c": contact.pk, "h": contact.email_hash})


def unsubscribe_url(contact: Contact) -> str:
    """Absolute link to the unsubscribe page (also the target of a one-click POST)."""
    path = reverse("public:unsubscribe", kwargs={"token": unsubscribe_token(contact)})
    return f"{settings.SITE_URL}{path}"


def read_unsubscribe_token(token: str) -> UnsubscribeTarget:
    """Whom the token designates; raises InvalidUnsubscribeToken."""
    try:
        payload = _signer().unsign_object(token)
        contact_id, hashed = int(payload["c"]), str(payload["h"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise InvalidUnsubscribeToken from exc
    return unsubscribe_target(contact_id, hashed)


def unsubscribe_target(contact_id: int, email_hash: str) -> UnsubscribeTarget:
    """The person a contact id and address hash name (from a token, or a ledger row); the
    contact only if it is still the one with that address."""
    contact = Contact.objects.filter(pk=contact_id, email_hash=email_hash).first()
    return UnsubscribeTarget(contact_id=contact_id, email_hash=email_hash, contact=contact)


def granted_purposes(target: UnsubscribeTarget) -> list[str]:
    if target.contact is None:
        return []
    granted = set(
        Consent.objects.filter(contact=target.contact, status=Consent.Status.GRANTED).values_list(
            "purpose", flat=True
        )
    )
    return [p for p in Purpose.values if p in granted]


def is_unsubscribed_from_everything(target: UnsubscribeTarget) -> bool:
    return Suppression.objects.filter(email_hash=target.email_hash).exists()


def unsubscribe(
    target: UnsubscribeTarget,
    *,
    purposes: Iterable[str] | None,
    channel: str,
    ip: str | None = None,
    user_agent: str = "",
    source_ref: str = "",
) -> UnsubscribeResult:
    """The person leaves: from `purposes`, or from everything when `purposes` is None.

    Everything means: every consent withdrawn and the address on the suppression list, so no
    channel mails it again. Idempotent: a repeated request changes nothing and adds nothing to
    the timeline. `channel` says how ("page", "one_click"…); `source_ref` names the mail it came
    from (a campaign id), both kept on the contact's timeline.
    """
    everything = purposes is None
    wanted = list(Purpose.values) if purposes is None else [p for p in purposes]
    unknown = set(wanted) - set(Purpose.values)
    if unknown:
        raise ValueError(f"unknown purposes: {sorted(unknown)}")
    contact = target.contact
    with transaction.atomic():
        withdrawn: list[str] = []
        if contact is not None:
            changed = set(withdraw_consent(contact, purposes=wanted, reason=REASON))
            withdrawn = [p for p in Purpose.values if p in changed]
        suppressed = False
        if everything and contact is not None:
            suppressed = suppress(
                email_key=contact.email_key, reason=Suppression.Reason.UNSUBSCRIBE
            )
        elif everything:
            # The contact was erased (its hash is normally suppressed already): record the wish.
            suppressed = suppress_hash(
                hashed=target.email_hash, reason=Suppression.Reason.UNSUBSCRIBE
            )
        result = UnsubscribeResult(withdrawn=withdrawn, suppressed=suppressed)
        if contact is not None and result.changed:
            record_event(
                contact,
                "unsubscribed",
                scope="all" if everything else wanted,
                withdrawn=withdrawn,
                suppressed=suppressed,
                channel=channel,
                source_ref=source_ref,
                ip=ip,
                user_agent=user_agent[:300],
            )
    return result


__all__ = [
    "InvalidUnsubscribeToken",
    "UnsubscribeResult",
    "UnsubscribeTarget",
    "granted_purposes",
    "is_unsubscribed_from_everything",
    "read_unsubscribe_token",
    "unsubscribe",
    "unsubscribe_token",
    "unsubscribe_url",
]
