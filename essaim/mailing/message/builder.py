"""A campaign compiled once into byte chunks, then assembled per recipient.

A campaign is rendered once into a list of byte chunks (headers and MIME parts already encoded)
with a few per-recipient slots between them: To, Message-ID, Date, the unsubscribe links and
the personalization fields (essaim.mailing.message.template). Sending to one person is then a
`b"".join` and a handful of small encodings: no MIME object, no template engine, no
per-recipient quoted-printable pass over the whole body.

Bodies are quoted-printable: every line stays under 78 octets whatever the author wrote. A slot
sits alone between two soft line breaks (`=\\r\\n`), which decoders remove, so the static chunks
can be encoded once and the value of a slot encoded on its own. `wire()` gives the form SMTP's
DATA carries (dot-stuffed, with the end-of-data line) from chunks stuffed once per campaign.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr
from functools import partial
from html import escape
from typing import Final
from urllib.parse import quote, urlsplit, urlunsplit

import idna
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import iri_to_uri

from essaim.mailing import links
from essaim.mailing.message.dkim import (
    DkimSigner,
    body_hash,
    configured_signer,
    relaxed_body,
    relaxed_header,
    relaxed_lines,
)
from essaim.mailing.message.signing import UnsubscribeSigner, VerpSigner
from essaim.mailing.message.template import (
    FIELDS,
    LINK_FIELDS,
    Slot,
    parse_template,
    subject_line,
    subject_pieces,
    text_to_html,
)
from essaim.mailing.models import Campaign

UNSUBSCRIBE_URLCONF: Final = "essaim.people.urls.public"
CRLF: Final = b"\r\n"
_SOFT_BREAK: Final = b"=\r\n"
_CACHE_LIMIT: Final = 50_000
# URL characters that quoted-printable and HTML leave as they are (no "=", "&", quotes, "<",
# ">" or spaces): an unsubscribe URL made only of them is encoded by cutting it into lines.
_PLAIN_URL_RE: Final = re.compile(r"[A-Za-z0-9._~:/?#\[\]@!$()*+,;%-]*")
_QP_WIDTH: Final = 75  # + the "=" of a soft break: RFC 2045's 76
# An ASCII header value this long or longer is folded (RFC 5322's hard limit: 998 a line).
_ASCII_HEADER_MAX: Final = 900


class UnmailableAddress(ValueError):
    """An address that cannot go out over plain SMTP; the message says why (for smtp_reply)."""


def _ascii_domain(domain: str) -> str:
    """A domain as DNS and SMTP carry it: IDNA (punycode) when it is not ASCII."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain.rstrip(".").lower(), uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise UnmailableAddress(f"invalid international domain: {exc}"[:200]) from exc


def ascii_address(address: str) -> str:
    """The address as it goes in RCPT TO and in To: the domain in punycode.

    Contacts are stored with their domain already IDNA-encoded (essaim.lib.text.normalize_email);
    this covers rows written by other paths. A local part that is not ASCII would need SMTPUTF8
    (RFC 6531) end to end, which the sender does not speak: such an address raises
    UnmailableAddress, and the sender settles that one row as rejected.
    """
    if address.isascii():
        return address
    local, at, domain = address.rpartition("@")
    if not at or not local:
        raise UnmailableAddress("invalid address")
    if not local.isascii():
        raise UnmailableAddress(
            "non-ASCII local part: needs SMTPUTF8, which the sender does not use"
        )
    return f"{local}@{_ascii_domain(domain)}"


def _ascii_url(url: str) -> str:
    """An https URL of the settings as a header may carry it: host in punycode, the rest
    percent-encoded (RFC 3987's mapping of an IRI to a URI)."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = _ascii_domain(host) + (f":{parts.port}" if parts.port else "")
    return iri_to_uri(urlunsplit(parts._replace(netloc=netloc)))


def _ascii_mailto(address: str) -> str:
    """The address of a mailto: URI (RFC 6068): punycode domain, UTF-8 local part
    percent-encoded."""
    if address.isascii():
        return address
    local, _at, domain = address.rpartition("@")
    return f"{quote(local, safe='')}@{_ascii_domain(domain)}"


@dataclass(slots=True)  # not frozen: one per message, and frozen init costs ~4x
class Recipient:
    """What the sender knows of one ledger row (copied into the ledger at freeze time)."""

    delivery_id: int
    contact_id: int | None
    email: str
    email_hash: str
    first_name: str = ""


Part = bytes | Slot


def _qp(data: bytes) -> bytes:
    # b2a_qp writes soft breaks with the line ending of the data's first line, and with "\n"
    # when there is none: encode with "\n" everywhere, then turn every one into CRLF.
    return binascii.b2a_qp(data, istext=True).replace(b"\n", b"\r\n")


def _soft_wrap(value: bytes) -> bytes:
    """Quoted-printable of a value that needs no escaping: lines of 75 octets, each ended by a
    soft break (the slot's own closing soft break included)."""
    if len(value) <= _QP_WIDTH:
        return value + _SOFT_BREAK
    pieces = [value[i : i + _QP_WIDTH] for i in range(0, len(value), _QP_WIDTH)]
    return _SOFT_BREAK.join(pieces) + _SOFT_BREAK


def _stuff(chunk: bytes, line_start: bool) -> bytes:
    """Dot-stuffing (RFC 5321 4.5.2) of a piece of the message; `line_start`: the piece begins
    a line."""
    if b"\r\n." in chunk:
        chunk = chunk.replace(b"\r\n.", b"\r\n..")
    if line_start and chunk[:1] == b".":
        chunk = b"." + chunk
    return chunk


def frame_data(message: bytes) -> bytes:
    """A whole CRLF message as SMTP's DATA carries it: dot-stuffed, then the end-of-data
    line."""
    stuffed = _stuff(message, True)
    if not stuffed.endswith(CRLF):
        stuffed += CRLF
    return stuffed + b".\r\n"


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _encode_body(pieces: list[str | Slot]) -> list[Part]:
    """Quoted-printable chunks with each slot alone between soft line breaks."""
    out: list[Part] = []
    for piece in pieces:
        if isinstance(piece, Slot):
            out.append(piece)
            continue
        encoded = _qp(_lf(piece).encode("utf-8"))
        if not encoded:
            continue
        # A chunk ending mid-line is closed by a soft break so that the next slot (or chunk)
        # starts a fresh line: no line ever grows past 76 octets, whatever the values.
        if not encoded.endswith(CRLF):
            encoded += _SOFT_BREAK
        out.append(encoded)
    return out


def _to_header(address: str) -> bytes:
    """To of an address that is not ASCII: punycode domain; a UTF-8 local part (only a preview
    can have one: the sender refuses them) as RFC 6532 UTF-8."""
    try:
        return ascii_address(address).encode("ascii")
    except UnmailableAddress:
        return address.encode("utf-8")


def _merge[P](parts: list[P]) -> list[P]:
    """Adjacent static chunks merged: fewer pieces to join per recipient."""
    merged: list[P] = []
    for part in parts:
        if isinstance(part, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] = merged[-1] + part  # type: ignore[assignment]
        else:
            merged.append(part)
    return merged


def _encode_header_value(value: str) -> str:
    """RFC 2047 encoded-words when the value is not ASCII (folded by email.header), or when it
    is too long for one line (a subject with long first names in it)."""
    if value.isascii() and len(value) < _ASCII_HEADER_MAX:
        return value
    return Header(value, "utf-8").encode(maxlinelen=76, linesep="\r\n")


def _subject_bytes(pieces: list[str | Slot], recipient: Recipient) -> bytes:
    """A personalized subject, encoded: the recipient's values (or the defaults) as one line
    each, then RFC 2047. Folding puts a space first on every continuation line, so the value
    never holds a line that starts with a dot (nothing to stuff for SMTP)."""
    return _encode_header_value(subject_line(pieces, partial(getattr, recipient))).encode("ascii")


# --- The compiled message -------------------------------------------------------------------


def _saved_pk(campaign: Campaign) -> int:
    """The campaign's id, which goes in every Message-ID and in Feedback-ID.

    django-stubs types `pk` as int, but it is None until the campaign is saved: it is read here
    as an object, since the mypyc build of this module checks an int-typed read and would raise
    a bare TypeError ("int object expected; got None") instead of this error.
    """
    pk: object = getattr(campaign, "pk", None)
    if not isinstance(pk, int):
        raise ValueError("a campaign is compiled into messages once it is saved")
    return pk


class CompiledMessage:
    """One campaign, ready to be assembled for any recipient. Build once per campaign."""

    def __init__(
        self,
        campaign: Campaign,
        *,
        site_url: str | None = None,
        verp_domain: str | None = None,
        unsubscribe_mailto: str | None = None,
        feedback_id: str | None = None,
        secret: str | None = None,
        dkim: DkimSigner | None = None,
        sign: bool = True,
    ) -> None:
        """`dkim`: the signer to use; by default the configured one (DKIM_PRIVATE_KEY_PATH),
        if any, unless `sign` is False."""
        self.campaign_id = _saved_pk(campaign)
        # The settings may name an IDN host: List-Unsubscribe is an ASCII header.
        self._site_url = _ascii_url((site_url or settings.SITE_URL).rstrip("/"))
        self._unsub_signer = UnsubscribeSigner(secret)
        self.verp = VerpSigner(verp_domain or settings.MAILING_VERP_DOMAIN, secret)
        mailto = _ascii_mailto(unsubscribe_mailto or settings.MAILING_UNSUBSCRIBE_MAILTO)
        # The unsubscribe path with a placeholder token, resolved once, in the public pages'
        # URLconf alone (mounted at the root): the whole one imports every app's views and the
        # API's schemas, a second of CPU at each start of a sender. A test checks both agree.
        marker = "TOKEN-MARKER"
        path = reverse("unsubscribe", urlconf=UNSUBSCRIBE_URLCONF, kwargs={"token": marker})
        self._unsub_prefix, self._unsub_suffix = f"{self._site_url}{path}".split(marker)
        self._mailto = mailto
        # The same as bytes: each message's URL is assembled from bytes (see _unsub).
        self._unsub_prefix_b = self._unsub_prefix.encode("ascii")
        self._unsub_suffix_b = self._unsub_suffix.encode("ascii")
        self._mailto_b = f"{mailto}?subject=unsubscribe-".encode("ascii")
        domain = campaign.from_email.rpartition("@")[2] or "essaim.localhost"
        nonce = secrets.token_hex(4)
        self._msgid_prefix = f"<{campaign.pk}.".encode()
        self._msgid_suffix = f".{nonce}@{domain}>".encode()
        self._date_cache: tuple[int, bytes] = (0, b"")
        self._slot_cache: dict[tuple[str, bool, str], bytes] = {}

        # Links other apps add to their own campaigns (a call's landing page): none for most.
        self._links = links.builders(campaign, self._site_url)
        text_source = campaign.text_template or campaign.body_markdown
        html_source = campaign.html_template or text_to_html(text_source, campaign.preheader)
        allow = FIELDS | LINK_FIELDS | frozenset(self._links)
        text_parts = _encode_body(parse_template(text_source, html=False, allow=allow))
        html_parts = _encode_body(parse_template(html_source, html=True, allow=allow))

        # The subject: encoded once, unless it has fields (then per recipient, see _subject).
        subject: bytes | str
        subject_fn: Callable[[Recipient, bytes], bytes] | None = None
        pieces = subject_pieces(campaign.subject)
        if any(isinstance(piece, Slot) for piece in pieces):
            subject_fn = self._subject(pieces)
            subject = "subject"
        else:
            subject = _encode_header_value(subject_line(pieces, lambda _name: "")).encode("ascii")

        boundary = f"=_essaim_{secrets.token_hex(12)}"  # "=_" never occurs in QP output
        from_header = formataddr((campaign.from_name, campaign.from_email), charset="utf-8")
        fid = feedback_id or settings.MAILING_FEEDBACK_ID
        # The header fields in wire order: static values, or the name of a per-recipient value.
        fields: list[tuple[str, bytes | str]] = [
            ("Date", "date"),
            ("From", from_header.encode()),
            ("To", "to"),
            ("Message-ID", "message_id"),
            ("List-Unsubscribe", "list_unsubscribe"),
            ("Subject", subject),
            *([("Reply-To", campaign.reply_to.encode())] if campaign.reply_to else []),
            ("MIME-Version", b"1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'.encode()),
            ("Feedback-ID", f"{campaign.pk}:{campaign.purpose}:essaim:{fid}".encode()),
            ("List-Unsubscribe-Post", b"List-Unsubscribe=One-Click"),
        ]
        part_head = (
            "--{b}\r\nContent-Type: text/{kind}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        # Every chunk of the body is made of whole CRLF lines (see _encode_body): DKIM's relaxed
        # body canonicalization can then be applied to each chunk on its own.
        body: list[Part] = _merge(
            [
                part_head.format(b=boundary, kind="plain").encode(),
                *text_parts,
                CRLF,
                part_head.format(b=boundary, kind="html").encode(),
                *html_parts,
                f"\r\n--{boundary}--\r\n".encode(),
            ]
        )
        head: list[bytes | str] = []
        for name, value in fields:
            head += [f"{name}: ".encode(), value, CRLF]
        head.append(CRLF)
        # Chunk list: static bytes, names of per-recipient header values and body slots.
        self._parts: list[Part | str] = _merge([*head, *body])
        self._plain_url = bool(
            _PLAIN_URL_RE.fullmatch(self._unsub_prefix)
            and _PLAIN_URL_RE.fullmatch(self._unsub_suffix)
        )
        self._last_url: tuple[bytes, bytes] = (b"", b"")
        # The wire form (see wire()): static chunks dot-stuffed once, the end-of-data line
        # appended; (index, slot) for the per-recipient pieces.
        self._wire_parts: list[bytes] = []
        self._wire_slots: list[tuple[int, str | Slot]] = []
        line_start = True
        for part in self._parts:
            if isinstance(part, bytes):
                self._wire_parts.append(_stuff(part, line_start))
                line_start = part.endswith(b"\n")
            else:
                self._wire_slots.append((len(self._wire_parts), part))
                self._wire_parts.append(b"")
                # Body slot values end with a line break; header values never do.
                line_start = isinstance(part, Slot)
        assert isinstance(self._parts[-1], bytes) and self._parts[-1].endswith(CRLF)
        self._wire_parts[-1] += b".\r\n"
        # The per-recipient values; `u` is the recipient's unsubscribe URL (see _unsub).
        self._builders: dict[str, Callable[[Recipient, bytes], bytes]] = {
            "date": lambda r, u: self._date(),
            # The sender passes ascii_address() values; previews may hold anything.
            "to": lambda r, u: (
                r.email.encode("ascii") if r.email.isascii() else _to_header(r.email)
            ),
            "message_id": lambda r, u: (
                self._msgid_prefix + str(r.delivery_id).encode() + self._msgid_suffix
            ),
            "list_unsubscribe": lambda r, u: (
                b"<%s>,\r\n <mailto:%s%d-%s>"
                % (u, self._mailto_b, r.delivery_id, self.verp.tag(r.delivery_id).encode())
            ),
        }
        if subject_fn is not None:
            self._builders["subject"] = subject_fn
        # wire(): for each per-recipient piece, its index and the function that makes it. Body
        # slots begin a line (see above) and are dot-stuffed when their value needs it.
        self._wire_fns: list[tuple[int, Callable[[Recipient, bytes], bytes]]] = [
            (index, self._builders[part] if isinstance(part, str) else self._stuffed_slot(part))
            for index, part in self._wire_slots
        ]

        self._dkim = dkim if dkim is not None else (configured_signer() if sign else None)
        if self._dkim is not None:
            self._head_parts = _merge(head)
            self._body_parts = body
            names = self._dkim.header_names(name for name, _ in fields)
            values = dict(fields)
            self._dkim_names = names
            # Canonical signed headers: bytes once per campaign, or the per-recipient value's
            # name with the header name, canonicalized per message.
            self._dkim_heads: list[bytes | tuple[str, str]] = [
                relaxed_header(n, b" " + v) if isinstance(v := values[n], bytes) else (n, v)
                for n in names
            ]
            if all(isinstance(p, bytes) for p in body):
                self._bh: str | None = body_hash(relaxed_body(b"".join(body)))  # type: ignore[arg-type]
            else:
                self._bh = None
                # The body ends with the closing boundary line: relaxed canonicalization has no
                # trailing empty line to drop, chunk-wise canonicalization is the whole story.
                canonical = [relaxed_lines(p) if isinstance(p, bytes) else p for p in body]
                first = canonical[0]
                assert isinstance(first, bytes)
                self._bh_start = hashlib.sha256(first)
                self._bh_rest = canonical[1:]

    def unsubscribe_url(self, recipient: Recipient) -> str:
        return self._unsub(recipient).decode("ascii")

    def _unsub(self, recipient: Recipient) -> bytes:
        """The unsubscribe URL as ASCII bytes (what the message carries)."""
        token = self._unsub_signer.token_bytes(recipient.contact_id or 0, recipient.email_hash)
        return self._unsub_prefix_b + token + self._unsub_suffix_b

    def envelope_sender(self, recipient: Recipient) -> str:
        return self.verp.address(recipient.delivery_id)

    def _date(self) -> bytes:
        now = int(time.time())
        if self._date_cache[0] != now:
            stamp = format_datetime(timezone.localtime(), usegmt=False).encode()
            self._date_cache = (now, stamp)
        return self._date_cache[1]

    def _subject(self, pieces: list[str | Slot]) -> Callable[[Recipient, bytes], bytes]:
        """The function that makes a personalized Subject: by the value of its one field, from
        a cache (first names repeat: the encoding is done once per distinct name)."""
        names = sorted({piece.name for piece in pieces if isinstance(piece, Slot)})
        if len(names) != 1:

            def each(recipient: Recipient, unsub: bytes) -> bytes:
                return _subject_bytes(pieces, recipient)

            return each
        name = names[0]
        cache: dict[str, bytes] = {}

        def by_value(recipient: Recipient, unsub: bytes) -> bytes:
            value = getattr(recipient, name)
            found = cache.get(value)
            if found is None:
                found = _subject_bytes(pieces, recipient)
                if len(cache) < _CACHE_LIMIT:
                    cache[value] = found
            return found

        return by_value

    def _stuffed_slot(self, slot: Slot) -> Callable[[Recipient, bytes], bytes]:
        """The function wire() calls for a body slot: its value, dot-stuffed if needed.

        The two slots of every message get a function of their own, which skips _slot's
        dispatch (it cost ~1 µs per slot and message, on the sender's hot path): a field's
        encoded value comes from a cache by value; the unsubscribe URL's (the same in the text
        and the HTML part) is encoded once per message."""

        def stuffed(value: bytes) -> bytes:
            if b"\r\n." in value or value[:1] == b".":
                return _stuff(value, True)
            return value

        if slot.name in FIELDS:
            name = slot.name
            cache: dict[str, bytes] = {}

            def field(recipient: Recipient, unsub: bytes) -> bytes:
                value = getattr(recipient, name)
                found = cache.get(value)
                if found is None:
                    found = stuffed(self._slot(slot, recipient, unsub))
                    if len(cache) < _CACHE_LIMIT:
                        cache[value] = found
                return found

            return field
        if slot.name == "unsubscribe_url" and self._plain_url:
            last: list[bytes] = [b"", b""]  # the URL and its wire form, for the second part

            def url(recipient: Recipient, unsub: bytes) -> bytes:
                if last[0] is not unsub:
                    last[0] = unsub
                    last[1] = stuffed(_soft_wrap(unsub))
                return last[1]

            return url

        def build(recipient: Recipient, unsub: bytes) -> bytes:
            return stuffed(self._slot(slot, recipient, unsub))

        return build

    def _slot(self, slot: Slot, recipient: Recipient, unsub_url: bytes) -> bytes:
        if slot.name == "unsubscribe_url":
            if self._plain_url:
                # Same bytes in the text and the HTML part: encoded once per message.
                last = self._last_url
                if last[0] is not unsub_url:
                    last = self._last_url = (unsub_url, _soft_wrap(unsub_url))
                return last[1]
            value = unsub_url.decode("ascii")
        elif slot.name in FIELDS:
            value = getattr(recipient, slot.name) or slot.default
        else:
            value = self._links[slot.name](recipient)
        key = (slot.name, slot.html, value) if slot.name in FIELDS else None
        if key is not None:
            cached = self._slot_cache.get(key)
            if cached is not None:
                return cached
        raw = escape(value) if slot.html else value
        encoded = _qp(raw.encode("utf-8"))
        if not encoded.endswith(CRLF):
            encoded += _SOFT_BREAK
        if key is not None and len(self._slot_cache) < _CACHE_LIMIT:
            self._slot_cache[key] = encoded
        return encoded

    def render(self, recipient: Recipient) -> bytes:
        """The whole message for one recipient: CRLF line endings, not yet dot-stuffed; with a
        DKIM-Signature first when a key is configured."""
        unsub = self._unsub(recipient)
        if self._dkim is not None:
            return self._render_signed(recipient, unsub)
        out: list[bytes] = []
        append = out.append
        for part in self._parts:
            if isinstance(part, bytes):
                append(part)
            elif isinstance(part, str):
                append(self._builders[part](recipient, unsub))
            else:
                append(self._slot(part, recipient, unsub))
        return b"".join(out)

    def wire(self, recipient: Recipient) -> bytes:
        """The message as SMTP's DATA carries it: `frame_data(render(recipient))`, built from
        chunks that were dot-stuffed when the campaign was compiled."""
        unsub = self._unsub(recipient)
        if self._dkim is not None:
            return frame_data(self._render_signed(recipient, unsub))
        parts = self._wire_parts.copy()
        for index, build in self._wire_fns:
            parts[index] = build(recipient, unsub)
        return b"".join(parts)

    def _render_signed(self, recipient: Recipient, unsub: bytes) -> bytes:
        assert self._dkim is not None
        values = {name: build(recipient, unsub) for name, build in self._builders.items()}
        head = b"".join(p if isinstance(p, bytes) else values[p] for p in self._head_parts)
        body = [
            p if isinstance(p, bytes) else self._slot(p, recipient, unsub) for p in self._body_parts
        ]
        bh = self._bh
        if bh is None:
            digest = self._bh_start.copy()
            for part in self._bh_rest:
                if isinstance(part, bytes):
                    digest.update(part)
                else:
                    digest.update(relaxed_lines(self._slot(part, recipient, unsub)))
            bh = base64.b64encode(digest.digest()).decode()
        canonical = [
            h if isinstance(h, bytes) else relaxed_header(h[0], b" " + values[h[1]])
            for h in self._dkim_heads
        ]
        signature = self._dkim.signature_header(self._dkim_names, canonical, bh)
        return b"".join([signature, head, *body])
