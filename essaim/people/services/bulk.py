"""Acting on many contacts at once, from the contact list: the rows ticked on a page, or every
result of a search or a segment (a million, if that is what it matches).

Set-based throughout: the selection stays a query. Tagging is an `INSERT … SELECT` of that query,
untagging a `DELETE … WHERE contact_id IN (SELECT …)`, run over consecutive id ranges of the
selection (CHUNK contacts each, one short transaction each) so that on SQLite other writers — a
sign-up, the sender's ledger — get the write lock between two ranges. Only the boundary id of
each range is read into Python. Each action writes one audit entry with the count and the
criteria. Erasure lives with the single erasure, in essaim.people.services.gdpr.erase_contacts;
the export is essaim.people.services.export's.

Segments are rules, not lists: "add to a segment" works with *list segments*, a segment whose
whole definition is one tag (`{"tags": {"any": [id]}}`): adding people tags them, and the
segment follows. `create_list_segment` makes one (and its tag) from a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from django.db import connection, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from essaim.accounts.services import audit
from essaim.lib.text import clean_name
from essaim.people.models import Contact, ContactQuerySet, ContactTag, Segment, Tag
from essaim.people.services.contact_search import search_contacts
from essaim.people.services.segments import (
    SegmentDefinition,
    SegmentDefinitionError,
    TagFilter,
    count_segment,
    parse_definition,
    save_segment,
    saved_segment_condition,
)

# Contacts per range of a set-based write: a short transaction (tens of milliseconds on SQLite)
# even when the selection is the whole base.
CHUNK: Final = 20_000
# Ticked rows sent by the list page: a page holds 50, the form refuses more than this.
MAX_SELECTED: Final = 500
MAX_TAG_LENGTH: Final = 64


class SelectionError(ValueError):
    """The selection cannot be computed: an unknown segment, or one whose definition no longer
    compiles (a segment it includes changed)."""


@dataclass(frozen=True)
class Selection:
    """What someone chose on the contact list: a search (`query`), an optional saved segment,
    and the ids of the rows they ticked, or None for every result."""

    query: str = ""
    segment_id: int | None = None
    ids: tuple[int, ...] | None = None

    @property
    def everything(self) -> bool:
        return self.ids is None

    def criteria(self) -> dict[str, Any]:
        """The selection as the audit log keeps it (and as a queued job gets it back)."""
        found: dict[str, Any] = {"scope": "all" if self.everything else "selected"}
        if self.query:
            found["q"] = self.query
        if self.segment_id is not None:
            found["segment"] = self.segment_id
        if self.ids is not None:
            found["ids"] = list(self.ids)
        return found

    @classmethod
    def from_criteria(cls, criteria: dict[str, Any]) -> Selection:
        ids = criteria.get("ids")
        return cls(
            query=str(criteria.get("q", "")),
            segment_id=criteria.get("segment"),
            ids=None if criteria.get("scope") == "all" else tuple(int(i) for i in ids or ()),
        )


def selection_queryset(
    selection: Selection, *, user: Any, request: HttpRequest | None = None
) -> ContactQuerySet:
    """The contacts of `selection` that `user` may see, as one query (never evaluated here).
    Ticked ids are intersected with the search, so an id from elsewhere selects nothing.
    Raises SelectionError, and SearchRefused for a masked user's search on a masked field."""
    contacts = search_contacts(
        contacts=Contact.objects.visible_to(user), user=user, query=selection.query, request=request
    )
    if selection.segment_id is not None:
        segment = Segment.objects.filter(pk=selection.segment_id).first()
        if segment is None:
            raise SelectionError("unknown segment")
        try:
            contacts = contacts.filter(saved_segment_condition(segment))
        except SegmentDefinitionError as exc:
            raise SelectionError(str(exc)) from exc
    if selection.ids is not None:
        contacts = contacts.filter(pk__in=selection.ids)
    return contacts


def chunks(contacts: QuerySet[Contact], size: int | None = None) -> Iterator[QuerySet[Contact]]:
    """`contacts` as consecutive id ranges of at most `size` (CHUNK) contacts, each still a
    query; only the id that closes each range is read (an index scan of `size` entries)."""
    size = size or CHUNK
    low = 0
    while True:
        rest = contacts.filter(pk__gt=low)
        high = next(iter(rest.order_by("pk").values_list("pk", flat=True)[size - 1 : size]), None)
        if high is None:
            yield rest
            return
        yield rest.filter(pk__lte=high)
        low = high


@dataclass(frozen=True)
class BulkResult:
    """`count`: contacts in the selection; `changed`: contact–tag links added or removed."""

    count: int
    changed: int


def ensure_tags(names: Iterable[str]) -> list[Tag]:
    """The tags of these names, created when missing, in name order."""
    wanted = sorted({clean_name(n, MAX_TAG_LENGTH) for n in names} - {""})
    Tag.objects.bulk_create([Tag(name=n) for n in wanted], ignore_conflicts=True)
    return list(Tag.objects.filter(name__in=wanted).order_by("name"))


def _insert_links(contacts: QuerySet[Contact], tag_ids: list[int]) -> int:
    sql, params = contacts.values("pk").query.sql_with_params()
    links, people = ContactTag._meta.db_table, Contact._meta.db_table
    added = 0
    with connection.cursor() as cursor:
        for tag_id in tag_ids:
            # The WHERE also keeps SQLite from reading ON CONFLICT as a join's ON.
            cursor.execute(
                f"INSERT INTO {links} (contact_id, tag_id) "  # noqa: S608 - our tables, our query
                f"SELECT c.id, CAST(%s AS bigint) FROM {people} c WHERE c.id IN ({sql}) "
                "ON CONFLICT DO NOTHING",
                [tag_id, *params],
            )
            added += max(cursor.rowcount, 0)
    return added


def tag_selection(
    contacts: QuerySet[Contact],
    tags: list[Tag],
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    criteria: dict[str, Any],
) -> BulkResult:
    """Give every contact of the selection these tags. Audited as `contacts.tag`."""
    count = contacts.count()
    added = 0
    tag_ids = [t.pk for t in tags]
    for part in chunks(contacts):
        with transaction.atomic():
            added += _insert_links(part, tag_ids)
    audit(
        action="contacts.tag",
        actor=actor,
        request=request,
        object_type="people.tag",
        count=count,
        added=added,
        tags=[t.name for t in tags],
        **criteria,
    )
    return BulkResult(count, added)


def untag_selection(
    contacts: QuerySet[Contact],
    tags: list[Tag],
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    criteria: dict[str, Any],
) -> BulkResult:
    """Take these tags off every contact of the selection. Audited as `contacts.untag`."""
    count = contacts.count()
    removed = 0
    tag_ids = [t.pk for t in tags]
    for part in chunks(contacts):
        with transaction.atomic():
            removed += ContactTag.objects.filter(
                tag_id__in=tag_ids, contact_id__in=part.values("pk")
            ).delete()[0]
    audit(
        action="contacts.untag",
        actor=actor,
        request=request,
        object_type="people.tag",
        count=count,
        removed=removed,
        tags=[t.name for t in tags],
        **criteria,
    )
    return BulkResult(count, removed)


# --- List segments --------------------------------------------------------------------------


def list_segment_tag_id(segment: Segment) -> int | None:
    """The tag of a list segment (a definition that is one tag and nothing else), else None."""
    try:
        definition = parse_definition(segment.definition)
    except SegmentDefinitionError:
        return None
    only_tag = SegmentDefinition(tags=TagFilter(any=definition.tags.any))
    if len(definition.tags.any) == 1 and definition == only_tag:
        return definition.tags.any[0]
    return None


def list_segments(segments: Iterable[Segment]) -> list[Segment]:
    """The list segments among `segments` (loaded with their definition)."""
    return [s for s in segments if list_segment_tag_id(s) is not None]


class SegmentNameTaken(ValueError):
    pass


def create_list_segment(*, name: str, user: Any) -> Segment:
    """A new list segment named `name`, on the tag of the same name (created when missing: a
    tag that exists already brings its contacts into the segment). SegmentNameTaken when a
    segment has that name."""
    cleaned = clean_name(name)
    if not cleaned:
        raise SegmentNameTaken("empty")
    if Segment.objects.filter(name=cleaned).exists():
        raise SegmentNameTaken("taken")
    (tag,) = ensure_tags([cleaned[:MAX_TAG_LENGTH]])
    return save_segment(
        name=cleaned,
        description="",
        definition={"version": 1, "tags": {"any": [tag.pk]}},
        user=user,
    )


def add_to_segment(
    contacts: QuerySet[Contact],
    segment: Segment,
    *,
    actor: Any = None,
    request: HttpRequest | None = None,
    criteria: dict[str, Any],
) -> BulkResult:
    """Add the selection to a list segment (by its tag), then recount the segment. Audited as
    `contacts.add_to_segment`. ValueError for a segment that is not a list."""
    tag_id = list_segment_tag_id(segment)
    if tag_id is None:
        raise ValueError("not a list segment")
    count = contacts.count()
    added = 0
    for part in chunks(contacts):
        with transaction.atomic():
            added += _insert_links(part, [tag_id])
    count_segment(segment)
    audit(
        action="contacts.add_to_segment",
        actor=actor,
        request=request,
        obj=segment,
        count=count,
        added=added,
        segment_name=segment.name,
        **criteria,
    )
    return BulkResult(count, added)
