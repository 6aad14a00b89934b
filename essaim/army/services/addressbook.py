"""Reading addresses out of what a volunteer gives: a paste, a vCard (.vcf) or a CSV export of
an address book. Nothing here touches the database: the answer is syntax only (valid or not),
which reveals nothing about the base.

Bounds, so that a hostile or enormous file costs little: at most INVITATIONS_MAX_UPLOAD_BYTES
are read from an upload (beyond: an error, the rest is never read) and at most
INVITATIONS_MAX_ENTRIES address-like entries are kept (beyond: an error naming the limit, so
that nothing is dropped silently).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.conf import settings
from django.utils.translation import gettext as _

from essaim.lib.text import InvalidValue, normalize_email

# Invalid entries echoed back to the volunteer, each cut to this many characters.
MAX_INVALID_SHOWN = 20
MAX_INVALID_CHARS = 80
MAX_PASTE_CHARS = 100_000


class AddressBookError(ValueError):
    """The input cannot be read as a whole; the message says why, for the volunteer."""


@dataclass
class Addresses:
    """Distinct valid addresses in the order met (normalized), and the invalid entries."""

    valid: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    invalid_count: int = 0
    _keys: set[str] = field(default_factory=set, repr=False)
    _entries: int = field(default=0, repr=False)

    def add(self, raw: str) -> None:
        self._entries += 1
        if self._entries > settings.INVITATIONS_MAX_ENTRIES:
            raise AddressBookError(
                _(
                    "Plus de %(n)d adresses : choisissez un groupe plus petit de votre carnet "
                    "et recommencez."
                )
                % {"n": settings.INVITATIONS_MAX_ENTRIES}
            )
        try:
            email, key = normalize_email(raw)
        except InvalidValue:
            self.invalid_count += 1
            if len(self.invalid) < MAX_INVALID_SHOWN:
                shown = " ".join(raw.split())
                if len(shown) > MAX_INVALID_CHARS:
                    shown = shown[: MAX_INVALID_CHARS - 1] + "…"
                self.invalid.append(shown)
            return
        if key not in self._keys:  # `A@x.fr` and `a@X.FR` are one person
            self._keys.add(key)
            self.valid.append(email)


_SEPARATORS = re.compile(r"[\s,;]+")
_WRAPPERS = "<>\"'()[]"


def _candidates(line: str) -> Iterator[str]:
    """Address-like tokens of a line of free text. "Jean Dupont <jean@x.fr>" gives the address
    only; a non-empty line without any "@" is one (invalid) entry, so a typo is shown back."""
    if "@" not in line:
        if line.strip():
            yield line.strip()
        return
    for token in _SEPARATORS.split(line):
        if "@" in token:
            yield token.strip(_WRAPPERS).removeprefix("mailto:")


def parse_text(text: str) -> Addresses:
    """Addresses pasted by the volunteer: separated by new lines, commas, semicolons or spaces,
    with or without names around them."""
    if len(text) > MAX_PASTE_CHARS:
        raise AddressBookError(
            _("Texte trop long (%(n)d caractères au plus).") % {"n": MAX_PASTE_CHARS}
        )
    found = Addresses()
    for line in text.splitlines():
        for candidate in _candidates(line):
            found.add(candidate)
    return found


def read_upload(handle: IO[bytes], size: int | None = None) -> bytes:
    """The file's bytes, never more than the limit: a bigger file is refused before it is read."""
    limit = settings.INVITATIONS_MAX_UPLOAD_BYTES
    too_big = AddressBookError(
        _("Fichier trop lourd (%(kb)d Ko au plus) : exportez un groupe plus petit.")
        % {"kb": limit // 1024}
    )
    if size is not None and size > limit:
        raise too_big
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise too_big
    return data


_MAGIC = (b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\xd0\xcf\x11\xe0")


def decode(data: bytes) -> str:
    """Text of an address book: UTF-8 (with or without BOM), UTF-16 with a BOM (Windows
    exports), else Windows-1252 (older Outlook CSV exports). Binary files are refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif data.startswith(_MAGIC) or b"\x00" in data:
        raise AddressBookError(
            _("Ce fichier n'est pas un carnet d'adresses : exportez vos contacts en vCard ou CSV.")
        )
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                return data.decode("cp1252")
            except UnicodeDecodeError:
                pass
    raise AddressBookError(
        _("Encodage non reconnu : exportez vos contacts en UTF-8 (vCard ou CSV) et recommencez.")
    )


def parse_file(data: bytes) -> Addresses:
    """A vCard (3.0 or 4.0, and the 2.1 of old phones) or a CSV, told apart by their content."""
    text = decode(data)
    if "BEGIN:VCARD" in text[:4096].upper():
        return parse_vcard(text)
    return parse_csv(text)


# Folding (RFC 6350 3.2): a line break followed by one space or tab continues the line.
_FOLD = re.compile(r"\r\n[ \t]|\n[ \t]|\r[ \t]")


def _unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m[1] in "nN" else m[1], value)


def _split_property(line: str) -> tuple[str, str] | None:
    """(NAME, value) of a content line, the group prefix ("item1.") dropped; a colon inside a
    quoted parameter value does not end the name part."""
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            name = line[:i].split(";", 1)[0].rsplit(".", 1)[-1].strip().upper()
            return name, line[i + 1 :]
    return None


def parse_vcard(text: str) -> Addresses:
    """Every EMAIL of every card (a card may have several)."""
    found = Addresses()
    cards = 0
    for line in _FOLD.sub("", text).splitlines():
        prop = _split_property(line)
        if prop is None:
            continue
        name, value = prop
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            cards += 1
        elif name == "EMAIL":
            value = _unescape(value).strip()
            if value:
                found.add(value.removeprefix("mailto:"))
    if not cards:
        raise AddressBookError(_("Ce fichier vCard ne contient aucune fiche."))
    return found


def _rows(text: str) -> Iterable[list[str]]:
    first = text[: text.find("\n")] if "\n" in text else text
    delimiter = max((",", ";", "\t"), key=first.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def parse_csv(text: str) -> Addresses:
    """Every address-like cell of a CSV export (Google, Outlook, Apple, a spreadsheet): whatever
    the column's name, and several per cell (Google joins them with " ::: ")."""
    found = Addresses()
    try:
        for row in _rows(text):
            for cell in row:
                if "@" not in cell:
                    continue
                for candidate in _candidates(cell.replace(":::", " ")):
                    found.add(candidate)
    except csv.Error as exc:
        raise AddressBookError(_("Ce fichier CSV est illisible.")) from exc
    return found
