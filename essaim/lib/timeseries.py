"""Counts over time, grouped by the database: one GROUP BY per figure, whatever the number of
rows (a base of a million contacts, a campaign's ledger).

Rows are grouped per UTC hour in SQL and the hours are folded into local days here:
SQLite knows no time zone, and a day of Europe/Paris starts at 22:00 or 23:00 UTC depending on
the season, so hours (at most 24 per day shown) are what both databases can group alike without
calling Python for each row (Django's TruncDate does on SQLite).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from typing import Any

from django.db.models import Aggregate, Count, DateTimeField, F, Func, QuerySet
from django.utils import timezone


class HourStart(Func):
    """The start of the UTC hour of a timestamp, computed by the database, as a datetime.

    PostgreSQL's date_trunc is much cheaper per row than EXTRACT(EPOCH …), which computes in
    numeric; SQLite's unixepoch() and datetime() are its own C. Neither calls Python per row
    (Django's Trunc does on SQLite)."""

    output_field = DateTimeField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="datetime((unixepoch(%(expressions)s) / 3600) * 3600, 'unixepoch')",
            **extra,
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="date_trunc('hour', %(expressions)s)", **extra
        )


def epoch_hour(start: dt.datetime) -> int:
    """Hours since 1970-01-01 UTC of the start of an hour (a HourStart value)."""
    return int(start.timestamp()) // 3600


def hour_start(hour: int) -> dt.datetime:
    """The local time at which an epoch hour starts."""
    return timezone.localtime(dt.datetime.fromtimestamp(hour * 3600, tz=dt.UTC))


def last_days(days: int, *, now: dt.datetime | None = None) -> tuple[list[dt.date], dt.datetime]:
    """The last `days` local days, today included, and the instant the first of them began."""
    today = timezone.localdate(now or timezone.now())
    first = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time.min))
    return [first + dt.timedelta(days=i) for i in range(days)], start


def per_day(
    queryset: QuerySet[Any],
    column: str,
    *,
    by: str | None = None,
    value: Aggregate | None = None,
) -> dict[tuple[dt.date, Hashable], int]:
    """`value` (a count of rows by default) per local day of `column` and per value of the
    column `by` (None when not grouped): {(day, group): n}. Rows whose `column` is NULL are left
    out. The caller filters the queryset to the period it shows."""
    groups = [by] if by else []
    rows = (
        queryset.order_by()
        .annotate(_hour=HourStart(F(column)))
        .values("_hour", *groups)
        .annotate(_n=value if value is not None else Count("*"))
        .values_list("_hour", *groups, "_n")
    )
    found: dict[tuple[dt.date, Hashable], int] = {}
    for row in rows:
        hour, n = row[0], row[-1]
        if hour is None:
            continue
        key = (timezone.localtime(hour).date(), row[1] if by else None)
        found[key] = found.get(key, 0) + int(n or 0)
    return found
