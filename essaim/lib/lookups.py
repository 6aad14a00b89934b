"""Index-friendly prefix filters on both databases.

`field__startswith` is `LIKE 'abc%'`. PostgreSQL answers it from a `*_pattern_ops` index (Django
creates one, `…_like`, for every indexed CharField). SQLite's LIKE is case-insensitive and only
uses an index declared `COLLATE NOCASE`, so there a prefix becomes the equivalent range
`abc <= value < abd` on the ordinary (binary-collated) index.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q


def next_prefix(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix`, in code point
    order; None when there is none (a prefix of U+10FFFF characters)."""
    trimmed = prefix
    while trimmed:
        last = ord(trimmed[-1])
        if last < 0x10FFFF:
            bumped = last + 1
            if 0xD800 <= bumped <= 0xDFFF:  # surrogates cannot be stored
                bumped = 0xE000
            return trimmed[:-1] + chr(bumped)
        trimmed = trimmed[:-1]
    return None


def prefix_q(name: str, prefix: str) -> Q:
    """Rows whose `name` (a field or an alias) starts with `prefix`, case-sensitive."""
    if connection.vendor != "sqlite":
        return Q(**{f"{name}__startswith": prefix})
    upper = next_prefix(prefix)
    if upper is None:
        return Q(**{f"{name}__gte": prefix})
    return Q(**{f"{name}__gte": prefix, f"{name}__lt": upper})
