"""Cells of the CSV files Essaim writes (exports, import reports), safe to open in a spreadsheet."""

from typing import Final

# A cell starting with one of these is a formula to a spreadsheet (CSV injection).
FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: str) -> str:
    """A cell a spreadsheet will not evaluate as a formula."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value
