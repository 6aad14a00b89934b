"""Keyset pagination on the primary key, newest first, or on a column and the primary key.

OFFSET pagination costs a scan of every skipped row: page 20,000 of a million contacts would read
a million index entries. A keyset page costs the same whatever its depth: `WHERE id < cursor
ORDER BY id DESC LIMIT n`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from essaim.lib.numbers import ascii_int
from essaim.lib.sorting import Sorting

M = TypeVar("M", bound=Model)


@dataclass
class KeysetPage[M: Model]:
    items: list[M]
    next_cursor: int | None
    prev_cursor: int | None
    size: int
    # Newest first by id (the default): the pager's links read "more recent" and "older".
    newest_first: bool = True

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_prev(self) -> bool:
        return self.prev_cursor is not None


def int_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    return ascii_int(raw)


def keyset_page[M: Model](
    queryset: QuerySet[M], request: HttpRequest, size: int = 50, *, sorting: Sorting | None = None
) -> KeysetPage[M]:
    """One page of `queryset`, newest first (or in the order of `sorting`); `?after=ID` goes
    on, `?before=ID` goes back. The cursor is the id of the last (first) row shown.

    Newest first, two queries at most whatever the depth. In another order, one more: the
    cursor row's sort value, read by its id, then the rows beyond (value, id) in that order.
    A cursor whose row has gone gives the first page.
    """
    after = int_param(request, "after")
    before = int_param(request, "before")
    key: Any = None
    qs: QuerySet[Any, M]
    if sorting is None or sorting.column.expression in ("pk", "id"):
        field, descending = "pk", sorting is None or sorting.descending
        qs = queryset
    else:
        field, descending = "_keyset", sorting.descending
        key = sorting.expression(queryset.db)
        qs = queryset.alias(_keyset=key)
    forward: tuple[str, ...] = (f"-{field}", "-pk") if descending else (field, "pk")
    backward: tuple[str, ...] = (field, "pk") if descending else (f"-{field}", "-pk")
    if field == "pk":
        forward, backward = forward[:1], backward[:1]

    def beyond(cursor: int, *, ahead: bool) -> Q | None:
        # The rows after the cursor's (ahead) or before it, in the page's order.
        op = "lt" if descending == ahead else "gt"
        if field == "pk":
            return Q(**{f"pk__{op}": cursor})
        # Read without the page's filters: a row that no longer matches still marks the place.
        base = queryset.model._base_manager.using(queryset.db).annotate(_keyset=key)
        value = base.filter(pk=cursor).values_list("_keyset", flat=True).first()
        if value is None:
            return None
        return Q(**{f"{field}__{op}": value}) | Q(**{field: value, f"pk__{op}": cursor})

    newest_first = field == "pk" and descending
    if before is not None and (going_back := beyond(before, ahead=False)) is not None:
        rows = list(qs.filter(going_back).order_by(*backward)[: size + 1])
        more_before = len(rows) > size
        rows = list(reversed(rows[:size]))
        next_cursor = rows[-1].pk if rows else None
        prev_cursor = rows[0].pk if rows and more_before else None
        return KeysetPage(rows, next_cursor, prev_cursor, size, newest_first)
    going_on = beyond(after, ahead=True) if after is not None else None
    if going_on is not None:
        qs = qs.filter(going_on)
    rows = list(qs.order_by(*forward)[: size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(
        rows,
        rows[-1].pk if rows and has_more else None,
        rows[0].pk if rows and going_on is not None else None,
        size,
        newest_first,
    )


def querystring(request: HttpRequest, **changes: Any) -> str:
    params = request.GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return params.urlencode()


# --- Keyset on (a datetime, the primary key) ------------------------------------------------
# For lists ordered by a date rather than the id (a deadline, a claim's time): the cursor is
# the last row's (date, pk), written as "<microseconds since the epoch>.<pk>" — exact integer
# arithmetic, so that the row compares equal to itself and no row is skipped or repeated.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def encode_time_cursor(at: datetime, pk: int) -> str:
    return f"{(at - _EPOCH) // _MICRO}.{pk}"


def decode_time_cursor(raw: str) -> tuple[datetime, int] | None:
    """The (date, pk) of a cursor, or None for anything malformed (a forged cursor is the
    first page, never an error)."""
    micros, _, pk = raw.partition(".")
    micro_count, row = ascii_int(micros, max_digits=17), ascii_int(pk)
    if micro_count is None or row is None:
        return None
    try:
        return _EPOCH + micro_count * _MICRO, row
    except OverflowError:
        return None


def time_keyset[M: Model](
    queryset: QuerySet[M], field: str, cursor: str, size: int, *, descending: bool = False
) -> tuple[list[M], str | None]:
    """One page of `queryset` ordered by (`field`, pk) — descending if asked — after the
    cursor, and the next page's cursor (None on the last page). One query, whatever the
    depth: the (field, pk) comparison is an index range when an index leads with `field`."""
    after = decode_time_cursor(cursor) if cursor else None
    if after is not None:
        at, pk = after
        op = "lt" if descending else "gt"
        queryset = queryset.filter(Q(**{f"{field}__{op}": at}) | Q(**{field: at, f"pk__{op}": pk}))
    order = (f"-{field}", "-pk") if descending else (field, "pk")
    rows = list(queryset.order_by(*order)[: size + 1])
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    last = rows[-1]
    return rows, encode_time_cursor(getattr(last, field), last.pk)


def api_page[M: Model](
    queryset: QuerySet[M], *, after: int | None, limit: int, item: Callable[[M], Any]
) -> dict[str, Any]:
    """An API list's keyset page, newest first: `{"items": [...], "next": id or None}`, the
    `next` to pass back as `after`. One query, whatever the depth."""
    if after is not None:
        queryset = queryset.filter(pk__lt=after)
    rows = list(queryset.order_by("-pk")[: limit + 1])
    page = rows[:limit]
    return {
        "items": [item(row) for row in page],
        "next": page[-1].pk if len(rows) > limit else None,
    }
