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

from collections.abc import Callable, Iterable, Sequence
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


@dataclass(slots=True)  # not frozen: built for every item ingested, and frozen costs at init
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


Found = dict[int, list[int]]
Test = Callable[[Found, ItemText], bool]


class Matcher:
    """The automata of a set of watchlists. Built once, then only read: one matcher may serve
    several threads."""

    def __init__(self, watchlists: Iterable[tuple[int, str, Node]]) -> None:
        self.compiled: list[Compiled] = []
        self.pattern_ids: dict[tuple[str, tuple[str, ...]], int] = {}
        self.pattern_lengths: list[int] = []  # in words
        self.key_lengths: list[int] = []  # in characters, spaces included
        # Whether a pattern's positions are needed (it is a side of a NEAR); for the others
        # being found is enough, and finding where is skipped.
        self.positional: list[bool] = []
        # For each pattern, the compiled watchlists (indexes) that use it.
        self.users: list[list[int]] = []
        self.always: list[int] = []
        self.tests: list[Test] = []
        self.uses_site = False  # whether items need their host (site:)
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
                    self.positional.append(False)
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
            self.tests.append(self._compile(tree, compiled))
        self.automata = {}
        for kind, automaton in automata.items():
            if len(automaton):
                automaton.make_automaton()
                self.automata[kind] = automaton

    def __len__(self) -> int:
        return len(self.compiled)

    def _compile(self, node: Node, compiled: Compiled) -> Test:
        """The tree as nested closures: evaluated once per candidate item, they cost a call
        per node instead of a chain of isinstance tests."""
        if isinstance(node, Term):
            number = compiled.patterns[node]
            return lambda found, item: number in found
        if isinstance(node, And | Or):
            if all(isinstance(child, Term) for child in node.children):
                # Only terms (the usual list of names): one set operation in C.
                numbers = frozenset(compiled.patterns[child] for child in node.children)  # type: ignore[index]
                if isinstance(node, Or):
                    return lambda found, item: not numbers.isdisjoint(found)
                return lambda found, item: numbers.issubset(found)
            parts = [self._compile(child, compiled) for child in node.children]
            if isinstance(node, Or):

                def any_of(found: Found, item: ItemText) -> bool:
                    for part in parts:  # noqa: SIM110 - a loop, not a generator: twice as fast here
                        if part(found, item):
                            return True
                    return False

                return any_of

            def all_of(found: Found, item: ItemText) -> bool:
                for part in parts:  # noqa: SIM110 - a loop, not a generator: twice as fast here
                    if not part(found, item):
                        return False
                return True

            return all_of
        if isinstance(node, Not):
            inner = self._compile(node.child, compiled)
            return lambda found, item: not inner(found, item)
        if isinstance(node, Near):
            left, right = compiled.patterns[node.left], compiled.patterns[node.right]
            self.positional[left] = self.positional[right] = True
            left_len, right_len = self.pattern_lengths[left], self.pattern_lengths[right]
            distance = node.distance

            def near(found: Found, item: ItemText) -> bool:
                if left not in found or right not in found:
                    return False
                return _near(found[left], left_len, found[right], right_len, distance)

            return near
        if isinstance(node, Site):
            self.uses_site = True
            host, dotted = node.host, "." + node.host
            return lambda found, item: item.host == host or item.host.endswith(dotted)
        if isinstance(node, SourceIs):
            if node.source_id is not None:
                source_id = node.source_id
                return lambda found, item: item.source_id == source_id
            label = node.label
            return lambda found, item: label in item.source_labels
        raise TypeError(node)

    def hits(self, text: str) -> Found:
        """For each pattern found in the text, the word positions where it starts (only for
        the sides of a NEAR: the others get an empty list)."""
        folded = words(text)
        if not folded:
            return {}
        found: Found = {}
        positional, key_lengths = self.positional, self.key_lengths
        for kind, automaton in self.automata.items():
            seq = stems(folded) if kind == TOPICS else folded
            line = " " + " ".join(seq) + " "
            for end, number in automaton.iter(line):
                positions = found.get(number)
                if positions is None:
                    positions = found[number] = []
                if positional[number]:
                    # The pattern " w1 … wn " ends on its last space; the spaces before its
                    # first one number the words before it.
                    positions.append(line.count(" ", 0, end - key_lengths[number] + 1))
        return found

    def match(self, items: Iterable[ItemText]) -> list[Match]:
        """The watchlists each item matches, with the terms found."""
        matches: list[Match] = []
        users, tests, compiled_all = self.users, self.tests, self.compiled
        for item in items:
            found = self.hits(item.text)
            if not found and not self.always:
                continue
            candidates: set[int] = set(self.always)
            for number in found:
                candidates.update(users[number])
            for index in sorted(candidates):
                if tests[index](found, item):
                    compiled = compiled_all[index]
                    matches.append(
                        Match(
                            compiled.id,
                            item.id,
                            [term.text for term, number in compiled.shown if number in found],
                        )
                    )
        return matches
