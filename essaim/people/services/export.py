"""CSV export of contacts, streamed in constant memory.

Format, chosen for French Excel, which is what campaign staff open these files with:

- UTF-8 with a byte order mark (without it Excel reads UTF-8 as Windows-1252: "Ã©" for "é");
- `;` between fields (French Excel's list separator; a `,` file opens as one column), fields
  quoted when they hold `;`, `"` or a line break, lines ending in CRLF;
- one line per contact, in id order; tags joined with ", "; `created_at` in ISO 8601 with the
  offset of the site's time zone; one `consent_<purpose>` column per purpose holding the status
  (`granted`, `pending`, `withdrawn`, or empty for no record);
- every cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`
  so that a spreadsheet shows it as text instead of running it as a formula (CSV/formula
  injection). E.164 phone numbers start with `+`, so they read `'+33612345678`.

The rows come from one query (`values_list` with correlated subqueries for tags and consents)
read with `.iterator(chunk_size=2000)`: a million contacts never sit in memory.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any, Final

from django.db.models import OuterRef, QuerySet, StringAgg, Subquery, Value
from django.utils import timezone

from essaim.lib.csvsafe import neutralize
from essaim.people.models import Consent, Contact, ContactTag, Purpose

BOM: Final = "\ufeff"
DELIMITER: Final = ";"
CHUNK_SIZE: Final = 2000
ROWS_PER_WRITE: Final = 500
# Separates tag names inside the aggregate; a control character no tag name contains.
_TAG_SEPARATOR: Final = "\x1f"

CONTACT_COLUMNS: Final = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "postcode",
    "departement",
    "region",
    "tags",
    "source",
    "created_at",
)
COLUMNS: Final = (*CONTACT_COLUMNS, *(f"consent_{purpose}" for purpose in Purpose.values))


class _Line:
    """A file-like object whose write() returns what it is given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def export_queryset(contacts: QuerySet[Contact]) -> QuerySet[Contact, tuple[Any, ...]]:
    """The rows of the export, in COLUMNS order, as one query."""
    tag_names = (
        ContactTag.objects.filter(contact=OuterRef("pk"))
        .values("contact")
        .annotate(names=StringAgg("tag__name", delimiter=Value(_TAG_SEPARATOR)))
        .values("names")
    )
    consent_columns = {
        f"consent_{purpose}": Subquery(
            Consent.objects.filter(contact=OuterRef("pk"), purpose=purpose).values("status")[:1]
        )
        for purpose in Purpose.values
    }
    return (
        contacts.order_by("pk")
        .annotate(tag_names=Subquery(tag_names), **consent_columns)
        .values_list(
            "email",
            "first_name",
            "last_name",
            "phone",
            "postcode",
            "departement",
            "region",
            "tag_names",
            "source",
            "created_at",
            *consent_columns,
        )
    )


def _cells(row: tuple[Any, ...]) -> list[str]:
    cells: list[str] = []
    for index, value in enumerate(row):
        if value is None:
            cells.append("")
        elif index == 7:  # tags
            cells.append(neutralize(", ".join(sorted(value.split(_TAG_SEPARATOR)))))
        elif index == 9:  # created_at
            cells.append(timezone.localtime(value).isoformat(timespec="seconds"))
        else:
            cells.append(neutralize(str(value)))
    return cells


def csv_lines(rows: Iterable[tuple[Any, ...]]) -> Iterator[str]:
    """The file, as text chunks: BOM and header, then ROWS_PER_WRITE lines per chunk."""
    writer = csv.writer(_Line(), delimiter=DELIMITER, lineterminator="\r\n")
    yield BOM + writer.writerow(COLUMNS)
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow(_cells(row)))
        if len(batch) >= ROWS_PER_WRITE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def stream_csv(contacts: QuerySet[Contact]) -> Iterator[bytes]:
    """The CSV file of `contacts`, encoded, for a StreamingHttpResponse."""
    rows = export_queryset(contacts).iterator(chunk_size=CHUNK_SIZE)
    for chunk in csv_lines(rows):
        yield chunk.encode("utf-8")
