"""What a fetch brings back: any HTTP status is a result, only a failure to get one raises."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime

from essaim.lib.numbers import ascii_int


@dataclass(frozen=True)
class Redirect:
    """One hop followed: `url` answered `status` and sent us to `location` (absolute)."""

    status: int
    url: str
    location: str


@dataclass(frozen=True)
class FetchResult:
    """A response, whatever its status (the watcher needs 429 and 503 with Retry-After).

    url: as requested; final_url: after redirects; headers: lower-case names, repeated headers
    joined with ", "; body: decompressed, at most the policy's max_bytes; not_modified: a 304
    answered a conditional GET (If-None-Match / If-Modified-Since passed in `headers`), and the
    body is empty; elapsed: seconds from the call to the last byte.
    """

    url: str
    final_url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    redirects: tuple[Redirect, ...] = ()
    not_modified: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-case ("" when absent)."""
        return self._content_type_header().get_content_type() if self._has_type() else ""

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, lower-case, if any."""
        if not self._has_type():
            return None
        charset = self._content_type_header().get_content_charset()
        return charset.lower() if charset else None

    @property
    def retry_after(self) -> float | None:
        """Seconds to wait that Retry-After asks for (delta-seconds or an HTTP date), never
        negative; None when absent or unreadable."""
        value = self.headers.get("retry-after", "").strip()
        if not value:
            return None
        # A server's header: "²" or "١٢٣" are no delta, and a delta of more than 18 digits is
        # read as a date, which it is not either (so None).
        if (seconds := ascii_int(value)) is not None:
            return float(seconds)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - time.time())

    def _has_type(self) -> bool:
        return bool(self.headers.get("content-type", "").strip())

    def _content_type_header(self) -> Message:
        message = Message()
        message["content-type"] = self.headers["content-type"]
        return message
