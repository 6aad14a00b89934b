"""Things a volunteer did elsewhere that may prove a mission: a higher app (the watch, whose
tracers' submissions prove `trace` missions) registers a picker for a kind of mission from its
AppConfig.ready, and the proof form offers the volunteer's own things of that kind. The army
imports no higher app: it only knows the picker's three functions.

A picked thing adds its address to the proof's links (the reviewer sees it as any link) and is
told which proof it became (`attach`, inside the proof's transaction).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Pick:
    key: str  # what the form posts back
    label: str  # what the volunteer reads
    url: str  # the address added to the proof's links


@dataclass(frozen=True)
class Picker:
    label: str | Promise  # the form field's label
    # The volunteer's things that may prove a mission, newest first (volunteer id → picks).
    choices: Callable[[int], list[Pick]]
    # One of them by its key, or None when it is not theirs (volunteer id, key).
    find: Callable[[int, str], Pick | None]
    # The proof was recorded with it (proof id, key).
    attach: Callable[[int, str], object]


_pickers: dict[str, Picker] = {}


def register_picker(mission_kind: str, picker: Picker) -> None:
    """From an AppConfig.ready; the same kind twice replaces it."""
    _pickers[mission_kind] = picker


def picker_for(mission_kind: str) -> Picker | None:
    return _pickers.get(mission_kind)
