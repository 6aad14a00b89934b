"""Segments: a saved audience described by a JSON document, compiled to one SQL query.

The document (stored in `Segment.definition`) looks like this; every key is optional and an
empty document means the whole base::

    {
      "version": 1,
      "tags": {"any": [3, 5], "all": [7], "none": [9]},   # Tag ids
      "departements": ["75", "2A"],
      "regions": ["11"],
      "postcode_prefixes": ["75", "6900"],
      "consents": {"news": ["granted"], "mobilization": ["pending", "none"]},
      "sources": ["pétition-école"],
      "created_from": "2026-01-01",                       # inclusive, local dates
      "created_to": "2026-06-30",
      "include_segments": [12],                           # member of at least one of them
      "exclude_segments": [14]                            # member of none of them
    }

Filters combine with AND; values inside one filter with OR (except `tags.all`). A consent status
of `"none"` means "no consent record at all for that purpose". Included and excluded segments
are inlined as conditions on the same contact row, so a segment is always one query however
deep it nests; nesting is capped at MAX_DEPTH and cycles are refused.

Tags are referenced by id so that renaming a tag keeps its segments; a tag or a segment that
some segment references cannot be deleted (see `segments_using_tag`, `segments_using_segment`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast, get_args

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from essaim.lib.lookups import prefix_q
from essaim.people.models import Consent, Contact, ContactTag, Purpose, Segment, Tag
from essaim.people.services.zones import zones

VERSION: Final = 1
MAX_DEPTH: Final = 4  # a segment may include a segment that includes … four levels down
MAX_SEGMENT_REFERENCES: Final = 40  # segments inlined in one query, counting repeats
MAX_LIST_LENGTH: Final = 200
MAX_SOURCE_LENGTH: Final = 100

ConsentChoice = Literal["granted", "pending", "withdrawn", "none"]
CONSENT_CHOICES: Final[tuple[str, ...]] = get_args(ConsentChoice)
TOP_LEVEL_KEYS: Final = frozenset(
    {
        "version",
        "tags",
        "departements",
        "regions",
        "postcode_prefixes",
        "consents",
        "sources",
        "created_from",
        "created_to",
        "include_segments",
        "exclude_segments",
    }
)
TAG_MODES: Final = ("any", "all", "none")
_DEPARTEMENT_RE = re.compile(r"^(\d{2}|2A|2B|97\d)$")
_REGION_RE = re.compile(r"^\d{2}$")
_POSTCODE_PREFIX_RE = re.compile(r"^\d{1,5}$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- The document ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem in a definition: where (`tags.any[2]`) and what, in words for a person."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class SegmentDefinitionError(ValueError):
    """A definition that cannot be compiled; `issues` lists every problem found."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = list(issues)
        super().__init__("; ".join(str(issue) for issue in self.issues))


class SegmentInUse(Exception):
    """A tag or a segment that saved segments reference, so it cannot be deleted."""

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        super().__init__(", ".join(s.name for s in segments))


@dataclass(frozen=True)
class TagFilter:
    any: tuple[int, ...] = ()
    all: tuple[int, ...] = ()
    none: tuple[int, ...] = ()

    def ids(self) -> set[int]:
        return {*self.any, *self.all, *self.none}


@dataclass(frozen=True)
class SegmentDefinition:
    tags: TagFilter = TagFilter()
    departements: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    postcode_prefixes: tuple[str, ...] = ()
    # purpose → accepted statuses; a tuple of pairs (not a dict) keeps the dataclass hashable.
    consents: tuple[tuple[str, tuple[str, ...]], ...] = ()
    sources: tuple[str, ...] = ()
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    include_segments: tuple[int, ...] = ()
    exclude_segments: tuple[int, ...] = ()
    references: frozenset[int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "references", frozenset((*self.include_segments, *self.exclude_segments))
        )

    @property
    def is_empty(self) -> bool:
        return self == SegmentDefinition()

    def to_json(self) -> dict[str, Any]:
        """The canonical document: what `Segment.definition` stores (empty filters left out)."""
        doc: dict[str, Any] = {"version": VERSION}
        tags = {mode: list(getattr(self.tags, mode)) for mode in TAG_MODES}
        if any(tags.values()):
            doc["tags"] = {mode: ids for mode, ids in tags.items() if ids}
        for name in ("departements", "regions", "postcode_prefixes", "sources"):
            if values := getattr(self, name):
                doc[name] = list(values)
        if self.consents:
            doc["consents"] = {purpose: list(statuses) for purpose, statuses in self.consents}
        if self.created_from:
            doc["created_from"] = self.created_from.isoformat()
        if self.created_to:
            doc["created_to"] = self.created_to.isoformat()
        if self.include_segments:
            doc["include_segments"] = list(self.include_segments)
        if self.exclude_segments:
            doc["exclude_segments"] = list(self.exclude_segments)
        return doc


class _Parser:
    """Strict structural checks: collects every issue instead of stopping at the first."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fail(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    def _list(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, _("une liste est attendue"))
            return []
        if len(value) > MAX_LIST_LENGTH:
            self.fail(path, _("au plus %(max)d valeurs") % {"max": MAX_LIST_LENGTH})
            return []
        return value

    def ids(self, value: Any, path: str) -> tuple[int, ...]:
        result: list[int] = []
        for index, item in enumerate(self._list(value, path)):
            # bool is an int in Python; `true` is not an id.
            if isinstance(item, bool) or not isinstance(item, int) or item <= 0:
                self.fail(f"{path}[{index}]", _("un identifiant (entier positif) est attendu"))
            elif item in result:
                self.fail(f"{path}[{index}]", _("valeur en double : %(v)s") % {"v": item})
            else:
                result.append(item)
        return tuple(result)

    def codes(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
        result: list[str] = []
        for index, item in enumerate(self._list(value, path)):
            if not isinstance(item, str) or not pattern.match(item):
                self.fail(
                    f"{path}[{index}]", _("%(what)s invalide : %(v)r") % {"what": what, "v": item}
                )
            elif item in result:
                self.fail(f"{path}[{index}]", _("valeur en double : %(v)s") % {"v": item})
            else:
                result.append(item)
        return tuple(result)

    def texts(self, value: Any, path: str) -> tuple[str, ...]:
        result: list[str] = []
        for index, item in enumerate(self._list(value, path)):
            if not isinstance(item, str) or not item.strip() or len(item) > MAX_SOURCE_LENGTH:
                self.fail(
                    f"{path}[{index}]",
                    _("un texte non vide de %(max)d caractères au plus est attendu")
                    % {"max": MAX_SOURCE_LENGTH},
                )
            elif item in result:
                self.fail(f"{path}[{index}]", _("valeur en double : %(v)s") % {"v": item})
            else:
                result.append(item)
        return tuple(result)

    def date(self, value: Any, path: str) -> dt.date | None:
        if value is None:
            return None
        if isinstance(value, str) and _DATE_RE.match(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.fail(path, _("une date AAAA-MM-JJ est attendue"))
        return None

    def tags(self, value: Any) -> TagFilter:
        if not isinstance(value, dict):
            self.fail("tags", _("un objet {any, all, none} est attendu"))
            return TagFilter()
        for key in sorted(set(value) - set(TAG_MODES), key=str):
            self.fail(f"tags.{key}", _("clé inconnue (any, all ou none attendu)"))
        parsed = {mode: self.ids(value.get(mode, []), f"tags.{mode}") for mode in TAG_MODES}
        for mode in ("any", "all"):
            if both := sorted(set(parsed[mode]) & set(parsed["none"])):
                self.fail(
                    "tags.none",
                    _("étiquettes à la fois exigées (%(mode)s) et exclues : %(ids)s")
                    % {"mode": mode, "ids": ", ".join(map(str, both))},
                )
        return TagFilter(**parsed)

    def consents(self, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if not isinstance(value, dict):
            self.fail("consents", _("un objet {finalité: [statuts]} est attendu"))
            return ()
        result: list[tuple[str, tuple[str, ...]]] = []
        for purpose in Purpose.values:  # a stable order, whatever the document's
            if purpose not in value:
                continue
            path = f"consents.{purpose}"
            statuses: list[str] = []
            raw = self._list(value[purpose], path)
            if not raw and isinstance(value[purpose], list):
                self.fail(path, _("au moins un statut est attendu"))
            for index, item in enumerate(raw):
                if item not in CONSENT_CHOICES:
                    self.fail(
                        f"{path}[{index}]",
                        _("statut inconnu %(v)r (granted, pending, withdrawn ou none attendu)")
                        % {"v": item},
                    )
                elif item in statuses:
                    self.fail(f"{path}[{index}]", _("valeur en double : %(v)s") % {"v": item})
                else:
                    statuses.append(item)
            if statuses:
                result.append((purpose, tuple(s for s in CONSENT_CHOICES if s in statuses)))
        for key in sorted(set(value) - set(Purpose.values), key=str):
            self.fail(f"consents.{key}", _("finalité inconnue"))
        return tuple(result)


def parse_definition(data: Any) -> SegmentDefinition:
    """Check a document's shape and values (no database access); raise SegmentDefinitionError
    listing every problem, or return the typed definition."""
    if isinstance(data, SegmentDefinition):
        return data
    parser = _Parser()
    if not isinstance(data, dict):
        raise SegmentDefinitionError([Issue("", _("la définition doit être un objet JSON"))])
    for key in sorted(set(data) - TOP_LEVEL_KEYS, key=str):
        parser.fail(str(key), _("clé inconnue"))
    if "version" in data and (isinstance(data["version"], bool) or data["version"] != VERSION):
        parser.fail("version", _("version non prise en charge (1 attendu)"))
    definition = SegmentDefinition(
        tags=parser.tags(data["tags"]) if "tags" in data else TagFilter(),
        departements=parser.codes(
            data.get("departements", []), "departements", _DEPARTEMENT_RE, _("département")
        ),
        regions=parser.codes(data.get("regions", []), "regions", _REGION_RE, _("région")),
        postcode_prefixes=parser.codes(
            data.get("postcode_prefixes", []),
            "postcode_prefixes",
            _POSTCODE_PREFIX_RE,
            _("début de code postal"),
        ),
        consents=parser.consents(data["consents"]) if "consents" in data else (),
        sources=parser.texts(data.get("sources", []), "sources"),
        created_from=parser.date(data.get("created_from"), "created_from"),
        created_to=parser.date(data.get("created_to"), "created_to"),
        include_segments=parser.ids(data.get("include_segments", []), "include_segments"),
        exclude_segments=parser.ids(data.get("exclude_segments", []), "exclude_segments"),
    )
    if (
        definition.created_from
        and definition.created_to
        and definition.created_from > definition.created_to
    ):
        parser.fail("created_to", _("la date de fin précède la date de début"))
    if both := sorted(set(definition.include_segments) & set(definition.exclude_segments)):
        parser.fail(
            "exclude_segments",
            _("segments à la fois inclus et exclus : %(ids)s") % {"ids": ", ".join(map(str, both))},
        )
    if parser.issues:
        raise SegmentDefinitionError(parser.issues)
    return definition


def validate_definition(data: Any, *, segment_id: int | None = None) -> SegmentDefinition:
    """Everything `parse_definition` checks, plus what needs the database: the tags and
    segments referenced exist, the département and région codes are real, a segment does not
    include itself, and the include/exclude graph has no cycle and is at most MAX_DEPTH deep.

    `segment_id` is the segment being edited (None for a new one)."""
    definition = parse_definition(data)
    issues: list[Issue] = []
    known = zones()
    for index, code in enumerate(definition.departements):
        if code not in known.departements:
            issues.append(Issue(f"departements[{index}]", _("département inconnu : %s") % code))
    for index, code in enumerate(definition.regions):
        if code not in known.regions:
            issues.append(Issue(f"regions[{index}]", _("région inconnue : %s") % code))
    if tag_ids := definition.tags.ids():
        existing = set(Tag.objects.filter(pk__in=tag_ids).values_list("pk", flat=True))
        for mode in TAG_MODES:
            for index, tag_id in enumerate(getattr(definition.tags, mode)):
                if tag_id not in existing:
                    issues.append(
                        Issue(f"tags.{mode}[{index}]", _("étiquette inconnue : %s") % tag_id)
                    )
    for key in ("include_segments", "exclude_segments"):
        for index, ref in enumerate(getattr(definition, key)):
            if segment_id is not None and ref == segment_id:
                issues.append(Issue(f"{key}[{index}]", _("un segment ne peut s'inclure lui-même")))
    if issues:
        raise SegmentDefinitionError(issues)
    # Loading and expanding the graph finds missing segments, cycles and excessive depth.
    graph = _load_graph(definition, root_id=segment_id)
    _build_condition(definition, graph, path=_root_path(segment_id), depth=0, budget=[0])
    return definition


def _root_path(segment_id: int | None) -> tuple[int, ...]:
    return () if segment_id is None else (segment_id,)


# --- Compilation ------------------------------------------------------------------------------


def _load_graph(definition: SegmentDefinition, *, root_id: int | None) -> dict[int, Any]:
    """Definitions of every segment reachable from `definition`, one query per nesting level.

    A value is the parsed definition, or the SegmentDefinitionError its stored document raises
    (reported only if the compilation actually reaches it)."""
    graph: dict[int, Any] = {}
    if root_id is not None:
        graph[root_id] = definition  # an edit: the new document replaces the stored one
    frontier = set(definition.references) - set(graph)
    level = 0
    while frontier:
        level += 1
        if level > MAX_DEPTH:
            break  # _build_condition reports the depth with the path
        found = dict(Segment.objects.filter(pk__in=frontier).values_list("pk", "definition"))
        for pk in frontier:
            if pk not in found:
                continue
            try:
                graph[pk] = parse_definition(found[pk])
            except SegmentDefinitionError as exc:
                graph[pk] = exc
        frontier = {
            ref
            for pk in found
            if isinstance(graph[pk], SegmentDefinition)
            for ref in graph[pk].references
        } - set(graph)
    return graph


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _on_sqlite() -> bool:
    return connection.vendor == "sqlite"


# SQLite plans each EXISTS below as one index probe per contact row and never rewrites it into a
# join, so the shape of the subquery decides which index it probes (PostgreSQL plans semi-joins
# itself and gets the plain shapes). On 1,000,000 contacts with statistics the shapes below take
# a fraction of the CPU of the plain ones (docs/benchmarks.md, "Segments and contact list").


def _tag_exists(tag_ids: Iterable[int]) -> Exists:
    ids = list(tag_ids)
    tags = ContactTag.objects.filter(contact=OuterRef("pk"))
    if len(ids) == 1:  # a one-row lookup of the unique (contact, tag) index
        return Exists(tags.filter(tag_id=ids[0]))
    if _on_sqlite():
        # `tag_id IN (…)` makes SQLite probe (tag, contact) once per tag; `tag_id + 0` cannot use
        # an index, so it reads the contact's few rows of the unique (contact, tag) index once.
        return Exists(tags.alias(tag_unindexed=F("tag_id") + 0).filter(tag_unindexed__in=ids))
    return Exists(tags.filter(tag_id__in=ids))


def _tag_members(tag_ids: Iterable[int]) -> Q:
    """`id IN (contacts with one of these tags)`: SQLite reads the (tag, contact) index once and
    fetches those contacts by id, instead of probing the tags of every contact."""
    ids = list(tag_ids)
    return Q(pk__in=ContactTag.objects.filter(tag_id__in=ids).values("contact_id"))


def _consent_with_status(purpose: str, statuses: list[str]) -> Exists:
    consents = Consent.objects.filter(purpose=purpose)
    consents = (
        consents.filter(status=statuses[0])
        if len(statuses) == 1
        else consents.filter(status__in=statuses)
    )
    if _on_sqlite():
        # With `contact_id = outer id`, SQLite takes the unique (contact, purpose) index as a
        # one-row lookup, then reads the consent row for its status. The range (same rows) lets
        # it take (purpose, status, contact) instead, which answers from the index alone.
        return Exists(
            consents.filter(contact_id__gte=OuterRef("pk"), contact_id__lte=OuterRef("pk"))
        )
    return Exists(consents.filter(contact=OuterRef("pk")))


def _own_condition(definition: SegmentDefinition) -> Q | None:
    """The filters of one definition on a contact row; None means "every contact"."""
    parts: list[Q] = []
    # Without a filter on an indexed zone column, SQLite would scan every contact to probe its
    # tags; the first positive tag filter then drives the query instead (see above).
    drive_by_tags = _on_sqlite() and not (
        definition.departements or definition.regions or definition.postcode_prefixes
    )
    if definition.tags.any:
        if drive_by_tags:
            parts.append(_tag_members(definition.tags.any))
            drive_by_tags = False
        else:
            parts.append(Q(_tag_exists(definition.tags.any)))
    # "All of these tags": one indexed semi-join per tag, each a probe of (contact, tag).
    for tag_id in definition.tags.all:
        if drive_by_tags:
            parts.append(_tag_members([tag_id]))
            drive_by_tags = False
        else:
            parts.append(Q(_tag_exists([tag_id])))
    if definition.tags.none:
        parts.append(~Q(_tag_exists(definition.tags.none)))
    if definition.departements:
        parts.append(Q(departement__in=definition.departements))
    if definition.regions:
        parts.append(Q(region__in=definition.regions))
    if definition.postcode_prefixes:
        parts.append(_any_of([prefix_q("postcode", p) for p in definition.postcode_prefixes]))
    for purpose, statuses in definition.consents:
        if set(statuses) == set(CONSENT_CHOICES):
            continue  # every contact has one of the four
        alternatives: list[Q] = []
        recorded = [s for s in statuses if s != "none"]
        if recorded:
            alternatives.append(Q(_consent_with_status(purpose, recorded)))
        if "none" in statuses:
            consents = Consent.objects.filter(contact=OuterRef("pk"), purpose=purpose)
            alternatives.append(~Q(Exists(consents)))
        parts.append(_any_of(alternatives))
    if definition.sources:
        parts.append(Q(source__in=definition.sources))
    if definition.created_from:
        parts.append(Q(created_at__gte=_local_midnight(definition.created_from)))
    if definition.created_to:
        next_day = definition.created_to + dt.timedelta(days=1)
        parts.append(Q(created_at__lt=_local_midnight(next_day)))
    return _all_of(parts)


def _any_of(parts: list[Q]) -> Q:
    result = parts[0]
    for part in parts[1:]:
        result |= part
    return result


def _all_of(parts: list[Q]) -> Q | None:
    if not parts:
        return None
    result = parts[0]
    for part in parts[1:]:
        result &= part
    return result


_NOTHING = Q(pk__in=[])


def _build_condition(
    definition: SegmentDefinition,
    graph: Mapping[int, Any],
    *,
    path: tuple[int, ...],
    depth: int,
    budget: list[int],
) -> Q | None:
    """The whole condition of `definition`, its included and excluded segments inlined.

    `path` holds the saved segment ids from the root down to here (cycle check), `depth` the
    nesting level; `budget` counts the segments inlined so far, so that a diamond repeated at
    every level cannot blow the query up."""
    parts: list[Q] = []
    own = _own_condition(definition)
    if own is not None:
        parts.append(own)

    def sub(ref: int, key: str) -> Q | None:
        trail = " → ".join(str(pk) for pk in (*path, ref))
        if ref in path:
            raise SegmentDefinitionError(
                [Issue(key, _("inclusion circulaire de segments : %s") % trail)]
            )
        if depth + 1 > MAX_DEPTH:
            raise SegmentDefinitionError(
                [
                    Issue(
                        key,
                        _("segments imbriqués sur plus de %(max)d niveaux : %(trail)s")
                        % {"max": MAX_DEPTH, "trail": trail},
                    )
                ]
            )
        budget[0] += 1
        if budget[0] > MAX_SEGMENT_REFERENCES:
            raise SegmentDefinitionError(
                [
                    Issue(
                        key,
                        _("trop de segments imbriqués (%(max)d au plus)")
                        % {"max": MAX_SEGMENT_REFERENCES},
                    )
                ]
            )
        target = graph.get(ref)
        if target is None:
            raise SegmentDefinitionError([Issue(key, _("segment inconnu : %s") % ref)])
        if isinstance(target, SegmentDefinitionError):
            raise SegmentDefinitionError(
                [Issue(key, _("le segment %(id)s a une définition invalide") % {"id": ref})]
            )
        return _build_condition(
            cast(SegmentDefinition, target),
            graph,
            path=(*path, ref),
            depth=depth + 1,
            budget=budget,
        )

    if definition.include_segments:
        included = [sub(ref, "include_segments") for ref in definition.include_segments]
        if all(q is not None for q in included):  # an including "everyone" leaves no condition
            parts.append(_any_of(cast(list[Q], included)))
    for ref in definition.exclude_segments:
        excluded = sub(ref, "exclude_segments")
        if excluded is None:
            return _NOTHING  # excluding everyone
        parts.append(~excluded)
    return _all_of(parts)


def segment_queryset(definition: SegmentDefinition | Mapping[str, Any]) -> QuerySet[Contact]:
    """Contacts of a segment definition, as one query (Exists semi-joins for tags and consent,
    plain indexed columns for the rest). Raises SegmentDefinitionError."""
    parsed = parse_definition(definition)
    graph = _load_graph(parsed, root_id=None) if parsed.references else {}
    condition = _build_condition(parsed, graph, path=(), depth=0, budget=[0])
    contacts = Contact.objects.all()
    return contacts if condition is None else contacts.filter(condition)


def saved_segment_condition(segment: Segment) -> Q:
    """The WHERE condition of a saved segment on `Contact`, to AND with other filters (the
    contact list's search, visibility) without a subquery. Its own id is on the path, so a
    cycle through it is caught."""
    parsed = parse_definition(segment.definition)
    graph = _load_graph(parsed, root_id=segment.pk) if parsed.references else {}
    condition = _build_condition(parsed, graph, path=(segment.pk,), depth=0, budget=[0])
    return Q() if condition is None else condition


def saved_segment_queryset(segment: Segment) -> QuerySet[Contact]:
    """Contacts of a saved segment, as one query."""
    return Contact.objects.filter(saved_segment_condition(segment))


def mailable_queryset(
    definition: SegmentDefinition | Mapping[str, Any] | Segment, purpose: str
) -> QuerySet[Contact]:
    """Contacts of a segment that may be mailed for `purpose` (granted consent, not
    suppressed): the segment's query with ContactQuerySet.mailable on top, still one query."""
    if purpose not in Purpose.values:
        raise ValueError(f"unknown purpose {purpose!r}")
    contacts = (
        saved_segment_queryset(definition)
        if isinstance(definition, Segment)
        else segment_queryset(definition)
    )
    return cast(Any, contacts).mailable(purpose)


def count_definition(definition: SegmentDefinition | Mapping[str, Any]) -> int:
    return segment_queryset(definition).count()


def count_segment(segment: Segment) -> int:
    """Count a saved segment now and remember the figure (`last_count`, `last_counted_at`)."""
    count = saved_segment_queryset(segment).count()
    segment.last_count = count
    segment.last_counted_at = timezone.now()
    segment.save(update_fields=["last_count", "last_counted_at"])
    return count


def count_mailable(segment: Segment, purpose: str) -> int:
    return mailable_queryset(segment, purpose).count()


# --- Saving and deleting ----------------------------------------------------------------------


def save_segment(
    *,
    name: str,
    description: str,
    definition: Mapping[str, Any] | SegmentDefinition,
    user: Any,
    segment: Segment | None = None,
) -> Segment:
    """Create or update a segment from a validated definition, then count it.

    Raises SegmentDefinitionError; the name's uniqueness is the form's business (and the
    database's)."""
    parsed = validate_definition(definition, segment_id=segment.pk if segment else None)
    now = timezone.now()
    with transaction.atomic():
        if segment is None:
            segment = Segment(
                created_by=user if getattr(user, "pk", None) else None, created_at=now
            )
        segment.name = name
        segment.description = description
        segment.definition = parsed.to_json()
        segment.updated_at = now
        if segment.pk is None:
            segment.save()
        else:
            segment.save(update_fields=["name", "description", "definition", "updated_at"])
    count_segment(segment)
    return segment


def _referencing(predicate: Any) -> list[Segment]:
    # Segments are few (tens, hundreds): reading their documents beats a JSON query that would
    # differ between SQLite and PostgreSQL.
    users = []
    for segment in Segment.objects.only("pk", "name", "definition"):
        try:
            parsed = parse_definition(segment.definition)
        except SegmentDefinitionError:
            continue
        if predicate(parsed):
            users.append(segment)
    return users


def segments_using_tag(tag_id: int) -> list[Segment]:
    return _referencing(lambda d: tag_id in d.tags.ids())


def segments_using_segment(segment_id: int) -> list[Segment]:
    return _referencing(lambda d: segment_id in d.references)


def delete_segment(segment: Segment) -> None:
    """Delete a segment unless another segment includes or excludes it (SegmentInUse)."""
    with transaction.atomic():
        if users := [s for s in segments_using_segment(segment.pk) if s.pk != segment.pk]:
            raise SegmentInUse(users)
        segment.delete()
