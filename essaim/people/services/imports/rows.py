"""Reading the rows of a CSV file and turning them into contacts to stage, in pure Python.

This part holds no database connection: the importer runs it in a thread of its own, so that
reading and normalizing the next rows overlaps with the database writing the previous ones.
"""

from __future__ import annotations

import csv
import re
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple

import phonenumbers
from django.utils.translation import gettext as _

from essaim.lib.text import (
    InvalidValue,
    clean_name,
    clean_postcode,
    normalize_email,
    normalize_phone,
)
from essaim.people.services.zones import postcode_map

# A quoted field may run over this many physical lines; past that, an opening quote is taken as
# a typo and its line alone is reported.
MAX_RECORD_LINES = 20
SUPPRESSED_REASON = "adresse supprimée/désinscrite"
TAG_MAX_LENGTH = 64
NAME_MAX_LENGTH = 150


class Record(NamedTuple):
    line: int  # physical line where the record starts (the header is line 1)
    cells: list[str] | None  # None: the record could not be read, see `reason`
    reason: str = ""
    raw: str = ""


# What the report keeps of a line that could not be read because a cell is too long.
_RAW_KEPT = 1000


class FieldTooLong(Exception):
    """A cell over the import's limit (IMPORT_MAX_FIELD_CHARS)."""


def allow_fields_of(max_field: int) -> None:
    """Let the csv module read cells up to `max_field` characters, so that a longer cell is
    recognized by `_strict_cells` (which reports it) rather than by the csv module's own limit
    (128 KiB by default). The csv limit is process-wide: it is only ever raised here."""
    if csv.field_size_limit() < max_field + 1:
        csv.field_size_limit(max_field + 1)


def _strict_cells(text: str, delimiter: str, max_field: int) -> list[str] | None:
    """The cells of one record, None if its quotes are wrong; FieldTooLong for a cell over
    `max_field` characters."""
    try:
        cells = next(csv.reader([text], delimiter=delimiter, strict=True))
    except StopIteration:
        return None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise FieldTooLong from exc
        return None
    if len(text) > max_field and any(len(cell) > max_field for cell in cells):
        raise FieldTooLong
    return cells


def _too_long(line_no: int, text: str, max_field: int) -> Record:
    raw = text if len(text) <= _RAW_KEPT else text[:_RAW_KEPT] + "…"
    reason = _("champ trop long : plus de %(max)s caractères dans une cellule") % {"max": max_field}
    return Record(line_no, None, reason, raw)


def open_text(path: Path, encoding: str) -> Iterator[str]:
    """The file's lines, decoded; universal newlines (a line break inside a quoted field comes
    back as \\n, which no contact field keeps)."""
    with path.open("r", encoding=encoding, newline=None, errors="strict") as handle:
        yield from handle


def iter_records(
    lines: Iterable[str],
    delimiter: str,
    *,
    expected_columns: int | None,
    max_field: int | None = None,
) -> Iterator[Record]:
    """Split lines into records, skipping blank lines.

    A line without quotes is split as is (the common case, and the fast one). A line with an odd
    number of quotes opens a field that goes on over the next lines; the record is accepted if its
    quotes close within MAX_RECORD_LINES lines and it parses, strictly, into `expected_columns`
    cells. Otherwise the opening line alone is reported ("guillemets non fermés") and reading goes
    on with the next line, so that one stray quote never swallows the rest of the file.

    A record with a cell over `max_field` characters (IMPORT_MAX_FIELD_CHARS by default) is
    reported as unreadable ("champ trop long"), and reading goes on after it: one pasted
    document in a cell costs its line, not the file.
    """
    if max_field is None:
        from django.conf import settings

        max_field = int(settings.IMPORT_MAX_FIELD_CHARS)
    allow_fields_of(max_field)
    source = iter(lines)
    pending: deque[str] = deque()
    line_no = 0
    while True:
        if pending:
            line = pending.popleft()
        else:
            next_line = next(source, None)
            if next_line is None:
                return
            line = next_line
        line_no += 1
        if '"' not in line:
            if line.strip():
                split = line.rstrip("\n").split(delimiter)
                # One length test per line; the cells are only looked at for a long line.
                if len(line) > max_field and any(len(cell) > max_field for cell in split):
                    yield _too_long(line_no, line, max_field)
                else:
                    yield Record(line_no, split)
            continue
        quotes = line.count('"')
        if not quotes % 2:
            try:
                strict = _strict_cells(line, delimiter, max_field)
            except FieldTooLong:
                yield _too_long(line_no, line, max_field)
                continue
            if strict is None:
                yield Record(line_no, None, _("guillemets mal placés"), line)
            else:
                yield Record(line_no, strict)
            continue
        parts = [line]
        while quotes % 2 and len(parts) < MAX_RECORD_LINES:
            more = pending.popleft() if pending else next(source, None)
            if more is None:
                break
            parts.append(more)
            quotes += more.count('"')
        cells: list[str] | None = None
        if not quotes % 2:
            try:
                cells = _strict_cells("".join(parts), delimiter, max_field)
            except FieldTooLong:
                # The quotes close: the record is whole, and only too long.
                yield _too_long(line_no, "".join(parts), max_field)
                line_no += len(parts) - 1
                continue
            if cells is not None and expected_columns not in (None, len(cells)):
                cells = None
        if cells is None:
            if len(line) > max_field and any(len(c) > max_field for c in line.split(delimiter)):
                yield _too_long(line_no, line, max_field)
            else:
                yield Record(line_no, None, _("guillemets non fermés"), line)
            pending.extendleft(reversed(parts[1:]))
        else:
            yield Record(line_no, cells)
            line_no += len(parts) - 1


# --- Normalization, with exact fast paths for the common shapes ------------------------------

# An address normalize_email would return unchanged: dot-atom local part of at most 64
# characters, lower-case ASCII domain of valid labels, the last one not all digits.
_FAST_EMAIL = re.compile(
    r"(?=[^@]{1,64}@)"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?![0-9]+\Z)(?!-)[a-z0-9-]{1,63}(?<!-)"
)


def fast_email(raw: str) -> tuple[str, str]:
    """normalize_email, without its cost for an address already in normal form."""
    value = raw.strip()
    if len(value) <= 254 and _FAST_EMAIL.fullmatch(value):
        return value, value.lower()  # ASCII: lower() is casefold()
    return normalize_email(value)


_PHONE_PUNCTUATION = str.maketrans("", "", " .-")
_FR_PHONE = re.compile(r"(?:\+33|0033|0)([1-9][0-9]{8})")
_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


@lru_cache(maxsize=1)
def _fr_validator() -> tuple[
    tuple[int, ...], re.Pattern[str], tuple[tuple[tuple[int, ...], re.Pattern[str]], ...]
]:
    """From phonenumbers' own metadata for France: the general description (possible lengths,
    pattern) and, per set of possible lengths, the alternation of the number types' patterns. A
    national number is valid when it matches the general description and one type — what
    phonenumbers.is_valid_number decides, without the parsing."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("FR")
    assert metadata is not None and metadata.general_desc is not None
    general = metadata.general_desc
    assert general.national_number_pattern is not None
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for name in _NUMBER_TYPES:
        desc = getattr(metadata, name)
        if desc is None or not desc.national_number_pattern:
            continue
        lengths = tuple(desc.possible_length or ())
        by_lengths.setdefault(lengths, []).append(f"(?:{desc.national_number_pattern})")
    types = tuple((lengths, re.compile("|".join(alts))) for lengths, alts in by_lengths.items())
    return tuple(general.possible_length or ()), re.compile(general.national_number_pattern), types


@lru_cache(maxsize=1)
def _fr_phone() -> re.Pattern[str]:
    """One pattern for a French number typed as +33…, 0033… or 0… (punctuation removed), valid
    by phonenumbers' metadata: its national number (group 1) has 9 ASCII digits, matches the
    general description and the pattern of one number type allowing 9 digits."""
    general_lengths, general, types = _fr_validator()
    alternatives = [
        pattern.pattern for lengths, pattern in types if not lengths or _FR_DIGITS in lengths
    ]
    if (general_lengths and _FR_DIGITS not in general_lengths) or not alternatives:
        return re.compile(r"(?!)")  # no French number is valid: every value takes the full path
    return re.compile(
        r"(?:\+33|0033|0)("
        rf"(?=[1-9][0-9]{{{_FR_DIGITS - 1}}}\Z)(?=(?:{general.pattern})\Z)"
        rf"(?:{'|'.join(alternatives)}))"
    )


_FR_DIGITS = 9


def fast_phone(raw: str) -> str:
    """normalize_phone, without phonenumbers' parsing for a French number typed as +33…, 0033…
    or 0… with spaces, dots or dashes; anything else (or invalid) takes the full path."""
    value = raw.strip()
    if not value:
        return ""
    match = _fr_phone().fullmatch(value.translate(_PHONE_PUNCTUATION))
    if match:
        return "+33" + match.group(1)
    return normalize_phone(value)


def fast_name(raw: str) -> str:
    """clean_name, without its per-character loop for a name that is already clean."""
    if raw.isprintable() and "  " not in raw and raw == raw.strip():
        return raw[:NAME_MAX_LENGTH]
    return clean_name(raw, NAME_MAX_LENGTH)


_TAG_SPLIT = re.compile(r"[,;|]")


def split_tags(raw: str) -> tuple[list[str], list[str]]:
    """Tags typed in one cell, separated by , ; or |: the cleaned names, deduplicated, in order,
    and the parts refused (longer than a tag may be once cleaned). A refused part is left out,
    not cut: cut, it would make a tag nobody typed."""
    if not raw:
        return [], []
    parts = raw.split(",") if ";" not in raw and "|" not in raw else _TAG_SPLIT.split(raw)
    names: dict[str, None] = {}
    refused: list[str] = []
    for part in parts:
        if part.isprintable() and "  " not in part and part == part.strip():
            name = part
        else:
            name = clean_name(part, len(part))
        if len(name) > TAG_MAX_LENGTH:
            refused.append(part)
        elif name:
            names[name] = None
    return list(names), refused


FIELD_ORDER = ("email", "first_name", "last_name", "postcode", "phone", "tags")
_CACHE_MAX = 200_000  # cleaned names and tag cells kept per import, at most
_NO_TAGS: list[str] = []  # shared, never modified
_NO_TAG_CELL: tuple[list[str], list[str]] = ([], [])  # shared, never modified

# --- Chunks -----------------------------------------------------------------------------------

# Columns of a staged row, in the staging table's order.
STAGE_COLUMNS = (
    "id",
    "dup",
    "email",
    "email_key",
    "email_hash",
    "first_name",
    "last_name",
    "phone",
    "postcode",
    "departement",
    "region",
    "new_id",  # the id the contact gets if it is new, reserved by the writer
)
_FIRST, _LAST, _PHONE, _POSTCODE = 5, 6, 7, 8


@dataclass
class Chunk:
    """A run of consecutive lines, normalized and ready to stage.

    `staged` holds one row per address: first occurrences in the file (dup=0), then, merged per
    address, the later occurrences found in this chunk (dup=1), which may only fill empty fields.
    """

    staged: list[list[Any]] = field(default_factory=list)
    tag_links: list[tuple[int, str]] = field(default_factory=list)  # (staged id, tag name)
    # Every valid line: (line, email_hash, is a duplicate, cells), to report suppressed ones.
    valid_lines: list[tuple[int, str, bool, list[str]]] = field(default_factory=list)
    invalid: list[tuple[int, str, list[str]]] = field(default_factory=list)
    # Optional values left out of a row that was imported: (line, field, value, reason).
    warnings: list[tuple[int, str, str, str]] = field(default_factory=list)
    last_line: int = 0


@dataclass
class RowReader:
    """Reads a file into chunks. `seen` (the valid rows' case-folded addresses read so far)
    spans the whole file: it is how a duplicate in a later chunk is recognized. It keeps each
    address's hash(), not the string: 40 MB less for a million addresses, in a process whose
    memory counts. Two addresses with the same 64-bit hash (about once in 10^7 files of a
    million rows) only make the second one count as a duplicate: a duplicate whose address is
    not in the base is created all the same (ChunkWriter._apply), so nothing is lost."""

    path: Path
    encoding: str
    delimiter: str
    mapping: dict[str, int]
    columns: int
    chunk_rows: int
    max_field: int | None = None  # IMPORT_MAX_FIELD_CHARS when None
    seen: set[int] = field(default_factory=set)
    postcodes: dict[str, tuple[str, str]] = field(default_factory=dict)
    _indexes: tuple[int, ...] = ()
    _tag_too_long: str = ""

    def _normalize(
        self, cells: list[str], line: int, warnings: list[tuple[int, str, str, str]]
    ) -> tuple[list[Any], list[str]] | str:
        """[email, key, hash, first, last, phone, postcode, dep, region] and tags, or the reason
        the row is rejected. A column the file lacks reads as empty. Only the address (and cells
        that do not line up with the header) can reject a row: an invalid phone, postcode or tag
        is left out, with a warning appended to `warnings`."""
        width = len(cells)
        if width > self.columns and any(cell.strip() for cell in cells[self.columns :]):
            return _("nombre de colonnes incorrect : %(found)s au lieu de %(expected)s") % {
                "found": width,
                "expected": self.columns,
            }
        i_email, i_first, i_last, i_postcode, i_phone, i_tags = self._indexes
        try:
            email, key = fast_email(cells[i_email] if i_email < width else "")
        except InvalidValue as exc:
            return _("e-mail : %(reason)s") % {"reason": exc}
        departement = region = postcode = ""
        raw_postcode = cells[i_postcode] if i_postcode < width else ""
        if raw_postcode:
            zone = self.postcodes.get(raw_postcode)
            if zone is not None:
                postcode = raw_postcode
            elif raw_postcode.strip():
                try:
                    cleaned = clean_postcode(raw_postcode)
                except InvalidValue as exc:
                    warnings.append((line, "postcode", raw_postcode, str(exc)))
                else:
                    zone = self.postcodes.get(cleaned)
                    if zone is None:
                        warnings.append(
                            (line, "postcode", raw_postcode, _("code postal inexistant"))
                        )
                    else:
                        postcode = cleaned
            if zone is not None:
                departement, region = zone
        raw_phone = cells[i_phone] if i_phone < width else ""
        phone = ""
        if raw_phone:
            try:
                phone = fast_phone(raw_phone)
            except InvalidValue as exc:
                warnings.append((line, "phone", raw_phone, str(exc)))
        values = [
            email,
            key,
            sha256(key.encode()).hexdigest(),
            fast_name(cells[i_first]) if i_first < width else "",
            fast_name(cells[i_last]) if i_last < width else "",
            phone,
            postcode,
            departement,
            region,
        ]
        tags, refused = split_tags(cells[i_tags]) if i_tags < width else _NO_TAG_CELL
        if refused:
            warnings.extend((line, "tags", part, self._tag_too_long) for part in refused)
        return values, tags

    def chunks(self) -> Iterator[Chunk]:
        """The file in chunks of `chunk_rows` records.

        The loop is the import's Python hot spot (it shares two cores with the database), so the
        common row — as many cells as the header, an address already in normal form, a known
        postcode — is normalized inline: names and tag cells repeat across a file and their
        cleaned values are cached (clean_name and split_tags are pure functions of the cell).
        Any other row takes `_normalize`, which gives the same result for the common row.
        An invalid phone, postcode or tag never rejects the row: the value is left out and
        listed in the chunk's warnings."""
        self.postcodes = zones = postcode_map()
        absent = 1 << 30  # an index past any row: the field reads as empty
        self._indexes = tuple(self.mapping.get(name, absent) for name in FIELD_ORDER)
        i_email, i_first, i_last, i_postcode, i_phone, i_tags = self._indexes
        # The inline path reads every mapped cell directly: rows must have them all.
        inline_width = self.columns
        has_first, has_last, has_postcode, has_phone, has_tags = (
            index != absent for index in self._indexes[1:]
        )
        email_fullmatch = _FAST_EMAIL.fullmatch
        names: dict[str, str] = {}
        tag_cells: dict[str, tuple[list[str], list[str]]] = {}
        self._tag_too_long = _("étiquette de plus de %(max)s caractères, non ajoutée") % {
            "max": TAG_MAX_LENGTH
        }
        records = iter_records(
            open_text(self.path, self.encoding),
            self.delimiter,
            expected_columns=self.columns,
            max_field=self.max_field,
        )
        next(records, None)  # the header
        seen = self.seen
        chunk = Chunk()
        staged, valid_lines, tag_links = chunk.staged, chunk.valid_lines, chunk.tag_links
        warnings = chunk.warnings
        dups: dict[str, list[Any]] = {}
        rows = 0
        for line, cells, reason, raw in records:
            values: list[Any] | None = None
            tags: list[str] = _NO_TAGS
            if cells is None:
                # Unreadable quotes: the line split naively, so the report's columns still align.
                chunk.invalid.append((line, reason, raw.rstrip("\n").split(self.delimiter)))
            elif (
                len(cells) == inline_width
                and len(raw_email := cells[i_email]) <= 254
                and email_fullmatch(raw_email)
                and (
                    (raw_postcode := cells[i_postcode] if has_postcode else "") == ""
                    or raw_postcode in zones
                )
            ):
                if len(names) > _CACHE_MAX:
                    names.clear()
                    tag_cells.clear()
                key = raw_email.lower()  # ASCII: lower() is casefold()
                first = last = phone = ""
                if has_first:
                    raw_first = cells[i_first]
                    cached_name = names.get(raw_first)
                    if cached_name is None:
                        cached_name = names[raw_first] = fast_name(raw_first)
                    first = cached_name
                if has_last:
                    raw_last = cells[i_last]
                    cached_name = names.get(raw_last)
                    if cached_name is None:
                        cached_name = names[raw_last] = fast_name(raw_last)
                    last = cached_name
                if has_phone and (raw_phone := cells[i_phone]):
                    try:
                        phone = fast_phone(raw_phone)
                    except InvalidValue as exc:
                        warnings.append((line, "phone", raw_phone, str(exc)))
                departement, region = zones[raw_postcode] if raw_postcode else ("", "")
                values = [
                    raw_email,
                    key,
                    sha256(key.encode()).hexdigest(),
                    first,
                    last,
                    phone,
                    raw_postcode,
                    departement,
                    region,
                ]
                if has_tags and (raw_tags := cells[i_tags]):
                    cached = tag_cells.get(raw_tags)
                    if cached is None:
                        cached = tag_cells[raw_tags] = split_tags(raw_tags)
                    tags, refused = cached
                    if refused:
                        warnings.extend(
                            (line, "tags", part, self._tag_too_long) for part in refused
                        )
            elif not "".join(cells).strip():
                pass  # a row of empty cells, as spreadsheets leave them
            else:
                result = self._normalize(cells, line, warnings)
                if isinstance(result, str):
                    chunk.invalid.append((line, result, cells))
                else:
                    values, tags = result
            if values is not None:
                key = values[1]
                marker = hash(key)  # already computed for `dups`; see `seen`
                if marker not in seen:
                    seen.add(marker)
                    staged_id = len(staged) + 1
                    staged.append([staged_id, 0, *values, None])
                    is_dup = False
                else:
                    is_dup = True
                    merged = dups.get(key)
                    if merged is None:
                        staged_id = len(staged) + 1
                        merged = [staged_id, 1, *values, None]
                        staged.append(merged)
                        dups[key] = merged
                    else:
                        staged_id = merged[0]
                        for index in (_FIRST, _LAST, _PHONE):
                            if not merged[index] and values[index - 2]:
                                merged[index] = values[index - 2]
                        if not merged[_POSTCODE] and values[_POSTCODE - 2]:
                            merged[_POSTCODE : _POSTCODE + 3] = values[
                                _POSTCODE - 2 : _POSTCODE + 1
                            ]
                valid_lines.append((line, values[2], is_dup, cells or []))
                for tag in tags:
                    tag_links.append((staged_id, tag))
            rows += 1
            chunk.last_line = line
            if rows >= self.chunk_rows:
                yield chunk
                chunk, dups, rows = Chunk(), {}, 0
                staged, valid_lines, tag_links = chunk.staged, chunk.valid_lines, chunk.tag_links
                warnings = chunk.warnings
        if rows:
            yield chunk
