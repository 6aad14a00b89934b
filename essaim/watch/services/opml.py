"""OPML, the list of feeds every feed reader imports and exports: read with defusedxml (no
entity, no external reference), written with ElementTree.

A file is read whole or refused whole (OpmlError, in words for a person): a malformed document,
an outline whose address the watch cannot follow, too many outlines. Labels travel in OPML 2.0's
`category` attribute as `/camp/…`, `/party/…`, `/media/…`, `/zone/…`.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from essaim.watch.services.feeds import text_only
from essaim.watch.services.urls import InvalidURL, clean_url

LABELS = ("camp", "party", "media", "zone")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class OpmlError(ValueError):
    """An OPML file refused whole; the message says why, for a person."""


@dataclass(frozen=True)
class OpmlEntry:
    url: str
    kind: str  # "feed" (xmlUrl) or "page" (type="link")
    title: str = ""
    site_url: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def parse_opml(data: bytes, *, max_entries: int) -> list[OpmlEntry]:
    """Every followable outline of the file, folders flattened, in the file's order."""
    try:
        root = SafeET.fromstring(data)
    except DefusedXmlException as exc:
        raise OpmlError(_("Le fichier déclare des entités XML : refusé.")) from exc
    except ET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise OpmlError(
            _("Ce fichier n'est pas un OPML lisible (erreur ligne %(line)s, colonne %(col)s).")
            % {"line": line, "col": column}
        ) from exc
    if _local(root.tag) != "opml" or root.find("body") is None:
        raise OpmlError(_("Ce fichier n'est pas un OPML : il n'a pas d'élément <opml> ni <body>."))
    entries: list[OpmlEntry] = []
    refused: list[str] = []
    outlines = root.find("body").iter("outline")  # type: ignore[union-attr]
    for count, outline in enumerate(outlines, start=1):
        if count > max_entries:
            raise OpmlError(
                ngettext(
                    "Le fichier a plus de %(max)s source : importez-le en plusieurs fois.",
                    "Le fichier a plus de %(max)s sources : importez-le en plusieurs fois.",
                    max_entries,
                )
                % {"max": max_entries}
            )
        attrs = {name.lower(): value for name, value in outline.attrib.items()}
        raw = attrs.get("xmlurl") or ""
        kind = "feed"
        if not raw and attrs.get("type", "").lower() == "link":
            raw, kind = attrs.get("url") or "", "page"
        if not raw:
            continue  # a folder
        title = text_only(attrs.get("title") or attrs.get("text"), 300)
        try:
            url = clean_url(raw)
        except InvalidURL:
            refused.append(title or raw[:80])
            continue
        try:
            site = clean_url(attrs.get("htmlurl") or "")
        except InvalidURL:
            site = ""
        entries.append(
            OpmlEntry(
                url=url,
                kind=kind,
                title=title,
                site_url=site,
                labels=_labels(attrs.get("category", "")),
            )
        )
    if refused:
        raise OpmlError(
            ngettext(
                "%(count)s source a une adresse que la veille ne peut pas suivre : %(names)s. "
                "Rien n'a été importé.",
                "%(count)s sources ont une adresse que la veille ne peut pas suivre : %(names)s. "
                "Rien n'a été importé.",
                len(refused),
            )
            % {"count": len(refused), "names": ", ".join(refused[:5])}
        )
    return entries


def build_opml(sources: Iterable[Any], *, title: str, now: dt.datetime) -> bytes:
    """An OPML 2.0 document of `sources` (objects with url, kind, title, site_url and the four
    labels camp, party, media_type, zone)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(now)
    body = ET.SubElement(root, "body")
    for source in sources:
        name = _xml_text(source.title or source.url)
        attrs = {"text": name, "title": name}
        if source.kind == "page":
            attrs |= {"type": "link", "url": source.url}
        else:
            attrs |= {"type": "rss", "xmlUrl": source.url}
        if source.site_url:
            attrs["htmlUrl"] = source.site_url
        values = {
            "camp": source.camp,
            "party": source.party,
            "media": source.media_type,
            "zone": source.zone,
        }
        categories = [
            f"/{label}/{_xml_text(value).replace(',', ' ').replace('/', ' ')}"
            for label, value in values.items()
            if value
        ]
        if categories:
            attrs["category"] = ",".join(categories)
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _labels(category: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in category.split(","):
        pieces = [p.strip() for p in part.strip().split("/") if p.strip()]
        if len(pieces) == 2 and pieces[0] in LABELS:
            labels[pieces[0]] = text_only(pieces[1], 100)
    return labels


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_text(value: str) -> str:
    return _CONTROL.sub("", value or "")
