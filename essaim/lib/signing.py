"""Keyed hashes of SECRET_KEY for the codes we sign ourselves, cheap enough for every message.

Campaign mail carries signed codes in every message: the VERP envelope sender, repeated in the
List-Unsubscribe mailto:, the unsubscribe link's token (essaim.mailing.message.signing), and a
call's link (essaim.army.services.call_links). Each use has a key of its own, derived from
SECRET_KEY and a purpose, so that a code of one use never checks as another; HmacSha256 keeps
the key's inner and outer states, so that a code costs two SHA-256 compressions and no key
setup. Codes are checked in constant time (`verify`, `HmacSha256.verify`).

The sender signs every message it builds: this module is compiled with mypyc
(scripts/compile-hot-modules), so its annotations must be true at run time.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
from typing import Final

from django.conf import settings

_IPAD: Final = bytes(x ^ 0x36 for x in range(256))
_OPAD: Final = bytes(x ^ 0x5C for x in range(256))
_B32: Final = "abcdefghijklmnopqrstuvwxyz234567"
# Every pair of base32 digits (10 bits): a 40-bit tag is four look-ups (base64.b32encode is
# written in Python and cost more than the HMAC itself).
_B32_PAIRS: Final = [a + b for a in _B32 for b in _B32]
_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE: Final = bytes.maketrans(b"-_", b"+/")


def derive_key(purpose: bytes, secret: str | None = None) -> bytes:
    """The key of one use of SECRET_KEY (or of `secret` when given): sha256(purpose + secret).

    django.core.signing derives its keys the same way, with the salt followed by "signer" as
    the purpose: that is how essaim.mailing.message.signing makes exactly Django's tokens.
    """
    return hashlib.sha256(purpose + (secret or settings.SECRET_KEY).encode()).digest()


def subkey(key: bytes, label: bytes) -> bytes:
    """A key of `key` for one role (to encrypt, to authenticate): HMAC-SHA256(key, label)."""
    return hmac.digest(key, label, "sha256")


class HmacSha256:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed once: a digest is
    then two `copy()` and two short updates, about three times cheaper than `hmac.digest`."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > 64:
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def tag(self, message: bytes, size: int) -> bytes:
        """The digest cut to its first `size` bytes."""
        return self.digest(message)[:size]

    def verify(self, message: bytes, tag: bytes, size: int) -> bool:
        """Whether `tag` is the `size`-byte tag of `message` (in constant time)."""
        return len(tag) == size and hmac.compare_digest(self.digest(message)[:size], tag)

    def short_tag(self, message: bytes) -> str:
        """The first 40 bits of the digest as 8 lowercase base32 characters: a tag that
        survives channels which change case or allow few characters (an address's local part,
        a subject)."""
        n = int.from_bytes(self.digest(message)[:5])
        pairs = _B32_PAIRS
        return pairs[n >> 30] + pairs[(n >> 20) & 1023] + pairs[(n >> 10) & 1023] + pairs[n & 1023]


class DjangoSigner:
    """Exactly the tokens of django.core.signing.Signer(salt=salt).sign_object(obj), for a
    payload already serialized as its JSONSerializer does (compact JSON, latin-1), without
    compression.

    Django's signer derives its key at every call (~20 µs a token); here it is derived once
    and the HMAC states reused (~2 µs). Django reads the tokens back (`unsign_object`), with
    SECRET_KEY_FALLBACKS.
    """

    __slots__ = ("_mac",)

    def __init__(self, salt: str, secret: str | None = None) -> None:
        self._mac = HmacSha256(derive_key((salt + "signer").encode(), secret))

    def sign_json(self, payload: bytes) -> bytes:
        """`base64(payload):base64(HMAC)`, URL-safe base64 without padding, as ASCII bytes."""
        value = urlsafe_b64(payload)
        return value + b":" + urlsafe_b64(self._mac.digest(value))


def verify[S: (bytes, str)](expected: S, given: S) -> bool:
    """Whether a code read back is the one we make (in constant time: hmac.compare_digest)."""
    return hmac.compare_digest(expected, given)


def urlsafe_b64(data: bytes) -> bytes:
    """base64.urlsafe_b64encode without padding, in C calls only."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def from_urlsafe_b64(data: bytes) -> bytes:
    """The bytes of URL-safe base64 without padding; binascii.Error when it is not (strictly)
    base64."""
    return binascii.a2b_base64(
        data.translate(_FROM_URLSAFE) + b"=" * (-len(data) % 4), strict_mode=True
    )
