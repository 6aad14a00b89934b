"""A personalized subject shown to people rather than sent: to the campaign's authors with each
field named ("Bonjour [prénom, sinon « ami·e »]"), to a recipient as they received it. The raw
slot syntax (`{{ first_name|default:"ami·e" }}`) is for the composer's field only."""

from __future__ import annotations

from typing import Final

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from essaim.mailing.message.template import Slot, TemplateError, subject_line, subject_pieces

FIELD_LABELS: Final = {"first_name": gettext_lazy("prénom")}


def readable_subject(subject: str) -> str:
    """The subject with each field named in brackets, and its default beside it, its literal
    text as it is sent; a subject the parser refuses (written before a rule changed) is shown as
    it is."""
    try:
        pieces = subject_pieces(subject)
    except TemplateError:
        return subject
    out: list[str] = []
    for piece in pieces:
        if isinstance(piece, Slot):
            label = str(FIELD_LABELS.get(piece.name, piece.name))
            if piece.default:
                label = _("%(field)s, sinon « %(default)s »") % {
                    "field": label,
                    "default": piece.default,
                }
            out.append(f"[{label}]")
        else:
            out.append(piece)
    return "".join(out)


def subject_for(subject: str, *, first_name: str) -> str:
    """The subject as the recipient with this first name received it: the builder's own rule
    (subject_line), their value, else the field's default, on one line."""
    try:
        pieces = subject_pieces(subject)
    except TemplateError:
        return subject
    values = {"first_name": first_name}
    return subject_line(pieces, lambda name: values.get(name, ""))
