"""The audit log as people read it: one sentence per entry ("Marie Curie a lancé la campagne
« Lettre de novembre » vers 1 200 personnes"), a link to the object when it still exists and the
reader may open it, and the entries grouped in families to filter by.

Accounts knows no app's actions. Each app registers, from its AppConfig.ready:
- `register_family`: a family of actions (by code prefix) that the log filters by;
- `register_action`: the sentence of each action code it writes, and the details that name
  other objects (`refs`: detail key → object type), loaded with the page;
- `register_object`: how to load, name and link the objects of a type ("mailing.campaign").
An entry whose code has no sentence reads as a generic line ("… a fait « x.y » sur …"), never as
a dump; tests check that every code written in the code has one (accounts/tests/test_audit_log.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy

from essaim.accounts.models import AuditEvent, User
from essaim.accounts.services.vocabulary import numbered, readable_details
from essaim.lib.numbers import ascii_int

Label = str | Promise


@dataclass(frozen=True)
class Family:
    key: str
    label: Label
    prefixes: tuple[str, ...]
    order: int = 50


@dataclass(frozen=True)
class ObjectKind:
    """How the log finds, names and links the objects of one type. `load` gets ids as stored
    (strings) and gives the objects that still exist by id; `name` names one; `url` gives its
    page for a reader, or None when that reader may not open it; `quoted` names it between
    « » (a campaign, a file) rather than bare (a person)."""

    load: Callable[[list[str]], Mapping[str, Any]]
    name: Callable[[Any], str] = str
    url: Callable[[Any, Any], str | None] = lambda obj, user: None
    quoted: bool = True


Sentence = Callable[["Entry"], str]


@dataclass(frozen=True)
class Action:
    sentence: Sentence
    refs: Mapping[str, str] = field(default_factory=dict)


_families: dict[str, Family] = {}
_actions: dict[str, Action] = {}
_objects: dict[str, ObjectKind] = {}


def register_family(key: str, label: Label, prefixes: Iterable[str], *, order: int = 50) -> None:
    _families[key] = Family(key, label, tuple(prefixes), order)


def register_action(
    code: str, sentence: Sentence, *, refs: Mapping[str, str] | None = None
) -> None:
    """The sentence of `code`; `refs` names the object type of details that are ids."""
    _actions[code] = Action(sentence, dict(refs or {}))


def register_object(object_type: str, kind: ObjectKind) -> None:
    _objects[object_type] = kind


def registered_codes() -> set[str]:
    return set(_actions)


def families() -> list[Family]:
    return sorted(_families.values(), key=lambda f: (f.order, str(f.label)))


def family_of(code: str) -> Family | None:
    for family in families():
        if code.startswith(family.prefixes):
            return family
    return None


def load_by_pk(model: Any, *, related: Iterable[str] = ()) -> Callable[[list[str]], dict[str, Any]]:
    """A `load` for ObjectKind: the rows of `model` whose id is among `ids` (ids that are not
    numbers are skipped: entries keep ids as text)."""

    def load(ids: list[str]) -> dict[str, Any]:
        numbers = {n for i in ids if (n := ascii_int(i)) is not None}
        rows = model._default_manager.filter(pk__in=numbers)
        if related:
            rows = rows.select_related(*related)
        return {str(row.pk): row for row in rows}

    return load


def dig(details: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted `key` ("query.segment") of nested details, or None."""
    value: Any = details
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


# --- Reading a page of entries ----------------------------------------------------------------


@dataclass
class Entry:
    """One entry as its sentence sees it: who acted, on what, with which details."""

    event: AuditEvent
    reader: Any
    actor_name: str
    objects: Mapping[tuple[str, str], Any]

    @property
    def details(self) -> dict[str, Any]:
        return self.event.details or {}

    def detail(self, key: str, default: Any = "") -> Any:
        return self.details.get(key, default)

    @property
    def actor(self) -> str:
        """Who acted: a name, an address if the account has no name or is gone, the command
        line, or Essaim itself when nobody did (a scheduled task, a visitor's link)."""
        if self.actor_name:
            return self.actor_name
        if self.details.get("via") == "command":
            return gettext("La ligne de commande")
        return gettext("Essaim")

    @property
    def object(self) -> SafeString:
        """The entry's own object, named and linked (see `ref`)."""
        return self.name_of(self.event.object_type, self.event.object_id)

    def ref(self, key: str, object_type: str) -> SafeString:
        """The object that the detail `key` ("segment", or "query.segment" inside a detail)
        names by its id, named and linked."""
        value = dig(self.details, key)
        return self.name_of(object_type, "" if value is None else str(value))

    def name_of(self, object_type: str, object_id: str, *, fallback: str = "") -> SafeString:
        """An object named as people know it, « quoted » unless a person, and linked to its page
        when it still exists and the reader may open it; else its number, or `fallback`."""
        kind = _objects.get(object_type)
        obj = self.objects.get((object_type, object_id))
        if kind is None or obj is None:
            text = fallback or (numbered(object_id) if object_id else gettext("inconnu"))
            return conditional_escape(text)
        name = kind.name(obj)
        url = kind.url(obj, self.reader)
        shown = format_html('<a href="{}">{}</a>', url, name) if url else conditional_escape(name)
        return format_html("« {} »", shown) if kind.quoted else shown

    def say(self, template: str, **params: Any) -> SafeString:
        """`template` (a translated string with %(name)s placeholders) with `params` escaped,
        unless already safe (the links of `object` and `ref`); `actor` is always given."""
        values = {"actor": self.actor, **params}
        escaped = {key: conditional_escape(value) for key, value in values.items()}
        return mark_safe(conditional_escape(template) % escaped)  # template and values escaped


@dataclass(frozen=True)
class Line:
    """An entry as the log shows it."""

    event: AuditEvent
    sentence: str  # marked safe by Entry.say: names escaped, links ours
    family: Label
    details: list[tuple[str, str]]
    known: bool


def generic_sentence(entry: Entry) -> SafeString:
    """The line of a code nobody described: who, the code, and the object if any."""
    if entry.event.object_type or entry.event.object_id:
        return entry.say(
            gettext("%(actor)s a fait « %(code)s » sur %(object)s"),
            code=entry.event.action,
            object=entry.object,
        )
    return entry.say(gettext("%(actor)s a fait « %(code)s »"), code=entry.event.action)


def lines(events: Iterable[AuditEvent], reader: Any) -> list[Line]:
    """The entries of a page as lines. A fixed number of queries whatever the page's length:
    one for the actors, one per type of object the page names."""
    events = list(events)
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    actors = {u.pk: u.full_name or u.email for u in User.objects.filter(pk__in=actor_ids)}
    wanted: dict[str, set[str]] = defaultdict(set)
    for event in events:
        if event.object_type and event.object_id:
            wanted[event.object_type].add(event.object_id)
        action = _actions.get(event.action)
        for key, object_type in (action.refs if action else {}).items():
            value = dig(event.details or {}, key)
            if value not in (None, ""):
                wanted[object_type].add(str(value))
    objects: dict[tuple[str, str], Any] = {}
    for object_type, ids in wanted.items():
        kind = _objects.get(object_type)
        if kind is not None:
            for object_id, obj in kind.load(sorted(ids)).items():
                objects[(object_type, object_id)] = obj
    result = []
    for event in events:
        name = actors.get(event.actor_id) if event.actor_id is not None else None
        entry = Entry(event, reader, name or event.actor_email, objects)
        action = _actions.get(event.action)
        family = family_of(event.action)
        result.append(
            Line(
                event=event,
                sentence=action.sentence(entry) if action else generic_sentence(entry),
                family=family.label if family else gettext_lazy("Autres"),
                details=readable_details(event.details or {}),
                known=action is not None,
            )
        )
    return result
