"""Blackout windows: what is blacked out at one moment, the one answer that the sender and the
campaign services read. The sender's watcher keeps the rows of blacked-out départements out of
its claims and stops sending during a national window; the services refuse a launch or a
re-queue that a window covers. It lives with the sender, which the services already import
(through the message builder): in the services it would close an import cycle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from essaim.mailing.models import BlackoutWindow
from essaim.people.services.zones import zones


@dataclass(frozen=True)
class BlackoutScope:
    """What is blacked out at one moment: everything (`national`) or some départements."""

    national: bool = False
    departements: frozenset[str] = frozenset()
    reasons: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.national or bool(self.departements)


def blackout_scope(now: dt.datetime | None = None) -> BlackoutScope:
    """The windows open at `now` (one small query)."""
    now = now or timezone.now()
    national = False
    departements: set[str] = set()
    reasons: list[str] = []
    for window in BlackoutWindow.objects.filter(starts_at__lte=now, ends_at__gt=now):
        reasons.append(window.reason)
        if window.is_national:
            national = True
        departements.update(str(d) for d in window.departements)
        if window.regions:
            # The ledger keeps the département only: a région stands for its départements.
            wanted = {str(r) for r in window.regions}
            departements.update(
                code for code, (_name, region) in zones().departements.items() if region in wanted
            )
    return BlackoutScope(national, frozenset(departements), tuple(reasons))
