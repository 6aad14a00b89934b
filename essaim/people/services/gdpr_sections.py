"""The other apps' parts of a person's GDPR rights, which the base itself knows nothing of.

An app that keeps data about a contact (the mailing ledger, the army's volunteers) registers a
section from its AppConfig.ready: what it adds to the access report, and what it blanks on
erasure. essaim.people.services.gdpr runs them in `order`, so the report's keys keep a fixed
order and each erase step runs inside the erasure's transaction, before the contact is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Both take the contact's id and the hash of its address (keyword-only): the erase step runs
# while the contact still exists, but some rows (bounce reports) know the person only by hash.
ReportFn = Callable[..., dict[str, Any]]
EraseFn = Callable[..., object]
# Takes `contacts=` (a QuerySet of people.Contact, a chunk of a bulk erasure): the same as
# EraseFn for all of them, in a few statements rather than a few per person.
EraseManyFn = Callable[..., object]


@dataclass(frozen=True)
class Section:
    name: str
    order: int
    report: ReportFn | None
    erase: EraseFn | None
    erase_many: EraseManyFn | None = None


_sections: dict[str, Section] = {}


def register_section(
    name: str,
    *,
    order: int,
    report: ReportFn | None = None,
    erase: EraseFn | None = None,
    erase_many: EraseManyFn | None = None,
) -> None:
    """Declare an app's section (from an AppConfig.ready); the same name twice replaces it.
    `report(contact_id=, hashed=)` returns the keys it adds to the access report;
    `erase(contact_id=, hashed=)` blanks or deletes what erasure must not keep;
    `erase_many(contacts=)` does the same for a chunk of a bulk erasure (without it, the bulk
    erasure calls `erase` once per person)."""
    _sections[name] = Section(
        name=name, order=order, report=report, erase=erase, erase_many=erase_many
    )


def sections() -> list[Section]:
    """The registered sections, in their order (then by name, so that a tie stays stable)."""
    return sorted(_sections.values(), key=lambda s: (s.order, s.name))
