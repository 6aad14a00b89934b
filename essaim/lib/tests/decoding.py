"""Every reading of a token a curious reader could try without our key, for the tests that
check that a link shows no personal data."""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Callable, Iterable
from urllib.parse import unquote


def _inflate(blob: bytes) -> Iterable[bytes]:
    """What zlib or gzip data anywhere in `blob` (where its header byte is), or raw deflate
    data near its start, inflates to."""
    for start in range(len(blob)):
        wbits_tried = [w for w, head in ((15, 0x78), (31, 0x1F)) if blob[start] == head]
        if start < 8:
            wbits_tried.append(-15)
        for wbits in wbits_tried:
            try:
                inflated = zlib.decompressobj(wbits).decompress(blob[start:], 1 << 20)
            except zlib.error:
                continue
            if inflated:
                yield inflated


def _decoders() -> list[Callable[[str], bytes]]:
    def padded(decode: Callable[[bytes], bytes]) -> Callable[[str], bytes]:
        return lambda text: decode((text + "=" * (-len(text) % 4)).encode())

    return [
        padded(base64.urlsafe_b64decode),
        padded(base64.standard_b64decode),
        lambda text: base64.b32decode(text.upper() + "=" * (-len(text) % 8)),
        lambda text: base64.b85decode(text.encode()),
        lambda text: binascii.unhexlify(text),
    ]


def readings(token: str) -> list[bytes]:
    """The token as text, and every decoding of it, of its pieces (split at ".", ":" or "-")
    and of each shifted by 0-3 characters (base64 read from another alignment), with whatever
    compressed data inflates within each."""
    text = unquote(token)
    pieces = {text}
    for separator in (":", ".", "-"):  # each alone too: "-" is also a base64url character
        pieces |= {part for piece in pieces for part in piece.split(separator)}
    shifted = {p[shift:] for p in pieces for shift in range(4) if p[shift:]}
    found: list[bytes] = [text.encode()]
    for piece in sorted(shifted):
        for decode in _decoders():
            try:
                blob = decode(piece)
            except (binascii.Error, ValueError):
                continue
            found.append(blob)
            found.extend(_inflate(blob))
    return found


def personal_data_in(token: str, values: Iterable[str]) -> set[str]:
    """Which of `values` (an address, names, a phone, a postcode) any reading of the token
    shows, compared case-insensitively."""
    needles = {v for v in values if v}
    shown: set[str] = set()
    for blob in readings(token):
        lowered = blob.lower()
        shown |= {v for v in needles if v.lower().encode() in lowered}
    return shown
