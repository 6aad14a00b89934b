"""Whole numbers read from outside input (query strings, forms, headers, command arguments).

str.isdigit() is True for "²" and "③", which int() refuses (a ValueError, so a 500), and for
"١٢٣" (Arabic-Indic), which int() reads silently as 123; int() itself also takes " 12", "+1",
"1_000" and strings long enough to hit its 4,300-digit limit. Every parse of outside input
goes through ascii_int so that only plain ASCII digits count, and a bounded number of them.
"""

from __future__ import annotations

# Any primary key fits in 18 digits (a signed 64-bit integer has 19).
MAX_DIGITS = 18


def is_ascii_digits(raw: str, *, max_digits: int = MAX_DIGITS) -> bool:
    """True when `raw` is 1 to `max_digits` ASCII digits, nothing else (no sign, no space)."""
    return 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit()


def ascii_int(raw: str, *, max_digits: int = MAX_DIGITS) -> int | None:
    """The number `raw` writes in 1 to `max_digits` ASCII digits; None for anything else."""
    return int(raw) if is_ascii_digits(raw, max_digits=max_digits) else None
