"""Does a short text carry a link? For free text that the campaign mails in someone's name (an
invitation's personal note), where a link is how phishing gets in.

Reasonable rather than perfect: it catches web addresses and bare domains with or without a
scheme, and the usual disguises — "hxxp", "[.]", "(dot)", spaced dots ("evil . example/verify"),
Unicode dots and full-width letters, zero-width characters, IP addresses, punycode — while
ordinary French prose (sentences, "p. ex.", "3.5", "etc.") passes. A dot between two words
without a space ("salut.toi") reads as a domain and is refused: people are asked to write
without it.
"""

from __future__ import annotations

import re
import unicodedata

# Characters that render as, or are used for, a dot in disguised addresses. Not the middle dot
# (U+00B7) nor the bullet: French inclusive writing ("engagé·es") and lists use them.
_DOTS = "\u3002\uff0e\uff61\u2024\u2027\u2219\u22c5\u30fb\u0701\u0702\ufe52\u06d4\u2e33"
_DOT_TABLE = str.maketrans(dict.fromkeys(_DOTS, "."))

# "[.]", "(.)", "{.}", "[dot]", "(point)", " dot ", " dt " … → "."
_BRACKETED_DOT = re.compile(r"\s*[\[({<]\s*(?:\.|dot|point|punkt|dt)\s*[\])}>]\s*", re.IGNORECASE)
_WORD_DOT = re.compile(r"(?<=\w)\s+(?:dot|punkt)\s+(?=\w)", re.IGNORECASE)
# A dot with a space before it is not French typography: "evil . example", "evil .example".
_SPACED_DOT = re.compile(r"(?<=\w)\s+\.\s*(?=\w)")
# Schemes and their disguises: http, https, hxxp, h**p, ftp, "www", and "://" however spaced.
_SCHEME = re.compile(
    r"(?<![^\W\d_])(?:h[tx*]{2}ps?|ftp|www\d?)(?![^\W\d_])|:\s*/\s*/|\bxn--", re.IGNORECASE
)
# name.tld with a letter TLD of two or more letters, or an IPv4 address.
_DOMAIN = re.compile(
    r"(?<![\w.-])(?:[^\W_][\w-]*\.)+([^\W\d_]{2,63})(?![^\W_])|\b\d{1,3}(?:\.\d{1,3}){3}\b"
)
# "word. word/word": a dotted name followed by a path, even with the space of a sentence.
_DOTTED_PATH = re.compile(r"[^\W_][\w-]*\s?\.\s?[^\W\d_]{2,63}\s*/\s*\w")
# Abbreviations that look like a name.tld and are not one.
_ABBREVIATIONS = frozenset({"p.ex", "c.a.d", "c.-à-d", "n.b", "ex", "cf"})


def _canonical(text: str) -> str:
    """Full-width and compatibility forms folded (NFKC), invisible characters dropped, every
    disguised dot made a plain dot."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc", "Mn"))
    text = text.translate(_DOT_TABLE)
    text = _BRACKETED_DOT.sub(".", text)
    text = _WORD_DOT.sub(".", text)
    return _SPACED_DOT.sub(".", text)


def contains_link(text: str) -> bool:
    """True when `text` holds something a reader could take for a web address or a domain."""
    canonical = _canonical(text or "")
    if _SCHEME.search(canonical) or _DOTTED_PATH.search(canonical):
        return True
    for match in _DOMAIN.finditer(canonical):
        if match.group(0).casefold() not in _ABBREVIATIONS:
            return True
    return False
