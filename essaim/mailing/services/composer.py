"""The composer: a campaign's Markdown body into the HTML and text templates the sender compiles.

Markdown is rendered by markdown-it-py with raw HTML off (an author's `<script>` stays text),
then the HTML is sanitized with nh3 (a short allow-list of tags, http/https/mailto links only):
two locks, because a campaign goes to a million inboxes. The result is wrapped in a responsive
single-column layout with inline styles (mail clients ignore <style> blocks and external CSS).

Personalization slots (`{{ first_name|default:"ami·e" }}`, `{{ unsubscribe_url }}`, see
essaim.mailing.message) go through Markdown as inert placeholders and come back unchanged after
sanitizing, so Markdown never sees braces and nh3 never sees template syntax. A contact's value
is escaped for HTML at send time; it may not sit inside a tag (a first name as a link target
would let a contact choose where others' links go), only `unsubscribe_url` may. The subject may
hold the contact's fields too (essaim.mailing.message.template.parse_subject); they reach the
HTML document's <title> as slots, escaped there like the body's.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Final

import nh3
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

from essaim.mailing.message import (
    FIELDS,
    LINK_FIELDS,
    SLOT_RE,
    TemplateError,
    parse_subject,
    parse_template,
)

ALLOWED_TAGS: Final = frozenset(
    {
        "a", "p", "br", "hr", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote",
        "h1", "h2", "h3", "h4", "code", "pre", "img",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: Final = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})
_PLACEHOLDER: Final = "ESSAIMSLOT{}X"
_PLACEHOLDER_RE: Final = re.compile(r"ESSAIMSLOT(\d+)X")
_TAG_RE: Final = re.compile(r"<[^>]*>")
_MD_LINK_RE: Final = re.compile(r"(!?)\[([^\]]*)\]\(\s*([^)\s]+)(?:\s+\"[^\"]*\")?\s*\)")

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


@dataclass(frozen=True)
class Rendered:
    html: str  # the whole responsive document, with slots
    text: str  # the plain-text part, with slots


def _protect(source: str, links: frozenset[str] = frozenset()) -> tuple[str, list[str]]:
    """Slots → placeholders; TemplateError for anything between braces that is not a slot.
    `links`: the extra link slots this campaign may use (essaim.mailing.links)."""
    parse_template(source, html=False, allow=FIELDS | LINK_FIELDS | links)
    slots: list[str] = []

    def keep(match: re.Match[str]) -> str:
        slots.append(_canonical(match))
        return _PLACEHOLDER.format(len(slots) - 1)

    return SLOT_RE.sub(keep, source), slots


def _canonical(match: re.Match[str]) -> str:
    """A slot as the sender's parser reads it, whatever spacing the author used."""
    default = match.group("default")
    canonical = f"{{{{ {match.group('name')}"
    return canonical + (f'|default:"{default}" }}}}' if default is not None else " }}")


def _restore(text: str, slots: list[str]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: slots[int(m.group(1))], text)


def sanitize_html(html: str) -> str:
    """The allow-list: no script, no event handler, no style, links http/https/mailto only."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def render_markdown(source: str) -> str:
    """Sanitized HTML of Markdown that has no slots (e.g. a web page's text): the same two locks
    as campaign bodies, raw HTML off then nh3's allow-list."""
    return sanitize_html(_markdown.render(source))


def markdown_to_html(source: str, links: frozenset[str] = frozenset()) -> str:
    """The sanitized HTML fragment of a Markdown body, slots kept. Raises TemplateError."""
    protected, slots = _protect(source, links)
    html = sanitize_html(_markdown.render(protected))
    # Only our own links may sit inside a tag (as an href); a contact's value never.
    may_be_urls = tuple(f"{{{{ {name}" for name in LINK_FIELDS | links)
    for tag in _TAG_RE.findall(html):
        for match in _PLACEHOLDER_RE.finditer(tag):
            index = int(match.group(1))
            if index >= len(slots) or not slots[index].startswith(may_be_urls):
                raise TemplateError(
                    _("Un champ personnalisé ne peut pas servir d'adresse de lien ou d'image.")
                )
    return _restore(html, slots)


def markdown_to_text(source: str, links: frozenset[str] = frozenset()) -> str:
    """The plain-text part: the Markdown itself (made to be read as text), links spelled out."""
    protected, slots = _protect(source, links)

    def spell(match: re.Match[str]) -> str:
        bang, label, url = match.groups()
        if bang:
            return label
        return f"{label} ({url})" if label and label != url else url

    return _restore(_MD_LINK_RE.sub(spell, protected.replace("\r\n", "\n")), slots)


def render_campaign(
    *, subject: str, preheader: str, body_markdown: str, links: frozenset[str] = frozenset()
) -> Rendered:
    """Both templates of a campaign, with the unsubscribe footer. Raises TemplateError.
    `links`: the extra link slots the campaign may use (essaim.mailing.links).

    The footer is in the recipients' language (the site's default), not the author's."""
    with translation.override(settings.LANGUAGE_CODE):
        return _render_campaign(
            subject=subject, preheader=preheader, body_markdown=body_markdown, links=links
        )


def _render_campaign(
    *, subject: str, preheader: str, body_markdown: str, links: frozenset[str]
) -> Rendered:
    fragment = markdown_to_html(body_markdown, links)
    parse_subject(subject)
    # The subject's slots go into <title> as slots: the template escapes the text around them
    # (a default's quotes would be escaped too), so they wait behind markers no author can
    # guess, put back once the document is rendered.
    marker = f"ESSAIMTITLE{secrets.token_hex(8)}N"
    title_slots: list[str] = []

    def hold(match: re.Match[str]) -> str:
        title_slots.append(_canonical(match))
        return f"{marker}{len(title_slots) - 1}X"

    title = SLOT_RE.sub(hold, subject)
    body = mark_safe(fragment)  # sanitized by nh3 in markdown_to_html
    html: str = render_to_string(
        "mailing/email/campaign.html", {"subject": title, "preheader": preheader, "body": body}
    )
    for index, slot in enumerate(title_slots):
        html = html.replace(f"{marker}{index}X", slot)
    text = markdown_to_text(body_markdown, links).rstrip() + "\n\n-- \n"
    text += _("Pour ne plus recevoir nos messages : %(url)s") % {"url": "{{ unsubscribe_url }}"}
    text += "\n"
    # Whatever the wrapper added must still parse (a preheader with braces is refused here).
    parse_template(html, html=True, allow=FIELDS | LINK_FIELDS | links)
    parse_template(text, html=False, allow=FIELDS | LINK_FIELDS | links)
    return Rendered(html=html, text=text)
