"""Traffic shaping of the bulk sender, kept out of its hot path: rates per provider group.

- Rates, per provider group (the `provider` column frozen with the ledger, see
  essaim.mailing.services.audience): a cap on the connections working for the group at once,
  and a token bucket in messages per second when a rate is configured. A 421 or a 4.7.x
  deferral is the provider asking us to slow down: the group's rate is halved (once per
  `cooldown`, since one signal often arrives as a burst of pipelined replies), never below
  `floor`, then grows back by `increase` messages/s per second without deferral (additive
  increase), up to the configured rate, or back to unlimited. A global bucket caps the relay
  account. Rates are per sender process.

The arithmetic takes the time as an argument (`now`, seconds on any monotonic clock), so that
tests drive it with a clock of their own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from essaim.mailing.models import ProviderGroup

UNLIMITED = 1 << 30  # what `allowance` says when nothing limits a group


class TokenBucket:
    """`rate` tokens per second, at most `capacity` in hand (a burst of `burst` seconds' worth,
    at least one token). Starts full."""

    __slots__ = ("burst", "capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, now: float, burst: float = 1.0) -> None:
        if rate <= 0:
            raise ValueError("a token bucket needs a positive rate")
        self.burst = burst
        self.rate = rate
        self.capacity = max(1.0, rate * burst)
        self.tokens = self.capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available(self, now: float) -> int:
        """Whole tokens in hand at `now`."""
        self._refill(now)
        return int(self.tokens + 1e-9)

    def take(self, n: int, now: float) -> None:
        self._refill(now)
        self.tokens -= n

    def delay(self, now: float) -> float:
        """Seconds until one whole token is in hand (0 if there is one)."""
        self._refill(now)
        missing = 1.0 - self.tokens
        return 0.0 if missing <= 1e-9 else missing / self.rate

    def set_rate(self, rate: float, now: float) -> None:
        """Change the rate from `now` on; tokens earned so far are kept, within the new capacity."""
        self._refill(now)
        self.rate = rate
        self.capacity = max(1.0, rate * self.burst)
        self.tokens = min(self.tokens, self.capacity)


@dataclass(frozen=True)
class ShapingConfig:
    connections: Mapping[str, int] = field(default_factory=dict)  # per group; else per_provider
    per_provider: int = 8
    rates: Mapping[str, float] = field(default_factory=dict)  # messages/s per group; else none
    global_rate: float = 0.0  # messages/s for the whole relay account; 0: unlimited
    floor: float = 1.0  # a halved rate never goes below this (messages/s)
    increase: float = 1.0  # messages/s regained per second without a deferral
    cooldown: float = 1.0  # seconds after a halving during which deferrals do not halve again


class GroupLimiter:
    """The rate of one provider group: None (unlimited) or a token bucket."""

    def __init__(self, ceiling: float | None, config: ShapingConfig, now: float) -> None:
        self.ceiling = ceiling  # the configured rate (None: unlimited)
        self.rate = ceiling
        self.bucket = TokenBucket(ceiling, now) if ceiling else None
        self.config = config
        self.halvings = 0
        self.deferrals = 0
        self.sent = 0
        self._restore = ceiling  # where additive increase stops (then unlimited if no ceiling)
        self._last_cut = -math.inf
        self._last_grow = now
        # Throughput seen lately, to halve a group that had no rate of its own.
        self._window_start = now
        self._window_count = 0
        self._observed = 0.0

    def allowance(self, now: float) -> int:
        if self.bucket is None:
            return UNLIMITED
        self._grow(now)
        if self.bucket is None:
            return UNLIMITED
        return self.bucket.available(now)

    def delay(self, now: float) -> float:
        return 0.0 if self.bucket is None else self.bucket.delay(now)

    def took(self, n: int, now: float) -> None:
        self.sent += n
        if now - self._window_start >= 1.0:
            self._observed = self._window_count / (now - self._window_start)
            self._window_start, self._window_count = now, 0
        self._window_count += n
        if self.bucket is not None:
            self.bucket.take(n, now)

    def observed(self, now: float) -> float:
        partial = self._window_count / max(now - self._window_start, 1.0)
        return max(self._observed, partial)

    def on_deferral(self, now: float) -> bool:
        """A 421 / 4.7.x from this group's provider: halve the rate. True if it was halved."""
        self.deferrals += 1
        if now - self._last_cut < self.config.cooldown:
            return False
        floor = self.config.floor
        if self.rate is None:
            base = max(self.observed(now), 2 * floor)
            self._restore = base
        else:
            self._grow(now)
            base = self.rate if self.rate is not None else max(self.observed(now), 2 * floor)
        rate = max(floor, base / 2)
        if self.rate is not None and rate >= self.rate:
            return False  # already at the floor
        if self.bucket is None:
            self.bucket = TokenBucket(rate, now)
            self.bucket.tokens = min(self.bucket.tokens, 1.0)  # no burst right after a deferral
        else:
            self.bucket.set_rate(rate, now)
        self.rate = rate
        self.halvings += 1
        self._last_cut = self._last_grow = now
        return True

    def _grow(self, now: float) -> None:
        """Additive increase since the last look, up to where the group was before halvings."""
        elapsed = now - self._last_grow
        if elapsed <= 0 or self.rate is None or self.bucket is None:
            return
        self._last_grow = now
        target = self._restore if self._restore is not None else self.rate
        if self.rate >= target:
            return
        rate = self.rate + self.config.increase * elapsed
        if rate >= target:
            if self.ceiling is None:  # back to unlimited
                self.rate = self.bucket = None
                return
            rate = target
        self.rate = rate
        self.bucket.set_rate(rate, now)

    def snapshot(self) -> dict[str, float | int | None]:
        return {
            "rate": None if self.rate is None else round(self.rate, 3),
            "sent": self.sent,
            "deferrals": self.deferrals,
            "halvings": self.halvings,
        }


class Shaper:
    """Per-group limiters and the global bucket of one sender process."""

    def __init__(self, config: ShapingConfig, now: float) -> None:
        self.config = config
        self.groups = {
            g: GroupLimiter(config.rates.get(g) or None, config, now) for g in ProviderGroup.values
        }
        self.global_bucket = TokenBucket(config.global_rate, now) if config.global_rate else None

    def cap(self, group: str) -> int:
        """Connections that may work for `group` at once."""
        return self.config.connections.get(group, self.config.per_provider)

    def _group(self, group: str) -> GroupLimiter:
        limiter = self.groups.get(group)
        if limiter is None:  # a group this code does not know (a newer ledger): shaped as other
            limiter = self.groups[group] = GroupLimiter(
                self.config.rates.get(ProviderGroup.OTHER) or None, self.config, 0.0
            )
        return limiter

    def allowance(self, group: str, now: float) -> int:
        """Messages of `group` that may start at `now`."""
        allowed = self._group(group).allowance(now)
        if self.global_bucket is not None:
            allowed = min(allowed, self.global_bucket.available(now))
        return allowed

    def took(self, group: str, n: int, now: float) -> None:
        self._group(group).took(n, now)
        if self.global_bucket is not None:
            self.global_bucket.take(n, now)

    def delay(self, groups: Iterable[str], now: float) -> float:
        """Seconds until one of `groups` may start a message."""
        own = min((self._group(g).delay(now) for g in groups), default=0.0)
        shared = self.global_bucket.delay(now) if self.global_bucket is not None else 0.0
        return max(own, shared)

    def on_deferral(self, group: str, now: float) -> bool:
        return self._group(group).on_deferral(now)

    def snapshot(self) -> dict[str, dict[str, float | int | None]]:
        """The groups that sent or were deferred (for --stats and logs)."""
        return {g: lim.snapshot() for g, lim in self.groups.items() if lim.sent or lim.deferrals}


def is_slow_down(code: int | None, enhanced: str) -> bool:
    """A deferral that asks for less traffic: 421 (service not available, closing) or any
    4.7.x (policy: rate limits, reputation)."""
    return code == 421 or enhanced.startswith("4.7.")


def parse_group_values(raw: str, *, integer: bool = False) -> dict[str, float]:
    """ "gmail=50, orange=20" → {"gmail": 50.0, "orange": 20.0}; raises ValueError naming the
    bad part (unknown group, missing "=", not a positive number)."""
    values: dict[str, float] = {}
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, number = part.partition("=")
        name = name.strip().lower()
        if not sep:
            raise ValueError(f"{part!r}: expected group=value")
        if name not in ProviderGroup.values:
            raise ValueError(
                f"{name!r}: unknown provider group (known: {', '.join(ProviderGroup.values)})"
            )
        try:
            value = int(number) if integer else float(number)
        except ValueError:
            raise ValueError(f"{part!r}: {number.strip()!r} is not a number") from None
        if not value > 0 or math.isinf(value):
            raise ValueError(f"{part!r}: the value must be positive")
        values[name] = value
    return values
