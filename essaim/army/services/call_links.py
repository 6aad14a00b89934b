"""The per-recipient link of a call's mail: `/appel/<call>/?t=<token>`.

The token names the ledger row (the delivery) the mail was sent for — and through it the call's
campaign and the contact — without showing any identifier: the delivery id and the issue time
fill one AES block (encrypted, so the link shows no id a reader could change or count), followed
by 80 bits of HMAC-SHA256 over the call id and that block (so it is ours, and for this call
only). 35 URL-safe characters; no cookie, no click id, nothing stored per recipient.

A token is refused when forged or altered, older than CALL_LINK_MAX_AGE, for a row of another
campaign, or for a contact who was erased (the ledger row's contact is then NULL) or whose
address is on the suppression list: the landing page is then the anonymous one.

The sender builds a link per recipient (essaim.mailing.links): a token costs one block of AES
(one reused ECB context) and two SHA-256 compressions (essaim.lib.signing), a few
microseconds, like the unsubscribe token beside it; Django's signing would cost ~20 µs.
"""

from __future__ import annotations

import binascii
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from django.conf import settings
from django.urls import reverse

from essaim.lib.signing import HmacSha256, derive_key, from_urlsafe_b64, subkey, urlsafe_b64
from essaim.mailing.message import Recipient
from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Contact, Suppression

_TAG_BYTES: Final = 10
_TOKEN_BYTES: Final = 16 + _TAG_BYTES


class InvalidCallLink(Exception):
    """Not a token of ours for this call (forged, altered, truncated, another call's)."""


class ExpiredCallLink(InvalidCallLink):
    """A genuine token older than CALL_LINK_MAX_AGE."""


class CallLinkSigner:
    def __init__(self, secret: str | None = None) -> None:
        root = derive_key(b"essaim.army.call-link", secret)
        self._key = subkey(root, b"encrypt")
        self._mac = HmacSha256(subkey(root, b"authenticate"))
        # ECB on exactly one block is the AES permutation itself: no chaining, no IV, and a
        # context that can be reused for every token. The block holds a unique delivery id; its
        # integrity comes from the HMAC, not from the mode.
        self._encryptor = Cipher(algorithms.AES(self._key), modes.ECB()).encryptor()  # noqa: S305

    def token(self, call_id: int, delivery_id: int, issued: int) -> str:
        block = self._encryptor.update(struct.pack(">QI4x", delivery_id, issued))
        tag = self._mac.tag(struct.pack(">Q", call_id) + block, _TAG_BYTES)
        return urlsafe_b64(block + tag).decode()

    def read(self, call_id: int, token: str) -> tuple[int, int]:
        """(delivery id, issue time); InvalidCallLink otherwise."""
        if not 30 <= len(token) <= 40 or not token.isascii():
            raise InvalidCallLink
        try:
            raw = from_urlsafe_b64(token.encode())
        except binascii.Error as exc:
            raise InvalidCallLink from exc
        if len(raw) != _TOKEN_BYTES or urlsafe_b64(raw).decode() != token:
            # One spelling per token: the last base64 character has spare bits that decoding
            # ignores, so another character there would otherwise read as the same token.
            raise InvalidCallLink
        block, tag = raw[:16], raw[16:]
        if not self._mac.verify(struct.pack(">Q", call_id) + block, tag, _TAG_BYTES):
            raise InvalidCallLink
        decryptor = Cipher(algorithms.AES(self._key), modes.ECB()).decryptor()  # noqa: S305
        delivery_id, issued = struct.unpack(">QI4x", decryptor.update(block))
        return int(delivery_id), int(issued)


def landing_path(call_id: int) -> str:
    return reverse("army_public:call_landing", kwargs={"pk": call_id})


def link_factory(campaign: Campaign, site_url: str) -> Callable[[Recipient], str] | None:
    """essaim.mailing.links' factory for `call_url`: the campaign's call link per recipient.

    A preview or a test send (delivery id 0: no ledger row) gets the page without a token, so
    that whoever reads a test mail is never taken for a contact."""
    from essaim.army.models import Call

    call_id = Call.objects.filter(campaign=campaign).values_list("pk", flat=True).first()
    if call_id is None:
        return None
    signer = CallLinkSigner()
    issued = int(time.time())
    page = f"{site_url.rstrip('/')}{landing_path(call_id)}"
    prefix = f"{page}?t="

    def build(recipient: Recipient) -> str:
        if not recipient.delivery_id:
            return page
        return prefix + signer.token(call_id, recipient.delivery_id, issued)

    return build


@dataclass(frozen=True)
class CallRecipient:
    """The contact a valid link names, and the mail (ledger row) that carried it."""

    contact: Contact
    delivery_id: int


def read_link(call_id: int, campaign_id: int, token: str) -> CallRecipient:
    """The contact behind a link of this call. Raises ExpiredCallLink, or InvalidCallLink when
    the token is not ours, names another campaign's row, or names nobody we may greet any
    more (erased, or on the suppression list)."""
    delivery_id, issued = CallLinkSigner().read(call_id, token)
    if time.time() - issued > settings.CALL_LINK_MAX_AGE:
        raise ExpiredCallLink
    row = (
        Delivery.objects.select_related("contact")
        .filter(pk=delivery_id, campaign_id=campaign_id)
        .first()
    )
    if row is None or row.contact is None:
        raise InvalidCallLink
    hashes = {row.email_hash, row.contact.email_hash}
    if Suppression.objects.filter(email_hash__in=hashes).exists():
        raise InvalidCallLink
    return CallRecipient(contact=row.contact, delivery_id=row.pk)
