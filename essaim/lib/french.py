"""French words as the watch matches and searches them: folded (case, accents, ligatures),
elisions dropped (l', d', qu'… with ' or ’), cut into words; stems (Snowball, through
PyStemmer) for topics and search, never for names.

Two ways in, giving the same words: `words` works on the folded text and is the hot path (every
item ingested goes through it); `word_spans` works on the original text and keeps where each word
is, for highlighting. Both are tested against each other.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

from essaim.lib.text import fold

# Elided articles, pronouns and conjunctions: "l'Assemblée" is the word "assemblée".
ELISIONS = frozenset(
    {"l", "d", "qu", "j", "n", "s", "c", "m", "t", "jusqu", "lorsqu", "puisqu", "quoiqu"}
)
APOSTROPHES = "'’ʼ"

# A word and the apostrophe right after it, if any (an elided word ends with one). `[^\W_]`:
# letters and digits, not the underscore.
_WORD_RE = re.compile(r"([^\W_]+)([" + APOSTROPHES + r"]?)")


def _combining_class() -> str:
    """A regex character class of every combining mark of the Basic Multilingual Plane (what
    `fold` drops after decomposing), as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in range(0x300, 0x10000):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "[" + "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in ranges) + "]+"


_COMBINING = _combining_class()
_COMBINING_RE = re.compile(_COMBINING)
# On the original text (highlights), a word may carry combining marks ("e" + U+0300), which are
# not \w: they belong to the word they follow, as they do once folded.
_SPAN_RE = re.compile(
    r"((?:[^\W_]|" + _COMBINING.removesuffix("+") + r")+)([" + APOSTROPHES + r"]?)"
)
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae"})


def fast_fold(text: str) -> str:
    """essaim.lib.text.fold (plus œ → oe, æ → ae) for the watch's volumes: decomposition and
    the removal of the marks run in C, a character-by-character loop would not."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    folded = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", folded))
    if "œ" in folded or "æ" in folded:
        folded = folded.translate(_LIGATURES)
    return folded


# The same rule in two passes in C, for the hot path: an elided word (a whole word, not the end
# of one: "aujourd'hui" keeps its "d") is blanked, then the words are read.
_ELISION_RE = re.compile(
    r"(?<![^\W_])(?:"
    + "|".join(sorted(ELISIONS, key=len, reverse=True))
    + r")["
    + APOSTROPHES
    + r"]"
)
_TOKEN_RE = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The folded words of a text, elisions dropped: "L’Élysée et l'Assemblée" →
    ["elysee", "et", "assemblee"]. Hyphens and other punctuation separate words."""
    return _TOKEN_RE.findall(_ELISION_RE.sub(" ", fast_fold(text)))


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, folded word) for each word of `text`, offsets into `text` itself."""
    spans = []
    for match in _SPAN_RE.finditer(text):
        word = fast_fold(match.group(1))
        if match.group(2) and word in ELISIONS:
            continue
        # A word whose fold splits it ("ﬁ" ligatures are letters; "½" folds to "1⁄2") counts
        # as what the fast path sees.
        for part, _apostrophe in _WORD_RE.findall(word):
            spans.append((match.start(1), match.end(1), part))
    return spans


_STEMMER = Stemmer.Stemmer("french")
_STEMMER.maxCacheSize = 100_000


def stems(folded_words: list[str]) -> list[str]:
    """Snowball French stems of words already folded ("elections" → "elect"): a query's
    "élections" and a text's "election" meet."""
    return _STEMMER.stemWords(folded_words)  # type: ignore[no-any-return]


@lru_cache(maxsize=50_000)
def stem(folded_word: str) -> str:
    return _STEMMER.stemWord(folded_word)  # type: ignore[no-any-return]


# PostgreSQL's French stop words (tsearch_data/french.stop), as they act after unaccent: the
# dictionary sees the unaccented word, so the accented entries ("été", "à") never stop
# anything there, and must not here either, for search to answer the same on both databases.
_PG_FRENCH_STOP = """au aux avec ce ces dans de des du elle en et eux il je la le leur lui ma mais
me même mes moi mon ne nos notre nous on ou par pas pour qu que qui sa se ses son sur ta te tes
toi ton tu un une vos votre vous c d j l à m n s t y été étée étées étés étant étante étants
étantes suis es est sommes êtes sont serai seras sera serons serez seront serais serait serions
seriez seraient étais était étions étiez étaient fus fut fûmes fûtes furent sois soit soyons
soyez soient fusse fusses fût fussions fussiez fussent ayant ayante ayantes ayants eu eue eues
eus ai as avons avez ont aurai auras aura aurons aurez auront aurais aurait aurions auriez
auraient avais avait avions aviez avaient eut eûmes eûtes eurent aie aies ait ayons ayez aient
eusse eusses eût eussions eussiez eussent"""
STOP_WORDS = frozenset(word for word in _PG_FRENCH_STOP.split() if fold(word) == word)


def search_terms(text: str) -> list[str]:
    """The stems a text is searched by (stop words left out), in order."""
    return stems([word for word in words(text) if word not in STOP_WORDS])
