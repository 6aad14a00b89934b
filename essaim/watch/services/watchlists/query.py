"""The watchlists' query language, parsed into a tree by recursive descent.

    query   := or
    or      := and ( OR and )*
    and     := unary ( [AND] unary )*          two terms side by side mean AND
    unary   := NOT unary | near
    near    := primary [ NEAR/n primary ]      both sides words or "phrases"
    primary := word | "phrase" | ( query ) | site:host | source:id-or-label

Operators are upper-case, in English or French (AND/ET, OR/OU, NOT/SAUF, NEAR/n or PRES/n); a
lower-case "et" is a word. Phrases take "…", « … » or “ … ”. NEAR/n means within n words of each
other, in either order (PostgreSQL's `<N>` means exactly N apart, in one order: not that).

Every error says what is wrong in French and where (`QueryError.position`, 0-based offset into
the query), so that the form can point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from essaim.lib.french import words
from essaim.lib.numbers import ascii_int

MAX_LENGTH = 2000
MAX_TERMS = 300
MAX_DEPTH = 20
MAX_NEAR = 100
DEFAULT_NEAR = 10

_QUOTES = {'"': '"', "«": "»", "“": "”"}
_OPERATORS = {"AND": "AND", "ET": "AND", "OR": "OR", "OU": "OR", "NOT": "NOT", "SAUF": "NOT"}
_NEAR_RE = re.compile(r"^(?:NEAR|PRES|PRÈS)(?:/(\d+))?$")
_HOST_RE = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)*$")


class QueryError(ValueError):
    """A query that cannot be parsed: the message for a person, and where it went wrong."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return _("%(message)s (position %(position)d)") % {
            "message": self.message,
            "position": self.position + 1,
        }


# --- The tree ---


@dataclass(frozen=True)
class Term:
    """A word or a phrase: its folded words, in order (a typed "Jean-Luc" is two words)."""

    words: tuple[str, ...]
    text: str = field(compare=False)


@dataclass(frozen=True)
class Near:
    left: Term
    right: Term
    distance: int  # at most this many words between them


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Site:
    host: str  # folded, without "www.": the host and its subdomains


@dataclass(frozen=True)
class SourceIs:
    source_id: int | None  # source:42
    label: str  # source:"Le Monde" — folded; a source's title or one of its labels


Node = Term | Near | And | Or | Not | Site | SourceIs


# --- Tokens ---


@dataclass(frozen=True)
class _Token:
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR SITE SOURCE END
    text: str
    position: int
    number: int = 0


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    close = _QUOTES[query[start]]
    end = query.find(close, start + 1)
    if end < 0:
        raise QueryError(_("Guillemet ouvert mais jamais fermé."), start)
    return query[start + 1 : end], end + 1


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token("LPAREN" if char == "(" else "RPAREN", char, i))
            i += 1
        elif char in _QUOTES:
            text, end = _read_quoted(query, i)
            tokens.append(_Token("PHRASE", text, i))
            i = end
        else:
            start = i
            while i < n and not query[i].isspace() and query[i] not in "()" + "".join(_QUOTES):
                i += 1
            text = query[start:i]
            prefix, colon, value = text.partition(":")
            if colon and prefix.lower() in ("site", "source"):
                if not value and i < n and query[i] in _QUOTES:
                    value, i = _read_quoted(query, i)
                if not value.strip():
                    raise QueryError(
                        _("« %(filter)s: » attend une valeur juste après les deux-points.")
                        % {"filter": prefix.lower()},
                        start,
                    )
                tokens.append(_Token(prefix.lower().upper(), value.strip(), start))
            elif text in _OPERATORS:
                tokens.append(_Token(_OPERATORS[text], text, start))
            elif near := _NEAR_RE.match(text):
                # \d matches "١٢" too (Arabic-Indic digits): only ASCII digits give a distance.
                distance = ascii_int(near.group(1)) if near.group(1) else DEFAULT_NEAR
                if distance is None or not 1 <= distance <= MAX_NEAR:
                    raise QueryError(
                        _("La distance de %(op)s va de 1 à %(max)d mots.")
                        % {"op": text, "max": MAX_NEAR},
                        start,
                    )
                tokens.append(_Token("NEAR", text, start, distance))
            else:
                tokens.append(_Token("WORD", text, start))
    tokens.append(_Token("END", "", n))
    return tokens


# --- The parser ---


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _tokens(query)
        self.index = 0
        self.depth = 0
        self.terms = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def parse(self) -> Node:
        node = self.parse_or()
        if self.current.kind == "RPAREN":
            raise QueryError(
                _("Parenthèse fermante sans parenthèse ouvrante."), self.current.position
            )
        assert self.current.kind == "END"
        return node

    def parse_or(self) -> Node:
        children = [self.parse_and()]
        while self.current.kind == "OR":
            self.advance()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def parse_and(self) -> Node:
        children = [self.parse_unary()]
        while self.current.kind not in ("OR", "RPAREN", "END"):
            if self.current.kind == "AND":
                self.advance()
            children.append(self.parse_unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def parse_unary(self) -> Node:
        if self.current.kind == "NOT":
            self.advance()
            return Not(self.parse_unary())
        return self.parse_near()

    def parse_near(self) -> Node:
        left_token = self.current
        left = self.parse_primary()
        if self.current.kind != "NEAR":
            return left
        near = self.advance()
        right_token = self.current
        right = self.parse_primary()
        for side, token in ((left, left_token), (right, right_token)):
            if not isinstance(side, Term):
                raise QueryError(
                    _("%(op)s relie deux mots ou deux « phrases », pas un groupe ni un filtre.")
                    % {"op": near.text},
                    token.position,
                )
        if self.current.kind == "NEAR":
            raise QueryError(
                _("%(op)s ne s'enchaîne pas : reliez les paires par AND.")
                % {"op": self.current.text},
                self.current.position,
            )
        assert isinstance(left, Term) and isinstance(right, Term)
        return Near(left, right, near.number)

    def parse_primary(self) -> Node:
        token = self.current
        if token.kind in ("WORD", "PHRASE"):
            self.advance()
            return self.term(token)
        if token.kind == "LPAREN":
            self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(_("Trop de parenthèses imbriquées."), token.position)
            if self.current.kind == "RPAREN":
                raise QueryError(_("Parenthèses vides."), token.position)
            node = self.parse_or()
            if self.current.kind != "RPAREN":
                raise QueryError(
                    _("Parenthèse ouverte mais jamais fermée."),
                    token.position,
                )
            self.advance()
            self.depth -= 1
            return node
        if token.kind == "SITE":
            self.advance()
            return Site(_host(token))
        if token.kind == "SOURCE":
            self.advance()
            value = token.text
            if (source_id := ascii_int(value)) is not None:
                return SourceIs(source_id, "")
            return SourceIs(None, " ".join(words(value)))
        if token.kind == "END":
            if self.index == 0:
                raise QueryError(_("La requête est vide."), 0)
            previous = self.tokens[self.index - 1]
            raise QueryError(
                _("La requête s'arrête après « %(op)s » : un mot est attendu ensuite.")
                % {"op": previous.text},
                previous.position,
            )
        if token.kind == "RPAREN":
            raise QueryError(_("Parenthèse fermante sans parenthèse ouvrante."), token.position)
        raise QueryError(
            _("« %(op)s » est un opérateur : il lui faut un mot avant et après.")
            % {"op": token.text},
            token.position,
        )

    def term(self, token: _Token) -> Term:
        found = tuple(words(token.text))
        if not found:
            if token.kind == "PHRASE":
                raise QueryError(_("Phrase sans aucun mot."), token.position)
            raise QueryError(
                _("« %(text)s » ne contient aucun mot.") % {"text": token.text}, token.position
            )
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(
                _("Trop de termes : une requête en compte au plus %(max)d.") % {"max": MAX_TERMS},
                token.position,
            )
        return Term(found, token.text)


def _host(token: _Token) -> str:
    host = token.text.strip().lower()  # not folded: "élysée.fr" is xn--lyse-9oad.fr
    host = re.sub(r"^[a-z]+://", "", host).split("/", 1)[0].split(":", 1)[0].rstrip(".")
    host = host.removeprefix("www.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    if not host or not _HOST_RE.match(host):
        raise QueryError(
            _("« %(value)s » n'est pas un nom de site (exemple : site:lemonde.fr).")
            % {"value": token.text},
            token.position,
        )
    return host


def _searches(node: Node) -> bool:
    """Whether the query looks for something (rather than only excluding)."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(_searches(child) for child in node.children)
    if isinstance(node, Or):
        return all(_searches(child) for child in node.children)
    return True


def parse(query: str) -> Node:
    """The tree of a query, or QueryError."""
    if len(query) > MAX_LENGTH:
        raise QueryError(
            _("Requête trop longue : %(max)d caractères au plus.") % {"max": MAX_LENGTH},
            MAX_LENGTH,
        )
    node = _Parser(query).parse()
    if not _searches(node):
        raise QueryError(
            _(
                "La requête ne fait qu'exclure : ajoutez au moins un mot, une « phrase » ou un "
                "filtre à chercher (un NOT seul, ou dans un OR, ne cherche rien)."
            ),
            0,
        )
    return node


def terms(node: Node, *, negated: bool = False) -> list[tuple[Term, bool]]:
    """Every term of the tree with whether it sits under a NOT, left to right."""
    if isinstance(node, Term):
        return [(node, negated)]
    if isinstance(node, Near):
        return [(node.left, negated), (node.right, negated)]
    if isinstance(node, Not):
        return terms(node.child, negated=not negated)
    if isinstance(node, And | Or):
        return [found for child in node.children for found in terms(child, negated=negated)]
    return []
