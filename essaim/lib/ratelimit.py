"""Rate limits on the Django cache, shared by every process (DB cache or Redis).

Fixed windows: "5/h" allows five hits per identity between 14:00 and 15:00, then refuses until
15:00. A client can therefore get up to twice the rate across a window boundary; for sign-up
forms that is fine and keeps each check to a few cache calls.

Why slots and not a counter: `cache.incr` is atomic on Redis but a read-modify-write on the
database cache, so concurrent requests could all read 4 and all pass a limit of 5. `cache.add`
is atomic everywhere (SET NX on Redis, a unique key on the database cache), so each hit claims
the next free numbered slot of its window with `add`; the window is full when slot N-1 is taken.
A hint (the number of slots known taken) lets a hit start near the first free slot, and lets a
refused client cost one cache read.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


@dataclass(frozen=True)
class Rate:
    limit: int  # hits allowed per window
    period: int  # window length in seconds


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # hits still allowed in this window after this one
    retry_after: int  # seconds until the window ends (0 when allowed)


def parse_rate(text: str) -> Rate:
    """Read a rate: "5/h" is Rate(5, 3600); also N/s, N/m, N/d and multiples such as "10/15m"."""
    match = _RATE_RE.match(text or "")
    if not match:
        raise ValueError(f"rate {text!r} is not of the form N/s, N/m, N/h, N/d or N/15m")
    limit, multiple, unit = int(match[1]), int(match[2] or 1), match[3]
    if limit < 1 or multiple < 1:
        raise ValueError(f"rate {text!r} must allow at least one hit per period")
    return Rate(limit=limit, period=multiple * _UNITS[unit])


def _key(scope: str, identity: str) -> str:
    # Keyed digest: the cache never holds a clear (or dictionary-reversible) address or IP.
    digest = salted_hmac(
        "essaim.ratelimit", f"{scope}\x00{identity}", algorithm="sha256"
    ).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}"


def hit(scope: str, identity: str, rate: Rate | str, *, now: float | None = None) -> Decision:
    """Count one hit of `identity` (an IP, an address…) in `scope`; say whether it is allowed."""
    if isinstance(rate, str):
        rate = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // rate.period)
    window_end = (window + 1) * rate.period
    retry_after = max(1, int(window_end - now + 0.999))
    # Each key lives until its window ends; a later window uses other keys, never an expired one.
    timeout = retry_after + 1
    base = f"{_key(scope, identity)}:{window}"
    hint_key = f"{base}:n"
    start = cache.get(hint_key, 0)
    for slot in range(min(int(start), rate.limit), rate.limit):
        if cache.add(f"{base}:{slot}", 1, timeout):
            # Slots below `slot` were all seen taken, and slots are never freed within a window,
            # so slot + 1 is a safe lower bound; a stale write only costs a later hit extra adds.
            cache.set(hint_key, slot + 1, timeout)
            return Decision(allowed=True, remaining=rate.limit - slot - 1, retry_after=0)
    if start < rate.limit:
        cache.set(hint_key, rate.limit, timeout)
    return Decision(allowed=False, remaining=0, retry_after=retry_after)


def reset(scope: str, identity: str, rate: Rate | str, *, now: float | None = None) -> None:
    """Forget the current window's hits of `identity` (for operators and tests)."""
    if isinstance(rate, str):
        rate = parse_rate(rate)
    now = time.time() if now is None else now
    base = f"{_key(scope, identity)}:{int(now // rate.period)}"
    cache.delete_many([f"{base}:n", *(f"{base}:{slot}" for slot in range(rate.limit))])


def refused_page(
    request: HttpRequest, retry_after: int, *, template_name: str = "429.html"
) -> HttpResponse:
    """The 429 page a form answers when a limit refuses a hit: the site's generic one unless
    the form has its own words for it (the sign-up's)."""
    response = render(
        request,
        template_name,
        {"minutes": max(1, (retry_after + 59) // 60)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response
