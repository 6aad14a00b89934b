"""Per-recipient links that other apps put in their own campaigns' mail.

A call for volunteers (essaim.army) mails a segment through the campaign engine, and each
message carries a link to the call's landing page that identifies its recipient. Mailing knows
nothing of calls: an app registers a slot name (ending in `_url`) with a factory; for each
campaign the factory returns the function that builds one recipient's link, or None when the
campaign is not one of its own. Only a campaign that some factory claims may use the slot, so a
plain campaign's `{{ call_url }}` stays an unknown field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from essaim.mailing.message import Recipient
    from essaim.mailing.models import Campaign

LinkBuilder = Callable[["Recipient"], str]
LinkFactory = Callable[["Campaign", str], LinkBuilder | None]

_NAME_RE = re.compile(r"[a-z][a-z_]*_url")
_factories: dict[str, LinkFactory] = {}


def register(name: str, factory: LinkFactory) -> None:
    """Declare a link slot (from an AppConfig.ready); the same name twice replaces it."""
    if not _NAME_RE.fullmatch(name) or name == "unsubscribe_url":
        raise ValueError(f"invalid link slot name: {name!r}")
    _factories[name] = factory


def registered() -> frozenset[str]:
    """Every link slot some app declared (whether or not a given campaign may use it)."""
    return frozenset(_factories)


def builders(campaign: Campaign, site_url: str) -> dict[str, LinkBuilder]:
    """The link slots `campaign` may use, with their builders (one small query per factory)."""
    if campaign.pk is None:
        return {}
    found: dict[str, LinkBuilder] = {}
    for name, factory in _factories.items():
        builder = factory(campaign, site_url)
        if builder is not None:
            found[name] = builder
    return found
