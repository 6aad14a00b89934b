"""Words for the codes that records keep: the keys and values of an audit entry's details and of
a contact's timeline events, as people read them ("adresse IP", "Actualités, Bénévolat",
"12/11/2026 09:00") instead of as stored ("ip", ["news", "volunteering"], an ISO date).

Accounts knows no app's words: each app registers, from its AppConfig.ready, the keys it writes
(`register_detail`), with a label and, where the value is a code, a function that names it. A key
nobody registered still reads as words (underscores become spaces), never as a dump.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext

Label = str | Promise
Format = Callable[[Any], str]


@dataclass(frozen=True)
class Detail:
    label: Label
    format: Format | None = None


_details: dict[str, Detail] = {}


def register_detail(key: str, label: Label, format: Format | None = None) -> None:
    """Declare how a key of details or event data reads; the same key twice replaces it (keys
    mean the same thing wherever they are written: choose a new key for a new meaning)."""
    _details[key] = Detail(label, format)


def register_details(details: Mapping[str, Label | tuple[Label, Format]]) -> None:
    for key, spec in details.items():
        if isinstance(spec, tuple):
            register_detail(key, spec[0], spec[1])
        else:
            register_detail(key, spec)


def detail_label(key: str) -> str:
    detail = _details.get(key)
    return str(detail.label) if detail else key.replace("_", " ")


def readable_value(value: Any, key: str = "") -> str:
    """`value` as people read it: through the key's registered format if any, else plainly."""
    detail = _details.get(key)
    if detail is not None and detail.format is not None and value not in (None, "", []):
        return detail.format(value)
    return plain(value)


def readable_details(
    data: Mapping[str, Any],
    *,
    labels: Mapping[str, Label] | None = None,
    skip: Iterable[str] = (),
) -> list[tuple[str, str]]:
    """`data` as (label, value) pairs, in the order the keys were registered (each app's
    order of reading), unknown keys last by name: never in stored order, which PostgreSQL's
    jsonb does not keep. Empty values are left out, and keys in `skip` (the sentence already
    says them); `labels` names keys differently for one kind of record."""
    left_out = set(skip)
    order = {key: i for i, key in enumerate(_details)}
    keys = sorted(data, key=lambda key: (order.get(key, len(order)), key))
    return [
        (str((labels or {}).get(key) or detail_label(key)), readable_value(data[key], key))
        for key in keys
        if key not in left_out and data[key] not in (None, "", [], {})
    ]


# --- Formats ----------------------------------------------------------------------------------


def plain(value: Any) -> str:
    """A value with no registered format: yes/no, numbers grouped as the language groups them,
    lists joined, the pairs of a mapping as "label : value" (each key read as a detail, in key
    order: PostgreSQL's jsonb keeps its own)."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return gettext("oui") if value else gettext("non")
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(
            f"{detail_label(str(k))} : {readable_value(v, str(k))}"
            for k, v in sorted(value.items())
        )
    return str(value)


def number(value: int | float) -> str:
    return formats.number_format(value, force_grouping=True)


def numbered(value: Any) -> str:
    """The number of a row elsewhere: "n° 12"."""
    return pgettext("numéro d'un objet", "n° %(n)s") % {"n": value}


def date_time(value: Any) -> str:
    """An ISO date and time (as details keep them) in the reader's format and time zone; a
    value that is not one stays as it is."""
    moment = parse_moment(value)
    if moment is None:
        return plain(value)
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def parse_moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def file_size(value: Any) -> str:
    return str(filesizeformat(value)) if isinstance(value, int | float) else plain(value)


def choices(labels: Mapping[str, Label] | Callable[[], Mapping[str, Label]]) -> Format:
    """A format naming codes (one, or a list) by `labels` (or a function giving them, for
    labels read from the database); an unknown code stays as it is."""

    def format(value: Any) -> str:
        known = labels() if callable(labels) else labels
        values = value if isinstance(value, list | tuple) else [value]
        return ", ".join(str(known.get(str(v), v)) for v in values)

    return format


def field_names(value: Any) -> str:
    """A list of keys (the fields a change touched), each by its label."""
    values = value if isinstance(value, list | tuple) else [value]
    return ", ".join(detail_label(str(v)) for v in values)
