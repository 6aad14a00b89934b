"""Normalization of what people type: addresses, phone numbers, postcodes, free text."""

from __future__ import annotations

import re
import unicodedata

import idna
import phonenumbers
from django.utils.translation import gettext as _

from essaim.lib.numbers import is_ascii_digits


class InvalidValue(ValueError):
    """A value that cannot be normalized; the message says why, in words for a person."""


# RFC 5321 local part, the dot-atom form only: quoted local parts are legal but in a campaign's
# base they are typos far more often than real addresses.
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_email(raw: str) -> tuple[str, str]:
    """Return (email, key): the address as we store and mail it, and its identity.

    The domain is lower-cased and IDNA-encoded (`élysée.fr` → `xn--lyse-9oad.fr`); the local part
    keeps its case for mailing, but the key is case-folded: `Jean@X.fr` and `jean@x.fr` are one
    person. Plus-addresses are kept as typed (they are the person's own choice of address).
    """
    value = (raw or "").strip().strip("<>").strip()
    if not value:
        raise InvalidValue(_("adresse vide"))
    if len(value) > 254:
        raise InvalidValue(_("adresse trop longue"))
    if value.count("@") != 1:
        raise InvalidValue(_("adresse sans @ ou avec plusieurs @"))
    local, domain = value.split("@")
    if not local or len(local) > 64 or not _LOCAL_RE.match(local):
        raise InvalidValue(_("partie avant @ invalide"))
    domain = domain.rstrip(".").lower()
    if not domain:
        raise InvalidValue(_("domaine vide"))
    if domain.isascii():
        ascii_domain = domain
    else:
        try:
            ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise InvalidValue(_("domaine international invalide")) from exc
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels):
        raise InvalidValue(_("domaine invalide"))
    if is_ascii_digits(labels[-1], max_digits=63):
        raise InvalidValue(_("domaine invalide"))
    email = f"{local}@{ascii_domain}"
    if len(email) > 254:
        raise InvalidValue(_("adresse trop longue"))
    return email, email.casefold()


def normalize_phone(raw: str, region: str = "FR") -> str:
    """E.164 (`+33612345678`), or '' for an empty value; French numbers may omit the +33."""
    value = (raw or "").strip()
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidValue(_("numéro de téléphone illisible")) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidValue(_("numéro de téléphone invalide"))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# [0-9], not \d: \d also matches "١٢٣٤٥" (Arabic-Indic digits), which is no French postcode.
_POSTCODE_RE = re.compile(r"[0-9]{5}")


def clean_postcode(raw: str) -> str:
    """Five digits, or '' for an empty value. A 4-digit value lost its leading zero in a
    spreadsheet ("1000" for 01000) and gets it back."""
    value = re.sub(r"\s+", "", raw or "")
    if not value:
        return ""
    if len(value) == 4 and is_ascii_digits(value):
        value = "0" + value
    if not _POSTCODE_RE.fullmatch(value):
        raise InvalidValue(_("code postal invalide"))
    return value


def clean_name(raw: str, max_length: int = 150) -> str:
    """Collapse white space and drop control characters; markup is kept as text (escaped when
    shown), never interpreted."""
    value = "".join(ch for ch in (raw or "") if unicodedata.category(ch)[0] != "C" or ch == " ")
    return " ".join(value.split())[:max_length]


def _fold_slow(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class _FoldTable(dict[int, str]):
    """Each character's fold, computed on first sight: case folding maps each character on its
    own, and the decomposition's reordering moves only combining marks, which fold drops, so a
    text folds character by character."""

    def __missing__(self, code: int) -> str:
        folded = self[code] = _fold_slow(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower-case without accents, for matching French text typed with or without them."""
    if text.isascii():
        # ASCII: case folding is lower-casing, and nothing decomposes.
        return text.lower()
    return text.translate(_FOLD_TABLE)


_NAME_FOLDS = str.maketrans(
    {"'": None, "’": None, "ʼ": None, "`": None, "´": None, "œ": "oe", "æ": "ae"}
)


def name_key(text: str, max_length: int = 150) -> str:
    """A name as searched: folded (`fold`), apostrophes dropped and any other character that is
    not a letter or a digit turned into a space ("Lefèvre-D’Arc" → "lefevre darc"), so that
    what people type finds what was written, with or without accents, hyphens and capitals."""
    folded = fold(text).translate(_NAME_FOLDS)
    return " ".join("".join(ch if ch.isalnum() else " " for ch in folded).split())[:max_length]


def french_sort_key(text: str) -> tuple[str, str]:
    """Sorts names as a French reader expects: accents and case count only to break ties
    ("Île-de-France" between "Hauts-de-France" and "Normandie", not after every ASCII name)."""
    return fold(text), text
