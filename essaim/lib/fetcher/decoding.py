"""Content-Encoding undone in bounded steps, so that a compression bomb stops at the cap.

Libraries decompress each network chunk whole: a 64 KiB chunk of gzip may become 64 MiB, of
brotli gigabytes, before anyone counts. Here every call is given the room left under the cap
(`limit`) and produces at most one byte more than that, whatever the ratio; the caller sees the
cap exceeded and stops reading.
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli


class DecodeError(ValueError):
    """The body is not what its Content-Encoding says, or uses an encoding we do not speak."""


class Decoder(Protocol):
    def feed(self, data: bytes, limit: int) -> bytes:
        """Decode `data`; return at most `limit` + 1 bytes (more means: over the cap)."""
        ...

    def finish(self) -> None:
        """The body ended: raise DecodeError if the stream was cut."""
        ...


class Identity:
    def feed(self, data: bytes, limit: int) -> bytes:
        return data

    def finish(self) -> None:
        return None


class Zlib:
    """gzip (several members allowed) and deflate (zlib-wrapped, or raw as some servers send)."""

    def __init__(self, gzip: bool) -> None:
        self.gzip = gzip
        self.decompressor: zlib._Decompress | None = (
            zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None
        )
        self.pending = b""
        self.done = False

    def _start_deflate(self, head: bytes) -> zlib._Decompress:
        # RFC 9110 deflate is zlib-wrapped, but raw deflate is common: a zlib header is
        # CM=8 in the low nibble and a 16-bit check that is a multiple of 31.
        wrapped = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
        return zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)

    def feed(self, data: bytes, limit: int) -> bytes:
        if self.done:
            return b""  # whatever follows the end of the stream is ignored
        if self.decompressor is None:
            data = self.pending + data
            if len(data) < 2:
                self.pending = data
                return b""
            self.decompressor, self.pending = self._start_deflate(data), b""
        out = bytearray()
        try:
            while data and len(out) <= limit:
                d = self.decompressor
                # Never 0 here (which would mean "no limit" to zlib).
                out += d.decompress(data, limit + 1 - len(out))
                data = d.unconsumed_tail
                if d.eof:
                    data = d.unused_data
                    # Several gzip members follow each other; anything else ends the body.
                    if not (self.gzip and data.startswith(b"\x1f\x8b")):
                        self.done = True
                        break
                    self.decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        except zlib.error as exc:
            raise DecodeError(str(exc)) from exc
        return bytes(out)

    def finish(self) -> None:
        if self.done:
            return
        if self.pending or self.decompressor is None or not self.decompressor.eof:
            raise DecodeError("truncated compressed stream")


class Brotli:
    # brotli's output_buffer_limit lets its buffer reach the limit and then one more block
    # (up to twice the limit): asked for in steps of this size, the excess stays small.
    STEP = 64 * 1024

    def __init__(self) -> None:
        self.decompressor = brotli.Decompressor()

    def feed(self, data: bytes, limit: int) -> bytes:
        d = self.decompressor
        out = bytearray()
        try:
            # Input that did not fit under the limit is kept inside the decompressor, and
            # drained with empty calls (brotli ≥ 1.2) while there is room.
            out += d.process(data, output_buffer_limit=min(self.STEP, limit + 1))
            while len(out) <= limit and not d.can_accept_more_data():
                chunk = d.process(b"", output_buffer_limit=min(self.STEP, limit + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
        except brotli.error as exc:
            raise DecodeError(str(exc)) from exc
        return bytes(out[: limit + 1])

    def finish(self) -> None:
        if not self.decompressor.is_finished():
            raise DecodeError("truncated brotli stream")


def accept_encoding() -> str:
    """What we ask servers for: only what `decoder_for` can undo (zstd waits for Python 3.14's
    compression.zstd)."""
    return "gzip, deflate, br"


def decoder_for(content_encoding: str) -> Decoder:
    """The decoder of a Content-Encoding header; a chain of codings is refused (no server
    needs one, and each stage would need its own cap)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return Identity()
    if len(codings) > 1:
        raise DecodeError(f"chained content codings {content_encoding!r}")
    coding = codings[0]
    if coding in ("gzip", "x-gzip"):
        return Zlib(gzip=True)
    if coding == "deflate":
        return Zlib(gzip=False)
    if coding == "br":
        return Brotli()
    raise DecodeError(f"unsupported content coding {coding!r}")
