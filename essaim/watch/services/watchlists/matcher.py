"""Thousands of watchlist terms matched in one pass over each item.

Every term of every active watchlist becomes one pattern of an Aho-Corasick automaton
(pyahocorasick), built once per set of watchlists. A text is cut into folded words
(essaim.lib.french); names are looked for among those words as they are, topics among their
stems. Patterns are the words joined by single spaces with a space on each side, and the text is
searched in the same form, so that a match always starts and ends on word boundaries ("macron"
does not match inside "macronie"). The automaton gives each hit's end offset, from which the
word position follows; each watchlist whose terms were hit (and each watchlist made of filters
only) then evaluates its tree on the positions found: AND, OR, NOT, NEAR/n, site:, source:.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import ahocorasick

from essaim.lib.french import stems, words
from essaim.watch.services.watchlists.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    Site,
    SourceIs,
    Term,
    terms,
)

NAMES = "names"
TOPICS = "topics"


@dataclass(frozen=True)
class ItemText:
    """What a watchlist looks at in an item: its text, and where it comes from."""

    id: int
    text: str
    source_id: int
    host: str  # folded, without "www."
    source_labels: frozenset[str]  # folded: the source's title, camp, party, media type, zone


@dataclass
class Compiled:
    """One watchlist, ready to be evaluated: its tree and its terms' pattern numbers."""

    id: int
    kind: str
    tree: Node
    patterns: dict[Term, int]
    # Terms not under a NOT, reported as the match's terms when they are found.
    shown: list[tuple[Term, int]] = field(default_factory=list)
    needs_terms: bool = True


@dataclass(frozen=True)
class Match:
    watchlist_id: int
    item_id: int
    terms: list[str]


def _needs_terms(node: Node) -> bool:
    """Whether the tree can only be true when one of its (searched) terms was found."""
    if isinstance(node, Term | Near):
        return True
    if isinstance(node, And):
        return any(_needs_terms(child) for child in node.children)
    if isinstance(node, Or):
        return all(_needs_terms(child) for child in node.children)
    return False  # Not, Site, SourceIs


def pattern_words(term: Term, kind: str) -> tuple[str, ...]:
    return tuple(stems(list(term.words))) if kind == TOPICS else term.words


def _near(a: Sequence[int], a_len: int, b: Sequence[int], b_len: int, distance: int) -> bool:
    """Whether an occurrence of a (a_len words long) and one of b have at most `distance`
    words between them, in either order. Overlapping occurrences count as near."""
    for start_a in a:
        for start_b in b:
            gap = start_b - start_a - a_len if start_a <= start_b else start_a - start_b - b_len
            if gap <= distance:
                return True
    return False


class Matcher:
    """The automata of a set of watchlists. Build once, use for many items (not thread-safe
    to build; safe to use from one thread at a time)."""

    def __init__(self, watchlists: Iterable[tuple[int, str, Node]]) -> None:
        self.compiled: list[Compiled] = []
        self.pattern_ids: dict[tuple[str, tuple[str, ...]], int] = {}
        self.pattern_lengths: list[int] = []  # in words
        self.key_lengths: list[int] = []  # in characters, spaces included
        # For each pattern, the compiled watchlists (indexes) that use it.
        self.users: list[list[int]] = []
        self.always: list[int] = []
        automata = {NAMES: ahocorasick.Automaton(), TOPICS: ahocorasick.Automaton()}
        for watchlist_id, kind, tree in watchlists:
            index = len(self.compiled)
            compiled = Compiled(watchlist_id, kind, tree, {}, needs_terms=_needs_terms(tree))
            for term, negated in terms(tree):
                key = (kind, pattern_words(term, kind))
                number = self.pattern_ids.get(key)
                if number is None:
                    number = self.pattern_ids[key] = len(self.pattern_lengths)
                    pattern = " " + " ".join(key[1]) + " "
                    self.pattern_lengths.append(len(key[1]))
                    self.key_lengths.append(len(pattern))
                    self.users.append([])
                    automata[kind].add_word(pattern, number)
                if not self.users[number] or self.users[number][-1] != index:
                    self.users[number].append(index)
                compiled.patterns[term] = number
                if not negated and all(shown is not term for shown, _n in compiled.shown):
                    compiled.shown.append((term, number))
            if not compiled.needs_terms:
                self.always.append(index)
            self.compiled.append(compiled)
        self.automata = {}
        for kind, automaton in automata.items():
            if len(automaton):
                automaton.make_automaton()
                self.automata[kind] = automaton

    def __len__(self) -> int:
        return len(self.compiled)

    def hits(self, text: str) -> dict[int, list[int]]:
        """For each pattern found in the text, the word positions where it starts."""
        folded = words(text)
        if not folded:
            return {}
        found: dict[int, list[int]] = {}
        for kind, automaton in self.automata.items():
            seq = stems(folded) if kind == TOPICS else folded
            line = " " + " ".join(seq) + " "
            starts: dict[int, int] | None = None
            for end, number in automaton.iter(line):
                if starts is None:
                    starts = {}
                    offset = 1  # in the line, after its leading space
                    for position, word in enumerate(seq):
                        starts[offset] = position
                        offset += len(word) + 1
                # The pattern is " w1 … wn " and ends on its last space: its first word
                # starts right after its first space.
                first_word = end - self.key_lengths[number] + 2
                found.setdefault(number, []).append(starts[first_word])
        return found

    def match(self, items: Iterable[ItemText]) -> list[Match]:
        """The watchlists each item matches, with the terms found."""
        matches: list[Match] = []
        for item in items:
            found = self.hits(item.text)
            candidates: set[int] = set(self.always)
            for number in found:
                candidates.update(self.users[number])
            for index in sorted(candidates):
                compiled = self.compiled[index]
                if self.evaluate(compiled.tree, compiled, found, item):
                    matches.append(
                        Match(
                            compiled.id,
                            item.id,
                            [term.text for term, number in compiled.shown if number in found],
                        )
                    )
        return matches

    def evaluate(
        self, node: Node, compiled: Compiled, found: dict[int, list[int]], item: ItemText
    ) -> bool:
        if isinstance(node, Term):
            return compiled.patterns[node] in found
        if isinstance(node, And):
            return all(self.evaluate(child, compiled, found, item) for child in node.children)
        if isinstance(node, Or):
            return any(self.evaluate(child, compiled, found, item) for child in node.children)
        if isinstance(node, Not):
            return not self.evaluate(node.child, compiled, found, item)
        if isinstance(node, Near):
            left = compiled.patterns[node.left]
            right = compiled.patterns[node.right]
            if left not in found or right not in found:
                return False
            return _near(
                found[left],
                self.pattern_lengths[left],
                found[right],
                self.pattern_lengths[right],
                node.distance,
            )
        if isinstance(node, Site):
            return item.host == node.host or item.host.endswith("." + node.host)
        if isinstance(node, SourceIs):
            if node.source_id is not None:
                return item.source_id == node.source_id
            return node.label in item.source_labels
        raise TypeError(node)
