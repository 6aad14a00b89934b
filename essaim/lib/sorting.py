"""Server-side sorting of a table by the column a person clicks.

The order travels in `?tri=<key>` (ascending) or `?tri=-<key>` (descending), and is checked
against the table's own whitelist of columns: any other value, forged or stale, gives the
table's default order, never an error. The parameter never reaches the query: it only picks
one of the expressions the view declared. Rows that tie are ordered by their primary key, so
that an order is total and keyset pages (essaim.lib.pagination) neither skip nor repeat a row.

Text columns sort as a French reader expects ("Île-de-France" among the I, "équipe" among the
E), on both databases: an ICU collation on PostgreSQL, a collation of our own on SQLite
(registered on each new connection, see `register_sqlite_collation`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Case, F, IntegerField, QuerySet, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Collate
from django.http import HttpRequest, QueryDict

from essaim.lib.text import french_sort_key

PARAM = "tri"
# The collations named in ORDER BY: ICU's root collation ships with every PostgreSQL built with
# ICU (the Debian and official images are); SQLite's is registered by register_sqlite_collation.
POSTGRES_COLLATION = "und-x-icu"
SQLITE_COLLATION = "essaim_fr"


@dataclass(frozen=True)
class SortColumn:
    """A column people may sort by: its key in `?tri=`, what rows are ordered by (a field
    path or a non-null expression), whether it is text compared in French order, and the
    direction a first click gives (dates and counts read best largest first)."""

    key: str
    expression: str | Combinable
    text: bool = False
    descending_first: bool = False


@dataclass(frozen=True)
class SortHeader:
    """What a column's header needs: the query string of its link, and its aria-sort."""

    query: str
    aria_sort: str  # "ascending", "descending", or "" when the table is not sorted by it
    next_descending: bool


@dataclass(frozen=True)
class Sorting:
    """The order a request asks for, once checked; `apply` orders a queryset by it."""

    key: str
    descending: bool
    column: SortColumn
    headers: Mapping[str, SortHeader]

    @property
    def value(self) -> str:
        return f"-{self.key}" if self.descending else self.key

    def expression(self, alias: str) -> Any:
        """The expression to order by on the database `alias`, collated for text."""
        expression = self.column.expression
        if not self.column.text:
            return F(expression) if isinstance(expression, str) else expression
        return french_collated(expression, alias)

    def apply[QS: QuerySet[Any]](self, queryset: QS) -> QS:
        """`queryset` ordered by the column, then by primary key, both in the direction asked."""
        key = self.expression(queryset.db)
        ordered = key.desc() if self.descending else key.asc()
        return queryset.order_by(ordered, "-pk" if self.descending else "pk")


def french_collated(expression: str | Combinable, alias: str = "default") -> Collate:
    """`expression` compared in French order on the database `alias`."""
    vendor = connections[alias].vendor
    name = POSTGRES_COLLATION if vendor == "postgresql" else SQLITE_COLLATION
    return Collate(F(expression) if isinstance(expression, str) else expression, name)


def choice_order(field: str, values: Sequence[str]) -> Case:
    """An expression ordering a field of codes in the order of `values` (a lifecycle: draft,
    scheduled, sending…) rather than alphabetically; an unlisted code comes last."""
    return Case(
        *(When(**{field: value}, then=Value(i)) for i, value in enumerate(values)),
        default=Value(len(values)),
        output_field=IntegerField(),
    )


def sorting_from(
    request: HttpRequest, columns: Sequence[SortColumn], default: str, *, param: str = PARAM
) -> Sorting:
    """The order asked by `?tri=` if it names one of `columns`, else `default` ("key" or
    "-key"); and every column's header link, which keeps the page's other parameters."""
    by_key = {column.key: column for column in columns}
    raw = request.GET.get(param, "")
    descending = raw.startswith("-")
    key = raw[1:] if descending else raw
    if key not in by_key:
        descending = default.startswith("-")
        key = default.lstrip("-")
    headers = {
        column.key: _header(request.GET, param, column, current=key, descending=descending)
        for column in columns
    }
    return Sorting(key=key, descending=descending, column=by_key[key], headers=headers)


def _header(
    params: QueryDict, param: str, column: SortColumn, *, current: str, descending: bool
) -> SortHeader:
    if column.key == current:
        aria_sort = "descending" if descending else "ascending"
        next_descending = not descending
    else:
        aria_sort = ""
        next_descending = column.descending_first
    query = params.copy()
    # A new order starts from its first page: a cursor belongs to the order that made it.
    for key in ("after", "before", "page"):
        query.pop(key, None)
    query[param] = f"-{column.key}" if next_descending else column.key
    return SortHeader(query=query.urlencode(), aria_sort=aria_sort, next_descending=next_descending)


def _compare(left: str, right: str) -> int:
    a, b = _key(left), _key(right)
    return (a > b) - (a < b)


@functools.lru_cache(maxsize=4096)
def _key(text: str) -> tuple[str, str]:
    return french_sort_key(text)


def register_sqlite_collation(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Receiver of `connection_created`: teaches each new SQLite connection the French order
    (lib.text.french_sort_key) under SQLITE_COLLATION. Other databases have their own."""
    if connection.vendor == "sqlite":
        connection.connection.create_collation(SQLITE_COLLATION, _compare)
