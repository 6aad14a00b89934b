"""The signed codes of a campaign message: its unsubscribe token and its VERP tag.

- The unsubscribe link carries the token essaim.people.services.unsubscribe reads, made here
  without django.core.signing's cost (it derives its key at every call).
- The envelope sender is `bounces+<delivery id>-<tag>@<verp domain>`, and the List-Unsubscribe
  mailto: repeats `<delivery id>-<tag>`: bounce, complaint and unsubscribe intake can trust the
  delivery id they read back (a forged report cannot suppress somebody else).

Keys and hashes come from essaim.lib.signing; this module holds the formats.
"""

from __future__ import annotations

import json
import re
from typing import Final

from essaim.lib.signing import DjangoSigner, HmacSha256, derive_key, verify
from essaim.people.services.unsubscribe import UNSUBSCRIBE_SALT

VERP_PURPOSE: Final = b"essaim.mailing.verp"
_VERP_LOCAL_RE: Final = re.compile(r"bounces\+(\d+)-([a-z2-7]{8})")
_TAG_CACHE_LIMIT: Final = 8192


class UnsubscribeSigner:
    """Makes exactly the tokens of essaim.people.services.unsubscribe.unsubscribe_token
    (Django's Signer.sign_object, see essaim.lib.signing.DjangoSigner); a test checks that both
    agree and that the unsubscribe page accepts ours."""

    def __init__(self, secret: str | None = None) -> None:
        self._signer = DjangoSigner(UNSUBSCRIBE_SALT, secret)

    def token(self, contact_id: int, email_hash: str) -> str:
        return self.token_bytes(contact_id, email_hash).decode("ascii")

    def token_bytes(self, contact_id: int, email_hash: str) -> bytes:
        """token() as ASCII bytes: the message is assembled from bytes, and one decode and
        encode less per message counts on the sender's hot path."""
        # ASCII letters and digits only (a hex hash): exactly what json.dumps would write,
        # without its cost; isascii/isalnum are C calls, cheaper than a regex match.
        if email_hash.isascii() and email_hash.isalnum():
            payload = b'{"c":%d,"h":"%s"}' % (contact_id, email_hash.encode("ascii"))
        else:
            payload = json.dumps({"c": contact_id, "h": email_hash}, separators=(",", ":")).encode(
                "latin-1"
            )
        return self._signer.sign_json(payload)


class VerpSigner:
    """Envelope senders `bounces+<delivery id>-<tag>@<verp domain>`, the tag an HMAC of the
    delivery id (see the module's docstring)."""

    def __init__(self, domain: str, secret: str | None = None) -> None:
        self.domain = domain
        self._mac = HmacSha256(derive_key(VERP_PURPOSE, secret))
        # The envelope (at claim time) and the mailto of List-Unsubscribe (when the message is
        # built, a batch later) both need a message's tag.
        self._tags: dict[int, str] = {}

    def tag(self, delivery_id: int) -> str:
        tag = self._tags.get(delivery_id)
        if tag is not None:
            return tag
        tag = self._mac.short_tag(str(delivery_id).encode())
        if len(self._tags) >= _TAG_CACHE_LIMIT:
            self._tags.clear()
        self._tags[delivery_id] = tag
        return tag

    def check(self, delivery_id: int, tag: str) -> bool:
        """Whether `tag` is the delivery's (a code read back from a report or a subject)."""
        return verify(self.tag(delivery_id), tag)

    def address(self, delivery_id: int) -> str:
        return f"bounces+{delivery_id}-{self.tag(delivery_id)}@{self.domain}"

    def read(self, local_part: str) -> int | None:
        """The delivery id of a VERP local part if its HMAC is right, else None."""
        match = _VERP_LOCAL_RE.fullmatch(local_part)
        if not match:
            return None
        delivery_id = int(match.group(1))
        return delivery_id if self.check(delivery_id, match.group(2)) else None
