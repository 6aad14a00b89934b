"""Looking at a CSV file before importing it: size, binary content, encoding, delimiter, header.

Everything here reads the file and nothing else; an unusable file raises `ImportFileError` with a
message for the person who uploaded it, before any row is written.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from essaim.lib.text import fold
from essaim.people.services.imports.rows import iter_records, open_text

# The contact fields a column can feed, in the order the mapping form shows them.
FIELDS: tuple[str, ...] = ("email", "first_name", "last_name", "postcode", "phone", "tags")
FIELD_LABELS = {
    "email": gettext_lazy("E-mail"),
    "first_name": gettext_lazy("Prénom"),
    "last_name": gettext_lazy("Nom"),
    "postcode": gettext_lazy("Code postal"),
    "phone": gettext_lazy("Téléphone"),
    "tags": gettext_lazy("Étiquettes"),
}
DELIMITERS: tuple[str, ...] = (",", ";", "\t")
PREVIEW_ROWS = 5
# Columns a file may have: the mapping step shows one choice per column.
MAX_COLUMNS = 200

# Header names as people type them, folded (no case, no accents, punctuation as spaces).
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": (
        "email",
        "e mail",
        "mail",
        "courriel",
        "adresse e mail",
        "adresse email",
        "adresse mail",
        "adresse courriel",
        "adresse electronique",
        "email address",
        "e mail address",
    ),
    "first_name": ("prenom", "prenoms", "first name", "firstname", "given name"),
    "last_name": ("nom", "nom de famille", "last name", "lastname", "surname", "family name"),
    "postcode": (
        "code postal",
        "cp",
        "postcode",
        "post code",
        "postal code",
        "zip",
        "zip code",
        "zipcode",
    ),
    "phone": (
        "telephone",
        "tel",
        "mobile",
        "portable",
        "phone",
        "phone number",
        "gsm",
        "numero de telephone",
        "n de telephone",
        "telephone mobile",
        "telephone portable",
        "tel mobile",
        "tel portable",
    ),
    "tags": ("tags", "tag", "etiquettes", "etiquette"),
}
HEADER_SYNONYMS: dict[str, str] = {
    name: field_name for field_name, names in _SYNONYMS.items() for name in names
}

_BLOCK = 1024 * 1024
_NON_WORD = re.compile(r"[\W_]+")
# Signatures of files people upload by mistake instead of a CSV export.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", gettext_noop("classeur Excel ou LibreOffice (.xlsx, .ods) ou archive zip")),
    (b"\xd0\xcf\x11\xe0", gettext_noop("classeur Excel ancien format (.xls)")),
    (b"%PDF", gettext_noop("document PDF")),
)


class ImportFileError(ValueError):
    """The file cannot be imported at all; the message says why, in words for a person."""


@dataclass(frozen=True)
class FileInfo:
    size: int
    sha256: str
    encoding: str
    delimiter: str
    header: list[str]
    preview: list[list[str]]  # the first data rows, for the mapping step
    mapping: dict[str, int]  # field → column index, as guessed from the header
    data_lines: int  # physical lines after the header (progress is counted in lines)
    warnings: list[str] = field(default_factory=list)


def fold_header(cell: str) -> str:
    return " ".join(_NON_WORD.sub(" ", fold(cell)).split())


def guess_mapping(header: list[str], preview: list[list[str]]) -> dict[str, int]:
    """Field → column index from the header names; the first column wins for a field. Without
    a recognizable header, a column whose sample values mostly hold an @ is taken as the e-mail."""
    mapping: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = HEADER_SYNONYMS.get(fold_header(cell))
        if name and name not in mapping:
            mapping[name] = index
    if "email" not in mapping:
        for index in range(len(header)):
            if index in mapping.values():
                continue
            values = [row[index].strip() for row in preview if index < len(row) and row[index]]
            if values and sum("@" in value for value in values) * 2 >= len(values):
                mapping["email"] = index
                break
    return dict(sorted(mapping.items(), key=lambda item: FIELDS.index(item[0])))


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f}"


def _scan(path: Path, size: int) -> tuple[str, str, int]:
    """Read the whole file once: its sha256, its encoding (UTF-8 with or without BOM, else
    Windows-1252) and its number of physical lines. A NUL byte anywhere means a binary file."""
    digest = hashlib.sha256()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = True
    newlines = carriage_returns = 0
    last = b""
    with path.open("rb") as handle:
        first = True
        while block := handle.read(_BLOCK):
            if first:
                first = False
                if block.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                    raise ImportFileError(
                        _(
                            "Le fichier est en UTF-16 : enregistrez-le en « CSV UTF-8 » "
                            "depuis votre tableur, puis recommencez."
                        )
                    )
                for magic, kind in _MAGIC:
                    if block.startswith(magic):
                        raise ImportFileError(
                            _(
                                "Ce fichier n'est pas un CSV mais un %(kind)s : exportez-le au "
                                "format CSV depuis votre tableur."
                            )
                            % {"kind": _(kind)}
                        )
            if b"\x00" in block:
                raise ImportFileError(
                    _("Ce fichier est binaire (octets nuls), pas un fichier CSV texte.")
                )
            digest.update(block)
            newlines += block.count(b"\n")
            carriage_returns += block.count(b"\r")
            last = block[-1:]
            if utf8_ok:
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    utf8_ok = False
        if utf8_ok:
            try:
                utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                utf8_ok = False
    with path.open("rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
    if utf8_ok:
        encoding = "utf-8-sig" if bom else "utf-8"
    else:
        encoding = "cp1252"
        cp1252 = codecs.getincrementaldecoder("cp1252")()
        with path.open("rb") as handle:
            try:
                while block := handle.read(_BLOCK):
                    cp1252.decode(block)
            except UnicodeDecodeError as exc:
                raise ImportFileError(
                    _(
                        "Encodage non reconnu : le fichier n'est ni en UTF-8 ni en Windows-1252. "
                        "Enregistrez-le en « CSV UTF-8 » puis recommencez."
                    )
                ) from exc
    lines = newlines if newlines else carriage_returns  # classic Mac files end lines with \r
    if size and last not in (b"\n", b"\r"):
        lines += 1
    return digest.hexdigest(), encoding, lines


def _sample_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """The sample's rows as the csv module reads them, up to the first it cannot read (a cell
    over its field limit, a quote left open at the end): the rows before it decide."""
    rows: list[list[str]] = []
    reader = csv.reader(lines, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except (StopIteration, csv.Error):
            return rows
        if any(cell.strip() for cell in row):
            rows.append(row)


def _detect_delimiter(lines: list[str]) -> str:
    """The candidate that splits the header into the most columns with the rows agreeing."""
    best, best_score = ",", (False, 0, 0)
    for delimiter in DELIMITERS:
        rows = _sample_rows(lines, delimiter)
        if not rows:
            continue
        width = len(rows[0])
        score = (width > 1, sum(len(row) == width for row in rows), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _control_ratio(text: str) -> float:
    if not text:
        return 0.0
    controls = sum(
        1 for ch in text if ch not in "\t\r\n" and unicodedata.category(ch) in ("Cc", "Cs", "Co")
    )
    return controls / len(text)


def inspect_file(path: Path) -> FileInfo:
    """Check that `path` is a CSV we can import and describe it; raise ImportFileError if not."""
    size = path.stat().st_size
    limit = settings.IMPORT_MAX_BYTES
    if size > limit:
        raise ImportFileError(
            _("Fichier trop volumineux : %(size)s Mo, le maximum est %(limit)s Mo.")
            % {"size": _megabytes(size), "limit": _megabytes(limit)}
        )
    if size == 0:
        raise ImportFileError(_("Le fichier est vide."))
    sha256, encoding, lines = _scan(path, size)

    sample: list[str] = []
    for line in open_text(path, encoding):
        if line.strip():
            sample.append(line)
        if len(sample) >= 50:
            break
    if not sample:
        raise ImportFileError(_("Le fichier est vide."))
    if _control_ratio("".join(sample)) > 0.01:
        raise ImportFileError(
            _("Ce fichier contient des caractères de contrôle : ce n'est pas un CSV texte.")
        )
    delimiter = _detect_delimiter(sample)

    header: list[str] | None = None
    header_line = 0
    preview: list[list[str]] = []
    for record in iter_records(open_text(path, encoding), delimiter, expected_columns=None):
        if header is None:
            if record.cells is None:
                raise ImportFileError(
                    _("L'en-tête (ligne %(line)s) est illisible : %(reason)s.")
                    % {"line": record.line, "reason": record.reason}
                )
            header = [cell.strip() for cell in record.cells]
            header_line = record.line
            continue
        if record.cells is not None and any(cell.strip() for cell in record.cells):
            preview.append(record.cells)
        elif record.cells is None:
            preview.append([record.raw.rstrip("\n")])
        if len(preview) >= PREVIEW_ROWS:
            break
    assert header is not None  # the sample held a non-blank line
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(
            _(
                "Trop de colonnes : l'en-tête en compte %(count)s, le maximum est %(max)s. "
                "Vérifiez le séparateur, ou gardez seulement les colonnes utiles."
            )
            % {"count": len(header), "max": MAX_COLUMNS}
        )
    if len(header) == 1 and (other := _other_delimiter(header[0])):
        raise ImportFileError(
            _(
                "Séparateur de colonnes non reconnu : l'en-tête semble séparé par « %(found)s ». "
                "Enregistrez le fichier avec des virgules, des points-virgules ou des "
                "tabulations (« CSV » dans votre tableur), puis recommencez."
            )
            % {"found": other}
        )
    if any("@" in cell for cell in header):
        raise ImportFileError(
            _(
                "La première ligne doit donner les noms des colonnes (l'en-tête), or elle "
                "contient une adresse e-mail : ajoutez une ligne d'en-tête (par exemple "
                "« email;prénom;nom »)."
            )
        )
    if not preview:
        raise ImportFileError(
            _("Le fichier ne contient que la ligne d'en-tête : aucun contact à importer.")
        )
    mapping = guess_mapping(header, preview)
    if "email" not in mapping:
        raise ImportFileError(
            _(
                "Aucune colonne d'adresse e-mail : nommez-la « email », « courriel » ou "
                "« e-mail » dans l'en-tête. Colonnes trouvées : %(columns)s."
            )
            % {"columns": ", ".join(header) or "—"}
        )
    return FileInfo(
        size=size,
        sha256=sha256,
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        preview=preview,
        mapping=mapping,
        data_lines=max(0, lines - header_line),
    )


# Separators some tools write and the import does not read.
_OTHER_DELIMITERS = ("|", "^", "~", ":", "#", "!", "/")


def _other_delimiter(header: str) -> str:
    """The separator that splits a one-column header into column names we know, if any: the
    file's columns were then not split, and every row would be rejected for its address."""
    for candidate in _OTHER_DELIMITERS:
        names = [fold_header(part) for part in header.split(candidate) if part.strip()]
        if len(names) > 1 and any(name in HEADER_SYNONYMS for name in names):
            return candidate
    return ""


def read_preview(path: Path, encoding: str, delimiter: str) -> tuple[list[str], list[list[str]]]:
    """Header and first rows of a file already inspected (for the mapping step)."""
    header: list[str] = []
    rows: list[list[str]] = []
    for record in iter_records(open_text(path, encoding), delimiter, expected_columns=None):
        if not header:
            header = [cell.strip() for cell in record.cells or []]
            continue
        if record.cells is None:
            rows.append([record.raw.rstrip("\n")])
        elif any(cell.strip() for cell in record.cells):
            rows.append(record.cells)
        if len(rows) >= PREVIEW_ROWS:
            break
    return header, rows
