"""What the watch compares when it de-duplicates items: folded words, exact hashes, wire-copy
credits, word shingles, MinHash signatures and their LSH bands.

Pure functions of an item's text: no database (essaim.watch.services.stories uses them).

- The text compared is the title and the summary, folded (lower case, no accents, French
  apostrophes straightened) and cut into words; an agency's credit ("PARIS (AFP) -",
  "(avec AFP)", "© Reuters") is dropped first, so that a reprint with or without the credit
  compares equal to the dispatch.
- Similarity is measured on word 3-shingles: |A ∩ B| / min(|A|, |B|) (the overlap
  coefficient), so that a reprint cut after its second paragraph still matches the whole
  dispatch. Candidates are found with MinHash-LSH (datasketch's MinHash; 64 permutations in
  32 bands of 2 rows: two texts sharing a fifth of their shingles are candidates 73 % of the
  time, a third 95 %, unrelated news — 2 % shared — 1 %), then the similarity is computed
  exactly on the shingles.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHash

from essaim.lib.text import fold

NUM_PERM = 64
BANDS = 32
ROWS = NUM_PERM // BANDS
SHINGLE = 3
# A sentence this long, shared word for word with an earlier item, is copy (a reprint).
LONG_SENTENCE_WORDS = 15
# A title shorter than this says too little to identify an item within its source.
TITLE_MIN_WORDS = 4
_SEED = 17

_AGENCIES = r"AFP|Reuters|AP|Belga|ATS|Xinhua|ANSA|DPA|EFE"
# Credits of a news agency, as French sites print them. Case matters: "afp" in a word is not AFP.
_WIRE_PATTERNS = [
    rf"\((?:{_AGENCIES})\)",  # "PARIS (AFP) -", "(Reuters)"
    rf"\(\s*avec (?:l['’]\s*)?(?:{_AGENCIES})\s*\)",  # "(avec AFP)"
    rf"\bavec (?:l['’]\s*)?(?:{_AGENCIES})\b",  # "Le Figaro avec AFP"
    rf"\bselon l['’]\s*(?:{_AGENCIES}|agence (?:{_AGENCIES}))\b",  # "selon l'AFP"
    r"\bAgence France[- ]Presse\b",
    rf"©\s*(?:{_AGENCIES})\b",
    rf"\b(?:Source|Sources)\s*:\s*(?:{_AGENCIES})\b",
    r"\bReuters\b",
]
_WIRE = re.compile("|".join(f"(?:{p})" for p in _WIRE_PATTERNS))
# What to drop from the text before comparing: a dateline ("PARIS (AFP) - ", "Lyon, 7 déc.
# (Reuters) – "), and credits in brackets or at the end.
_DATELINE = re.compile(
    rf"^\s*[A-ZÀ-Ý][\w'’ .,-]{{0,60}}?\s*\((?:{_AGENCIES})\)\s*[-–—:]\s*", re.UNICODE
)
_CREDITS = re.compile(
    rf"\(\s*(?:avec |source\s*:\s*)?(?:l['’]\s*)?(?:{_AGENCIES})\s*\)|©\s*(?:{_AGENCIES})\b"
    rf"|\bavec (?:l['’]\s*)?(?:{_AGENCIES})\s*$",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+", re.UNICODE)
# What tells two events told in the same words apart: numbers, and names (capitalized words
# that do not start a sentence).
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NAME = re.compile(r"(?<![.!?…»:]\s)(?<!^)\b[A-ZÀ-Ý][\w'’-]+", re.UNICODE)
_SENTENCE = re.compile(r"(?<=[.!?…»])\s+")


def is_wire(title: str, summary: str) -> bool:
    """Whether the text credits a news agency (see _WIRE_PATTERNS)."""
    return bool(_WIRE.search(title) or _WIRE.search(summary))


def strip_credits(text: str) -> str:
    return _CREDITS.sub(" ", _DATELINE.sub("", text))


def words(text: str) -> list[str]:
    """Folded words of a text, apostrophes splitting them ("l'AFP" → "l", "afp")."""
    return _WORD.findall(fold(text).replace("’", "'"))


def digest(tokens: list[str]) -> str:
    return hashlib.sha256(" ".join(tokens).encode("utf-8")).hexdigest()


@dataclass
class Features:
    """What the ingest compares for one item."""

    words: int  # of the compared text
    text_hash: str  # "" when under the minimum length
    title_hash: str  # "" when the title is too short
    wire: bool
    shingles: frozenset[str]
    long_sentences: frozenset[str]
    facts: frozenset[str]  # numbers and names (see _NUMBER, _NAME)
    title_words: int = 0
    bands: list[int] = field(default_factory=list)  # one hash per band


def features(title: str, summary: str, *, min_words: int, bands: bool = True) -> Features:
    """Everything the layers need, from an item's title and summary (without the LSH bands
    when `bands` is false: a candidate already stored needs only its shingles)."""
    title_clean = strip_credits(title)
    summary_clean = strip_credits(summary)
    title_words = words(title_clean)
    # The summary's words are its sentences' words end to end: the white space the sentences
    # are split on folds to no word character, and fold maps each character on its own.
    by_sentence = [words(sentence) for sentence in _SENTENCE.split(summary_clean)]
    tokens = title_words + [word for sentence in by_sentence for word in sentence]
    shingles = frozenset(
        " ".join(tokens[i : i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))
    ) - {""}
    long_sentences = frozenset(digest(w) for w in by_sentence if len(w) >= LONG_SENTENCE_WORDS)
    return Features(
        words=len(tokens),
        text_hash=digest(tokens) if len(tokens) >= min_words else "",
        title_hash=digest(title_words) if len(title_words) >= TITLE_MIN_WORDS else "",
        wire=is_wire(title, summary),
        shingles=shingles,
        long_sentences=long_sentences,
        facts=facts(summary_clean),
        title_words=len(title_words),
        bands=band_hashes(shingles) if shingles and bands else [],
    )


@functools.cache
def _template() -> MinHash:
    # datasketch draws its permutations from the seed at each MinHash: drawn once here.
    return MinHash(num_perm=NUM_PERM, seed=_SEED)


def band_hashes(shingles: frozenset[str]) -> list[int]:
    """The LSH band hashes of a set of shingles: one signed 64-bit integer per band (the band's
    number is hashed in, so that equal values in two bands never collide)."""
    template = _template()
    minhash = MinHash(
        num_perm=NUM_PERM, seed=_SEED, permutations=template.permutations, scheme=template.scheme
    )
    minhash.update_batch([s.encode("utf-8") for s in shingles])
    values = np.asarray(minhash.hashvalues, dtype=np.uint64).tobytes()
    size = ROWS * 8  # the bytes of a band's rows
    return [
        int.from_bytes(
            hashlib.blake2b(
                prefix + values[band * size : (band + 1) * size], digest_size=8
            ).digest(),
            "big",
            signed=True,
        )
        for band, prefix in enumerate(_BAND_PREFIXES)
    ]


_BAND_PREFIXES = [band.to_bytes(2, "big") for band in range(BANDS)]


def facts(text: str) -> frozenset[str]:
    """The numbers and names of a text, folded (see _NUMBER and _NAME)."""
    found = {n.replace(",", ".") for n in _NUMBER.findall(text)}
    found.update(fold(name) for name in _NAME.findall(text))
    return frozenset(found)


def facts_disagree(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two texts that share their words name different places, people or figures: the
    mark of two events written from one template (two councils voting their budgets). Each
    needs two facts at least to say so; a reprint keeps the dispatch's, even cut short."""
    if len(a) < 2 or len(b) < 2:
        return False
    return len(a & b) / min(len(a), len(b)) < 0.5


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Overlap of two shingle sets (see module): 1.0 when one text contains the other."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
