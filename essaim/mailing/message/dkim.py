"""DKIM signing (RFC 6376) for the bulk sender: rsa-sha256, relaxed/relaxed.

The signature itself is OpenSSL's (through `cryptography`): RSA-2048 costs well under a
millisecond there, against tens of milliseconds in dkimpy's pure-Python RSA. Everything around
it is arranged so that the per-message work is the RSA operation plus one SHA-256 pass:

- the relaxed canonical form of the static headers is computed once per campaign; only the
  per-recipient ones (To, Date, Message-ID, List-Unsubscribe) are canonicalized per message;
- the body is canonicalized chunk by chunk when the campaign is compiled (every chunk of a
  compiled body is made of whole lines, see essaim.mailing.message), so per message only the
  small slot values are canonicalized, and the body hash is computed once per campaign when the
  body has no per-recipient slot.

dkimpy verifies our signatures in the tests; it is not used here.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# The headers we sign, in this order, when the message has them (RFC 6376 5.4: From is
# required; List-Unsubscribe and List-Unsubscribe-Post must be signed for RFC 8058).
SIGNED_HEADERS: Final = (
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "MIME-Version",
    "Content-Type",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
)

_WSP_RUN: Final = re.compile(rb"[ \t]+")
_FOLD: Final = re.compile(rb"\r\n(?=[ \t])")
_TRAILING_WSP: Final = re.compile(rb"[ \t]+\r\n")


def relaxed_header(name: bytes | str, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value, WSP runs as one SP, no WSP at the ends
    of the value; returned as `name:value\\r\\n`."""
    if isinstance(name, str):
        name = name.encode("ascii")
    value = _WSP_RUN.sub(b" ", _FOLD.sub(b"", value)).strip(b" \r\n")
    return name.strip().lower() + b":" + value + b"\r\n"


def relaxed_lines(data: bytes) -> bytes:
    """RFC 6376 3.4.4 applied to whole CRLF lines: WSP runs as one SP, no WSP at line ends.
    The removal of empty lines at the end of the body is the caller's (see relaxed_body)."""
    if b" " not in data and b"\t" not in data:
        return data
    return _TRAILING_WSP.sub(b"\r\n", _WSP_RUN.sub(b" ", data))


def relaxed_body(body: bytes) -> bytes:
    """The relaxed canonical form of a whole body."""
    if body and not body.endswith(b"\r\n"):
        body += b"\r\n"
    body = relaxed_lines(body)
    while body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    return b"" if body == b"\r\n" else body


def body_hash(canonical_body: bytes | Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    if isinstance(canonical_body, bytes):
        digest.update(canonical_body)
    else:
        for chunk in canonical_body:
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def _fold_b64(value: str, first: int = 60, width: int = 72) -> str:
    """Fold a base64 value for a header (WSP inside b= and bh= is ignored by verifiers)."""
    pieces = [value[:first]]
    pieces += [value[i : i + width] for i in range(first, len(value), width)]
    return "\r\n\t".join(p for p in pieces if p)


def _fold_names(names: Sequence[str], width: int = 66) -> str:
    """The h= list, folded after a colon before a line grows too long."""
    out = ""
    line = 0
    for i, name in enumerate(names):
        piece = name.lower() + (":" if i < len(names) - 1 else "")
        if line and line + len(piece) > width:
            out += "\r\n\t"
            line = 0
        out += piece
        line += len(piece)
    return out


class DkimSigner:
    """Signs with one RSA key for one selector and domain."""

    def __init__(
        self,
        private_key_pem: bytes,
        *,
        selector: str,
        domain: str,
        signed_headers: Sequence[str] = SIGNED_HEADERS,
    ) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ImproperlyConfigured("DKIM_PRIVATE_KEY_PATH: an RSA private key is required")
        if key.key_size < 1024:
            raise ImproperlyConfigured("DKIM_PRIVATE_KEY_PATH: the RSA key is too short")
        self._key = key
        self.selector = selector
        self.domain = domain
        self.signed_headers = tuple(signed_headers)
        self._padding = padding.PKCS1v15()
        self._hash = hashes.SHA256()

    @classmethod
    def from_settings(cls) -> DkimSigner | None:
        """The configured signer, or None when DKIM_PRIVATE_KEY_PATH is empty."""
        path = getattr(settings, "DKIM_PRIVATE_KEY_PATH", "")
        if not path:
            return None
        selector = getattr(settings, "DKIM_SELECTOR", "")
        domain = getattr(settings, "DKIM_DOMAIN", "")
        if not selector or not domain:
            raise ImproperlyConfigured("DKIM_PRIVATE_KEY_PATH needs DKIM_SELECTOR and DKIM_DOMAIN")
        return cls(Path(path).read_bytes(), selector=selector, domain=domain)

    def header_names(self, present: Iterable[str]) -> list[str]:
        """The signed header names, in signing order, among those the message has."""
        have = {name.lower() for name in present}
        return [name for name in self.signed_headers if name.lower() in have]

    def signature_header(
        self, names: Sequence[str], canonical_headers: Sequence[bytes], bh: str
    ) -> bytes:
        """The `DKIM-Signature:` field (with CRLF) for headers already in relaxed form, in the
        order of `names`, and a body hash."""
        tags = (
            "v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
            f"\td={self.domain}; s={self.selector}; t={int(time.time())};\r\n"
            f"\th={_fold_names(names)};\r\n"
            f"\tbh={bh};\r\n\tb="
        )
        unsigned = relaxed_header(b"dkim-signature", tags.encode("ascii"))[:-2]
        signature = self._key.sign(
            b"".join(canonical_headers) + unsigned, self._padding, self._hash
        )
        value = tags + _fold_b64(base64.b64encode(signature).decode())
        return b"DKIM-Signature: " + value.encode("ascii") + b"\r\n"

    def sign(self, message: bytes) -> bytes:
        """Sign a whole message (CRLF line endings): slow path, for tests and one-offs."""
        head, _, body = message.partition(b"\r\n\r\n")
        fields: list[tuple[bytes, bytes]] = []
        for line in head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t") and fields:
                name, value = fields[-1]
                fields[-1] = (name, value + b"\r\n" + line)
            else:
                name, _, value = line.partition(b":")
                fields.append((name, value))
        # RFC 6376 5.4.2: with a header present more than once, the last one is signed first.
        by_name: dict[str, bytes] = {}
        for name, value in fields:
            by_name[name.decode("ascii").strip().lower()] = value
        names = self.header_names(by_name)
        canonical = [relaxed_header(n, by_name[n.lower()]) for n in names]
        bh = body_hash(relaxed_body(body))
        return self.signature_header(names, canonical, bh) + message


_configured: dict[tuple[str, str, str], DkimSigner] = {}


def configured_signer() -> DkimSigner | None:
    """The signer of the settings (DKIM_PRIVATE_KEY_PATH, DKIM_SELECTOR, DKIM_DOMAIN), loaded
    once per process; None when no key is configured."""
    path = getattr(settings, "DKIM_PRIVATE_KEY_PATH", "")
    if not path:
        return None
    key = (str(path), getattr(settings, "DKIM_SELECTOR", ""), getattr(settings, "DKIM_DOMAIN", ""))
    signer = _configured.get(key)
    if signer is None:
        signer = DkimSigner.from_settings()
        assert signer is not None
        _configured[key] = signer
    return signer
