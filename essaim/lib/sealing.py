"""Sealed tokens: data a link carries, encrypted and authenticated, readable only by us.

A confirmation link must carry what the person typed until they confirm (nothing is stored
before that), yet a link is seen by mail scanners, proxies, browser histories and logs, so the
data inside must not be readable there. A sealed token is AES-256-GCM over the data, keyed by
HKDF-SHA256 of SECRET_KEY with a purpose (a token of one purpose never opens as another):

    version (1 byte) | issued at (4 bytes, Unix seconds) | nonce (12 bytes) | ciphertext + tag

in URL-safe base64 without padding. The version and the issue time are authenticated (the
AEAD's associated data) but readable: the time lets an expired token be told apart from a
forged one without a key. Keys of SECRET_KEY_FALLBACKS still open tokens, as Django's signing
does, so a key rotation does not break links in mailboxes.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import struct
import time
import zlib
from functools import lru_cache
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

VERSION: Final = 1
_HEADER: Final = struct.Struct(">BI")
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
# Far above any token we make (a few hundred characters); bounds the work a forged one causes.
MAX_TOKEN_LENGTH: Final = 4096


class BadSeal(Exception):
    """Not a token of ours for this purpose (forged, altered, truncated, another purpose's)."""


class SealExpired(BadSeal):
    """A genuine token older than the max age it was read with."""


@lru_cache(maxsize=32)
def _key(secret: str, purpose: str) -> bytes:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"essaim.lib.sealing",
        info=f"essaim.sealing:{purpose}".encode(),
    )
    return hkdf.derive(secret.encode())


def _secrets() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def seal(data: bytes, *, purpose: str, now: float | None = None) -> str:
    """`data` encrypted and authenticated for `purpose` with the current SECRET_KEY."""
    header = _HEADER.pack(VERSION, int(time.time() if now is None else now))
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(_key(settings.SECRET_KEY, purpose)).encrypt(nonce, data, header)
    return base64.urlsafe_b64encode(header + nonce + sealed).rstrip(b"=").decode("ascii")


def unseal(token: str, *, purpose: str, max_age: int) -> bytes:
    """The data of a token sealed for `purpose` at most `max_age` seconds ago; raises
    SealExpired, or BadSeal for anything else."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise BadSeal
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise BadSeal from exc
    if len(raw) < _HEADER.size + _NONCE_BYTES + _TAG_BYTES:
        raise BadSeal
    header = raw[: _HEADER.size]
    version, issued = _HEADER.unpack(header)
    if version != VERSION:
        raise BadSeal
    nonce = raw[_HEADER.size : _HEADER.size + _NONCE_BYTES]
    sealed = raw[_HEADER.size + _NONCE_BYTES :]
    for secret in _secrets():
        try:
            data = AESGCM(_key(secret, purpose)).decrypt(nonce, sealed, header)
        except InvalidTag:
            continue
        # Checked once the time is known to be ours: a forged one is "invalid", not "expired".
        if time.time() - issued > max_age:
            raise SealExpired
        return data
    raise BadSeal


def seal_object(value: Any, *, purpose: str, now: float | None = None) -> str:
    """A JSON-serializable value, compressed (links stay short), then sealed. Compression
    before encryption shows the data's compressibility through the token's length; all the
    data is the requester's own, so there is nothing for that to reveal to them."""
    data = zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 9)
    return seal(data, purpose=purpose, now=now)


def unseal_object(token: str, *, purpose: str, max_age: int) -> Any:
    """The value of a token made by seal_object; raises SealExpired or BadSeal."""
    data = unseal(token, purpose=purpose, max_age=max_age)
    try:
        # A genuine token holds a few hundred bytes; the cap is a guard, never reached.
        inflater = zlib.decompressobj()
        text = inflater.decompress(data, 64 * 1024)
        if inflater.unconsumed_tail:
            raise BadSeal
        return json.loads(text)
    except (zlib.error, ValueError) as exc:
        raise BadSeal from exc
