"""The personalization a campaign's text may use: a whitelist of slots, not a template language.

`{{ first_name }}` or `{{ first_name|default:"ami·e" }}`, `{{ unsubscribe_url }}` for a footer
link, and the link slots another app declares for its own campaigns (essaim.mailing.links).
Anything else between braces is an error when the campaign is compiled; nothing a campaign
author writes is ever executed. The builder (essaim.mailing.message.builder) encodes the
literal text once per campaign and fills the slots per recipient.

The subject goes through the same parser with the contact's fields only (parse_subject): a link
has no place in a header line. It is plain text: values are never escaped for HTML, and
header_text() makes each value one line, so a first name cannot end the Subject header.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from typing import Final

from django.utils.translation import gettext as _

from essaim.mailing import links

FIELDS: Final = frozenset({"first_name"})
LINK_FIELDS: Final = frozenset({"unsubscribe_url"})
SLOT_RE: Final = re.compile(
    r"\{\{\s*(?P<name>[a-z_]+)\s*(?:\|\s*default\s*:\s*\"(?P<default>[^\"{}]*)\"\s*)?\}\}"
)
_BRACES_RE: Final = re.compile(r"\{\{|\}\}|\{%|%\}")
# C0 controls and DEL: CR and LF would end a header and start another one.
_CONTROL_RE: Final = re.compile(r"[\x00-\x1f\x7f]+")


class TemplateError(ValueError):
    """The campaign's text uses a field or a syntax that personalization does not allow."""


@dataclass(frozen=True, slots=True)
class Slot:
    """A per-recipient value in a template."""

    name: str
    default: str
    html: bool  # escape the value for HTML before encoding


def is_link(name: str) -> bool:
    """A slot whose value is a URL made by us (never a contact's words)."""
    return name in LINK_FIELDS or name in links.registered()


def parse_template(text: str, *, html: bool, allow: frozenset[str]) -> list[str | Slot]:
    """Split a template into literal text and whitelisted slots; TemplateError otherwise."""
    pieces: list[str | Slot] = []
    pos = 0
    for match in SLOT_RE.finditer(text):
        literal = text[pos : match.start()]
        if _BRACES_RE.search(literal):
            raise TemplateError(
                _("syntaxe non reconnue près de %(text)r") % {"text": literal[-40:]}
            )
        name = match.group("name")
        if name not in allow:
            raise TemplateError(_("champ inconnu : %(name)s") % {"name": name})
        if is_link(name) and match.group("default") is not None:
            raise TemplateError(_("%(name)s n'a pas de valeur par défaut") % {"name": name})
        pieces.append(literal)
        pieces.append(Slot(name, match.group("default") or "", html))
        pos = match.end()
    tail = text[pos:]
    if _BRACES_RE.search(tail):
        raise TemplateError(_("syntaxe non reconnue près de %(text)r") % {"text": tail[:40]})
    pieces.append(tail)
    return pieces


def parse_subject(text: str) -> list[str | Slot]:
    """A subject's literal text and slots: the contact's fields, with the body's syntax and
    errors; a link slot is refused (a subject is a header line, not a place for a URL)."""
    for match in SLOT_RE.finditer(text):
        name = match.group("name")
        if is_link(name):
            raise TemplateError(_("%(name)s ne peut pas figurer dans l'objet") % {"name": name})
    return parse_template(text, html=False, allow=FIELDS)


def header_text(value: str) -> str:
    """A value as it may sit in a header line: control characters become spaces."""
    if value.isprintable():
        return value
    return _CONTROL_RE.sub(" ", value)


def subject_pieces(subject: str) -> list[str | Slot]:
    """A subject as the builder sends it: its literal text made one header line (header_text)
    and its fields (parse_subject, whose TemplateError it raises); a subject without a field is
    its own text, never parsed."""
    pieces = parse_subject(subject) if "{{" in subject else [subject]
    return [piece if isinstance(piece, Slot) else header_text(piece) for piece in pieces]


def subject_line(pieces: Iterable[str | Slot], value_of: Callable[[str], str]) -> str:
    """The subject a recipient receives, from subject_pieces(): each field's value
    (`value_of(name)`), else the field's default, made one header line. The builder sends this,
    and what shows someone the subject they received (the GDPR report) shows this."""
    return "".join(
        header_text(value_of(piece.name) or piece.default) if isinstance(piece, Slot) else piece
        for piece in pieces
    )


def slot_names(text: str, *, allow: frozenset[str]) -> frozenset[str]:
    """The slots a template uses; TemplateError as parse_template."""
    pieces = parse_template(text, html=False, allow=allow)
    return frozenset(piece.name for piece in pieces if isinstance(piece, Slot))


def text_to_html(text: str, preheader: str = "") -> str:
    """A minimal HTML rendering of the text body (paragraphs and line breaks), slots kept.

    Stand-in until the composer renders Markdown into the responsive template.
    """
    pieces = parse_template(text, html=True, allow=FIELDS | LINK_FIELDS | links.registered())
    marked: list[str] = []
    for piece in pieces:
        if isinstance(piece, Slot):
            default = f'|default:"{piece.default}"' if piece.default else ""
            marked.append(f"{{{{ {piece.name}{default} }}}}")
        else:
            marked.append(escape(piece, quote=False))
    body = "".join(marked)
    paragraphs = [p.replace("\n", "<br>\n") for p in re.split(r"\n\s*\n", body.strip()) if p]
    hidden = (
        f'<div style="display:none;max-height:0;overflow:hidden">{escape(preheader)}</div>\n'
        if preheader
        else ""
    )
    inner = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"></head>\n'
        f'<body style="font-family:sans-serif;line-height:1.5">\n{hidden}{inner}\n</body></html>\n'
    )
