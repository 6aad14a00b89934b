"""Reading what comes back to the VERP addresses: bytes in, a `Verdict` out, no database.

In order: RFC 3464 delivery status notifications (multipart/report; report-type=delivery-status,
read with the standard library's email package), RFC 5965 feedback reports (complaints), then
flufl.bounce's detectors for the bounces that follow no standard (classic Exim, qmail, old
Exchange…), then auto-replies. Whatever none of them understands is `unparsed`: the caller keeps
it, it is never dropped.

Which failures suppress an address: a permanent failure (5.x.x) is a hard bounce when its status
is about the recipient's address or mailbox (X.1.x but X.1.7/X.1.8, which are about *our* sender
address; X.2.1, mailbox disabled; a bare X.0.0 with nothing more precise). Other permanent
statuses — 5.7.x policy or reputation blocks, 5.2.2 mailbox full, 5.4.x routing, 5.6.x content —
say nothing about the address: suppressing on them would, after one bad day at one provider,
take every address of that provider out of the base for good. They count as soft bounces, so an
address that keeps failing is still suppressed after BOUNCES_SOFT_LIMIT of them.
A "delayed" report is a warning that the relay still tries: ignored (the final failure, if any,
comes as its own report), like positive reports (delivered, relayed, expanded).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser, HeaderParser
from typing import Final
from urllib.parse import unquote

from flufl.bounce import all_failures

# flufl.bounce logs a traceback whenever one of its heuristic detectors trips on an odd message
# (and carries on with the next one): noise for us, since what nobody reads is kept as unparsed.
logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

HARD: Final = "hard_bounce"
SOFT: Final = "soft_bounce"
COMPLAINT: Final = "complaint"
IGNORED: Final = "ignored"
UNPARSED: Final = "unparsed"

# Enhanced status codes (RFC 3463), also inside "550-5.1.1 …" or "smtp; 550 5.1.10 …".
_STATUS_RE: Final = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# Feedback types that mean "this mail is unwanted" (RFC 5965 §7.3); not-spam and the
# authentication-failure reports of RFC 6591 are not complaints.
COMPLAINT_TYPES: Final = frozenset({"abuse", "fraud", "virus", "other"})
_AUTO_SUBJECT_RE: Final = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response)|auto:|absence|absent|out of (the )?office|"
    r"r[ée]ponse automatique|message d'absence|cong[ée]s?\b|vacation)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # HARD, SOFT, COMPLAINT, IGNORED or UNPARSED
    status: str = ""  # RFC 3463 status, e.g. "5.1.1"
    action: str = ""  # DSN action (failed, delayed…) or ARF feedback type (abuse…)
    diagnostic: str = ""  # the remote server's words
    recipient: str = ""  # the address the report is about, as it says
    parser: str = ""  # who understood it: dsn, arf, flufl, auto-reply, none
    message_id: str = ""  # the report's own Message-ID (idempotency)


def _text(value: object, limit: int = 500) -> str:
    return " ".join(str(value or "").split())[:limit]


def _status_of(*texts: str) -> tuple[int, int, int] | None:
    """The most precise enhanced status found in `texts`, in order (a bare X.0.0 loses to a
    precise one in a later text, e.g. Exim's Status 5.0.0 with a Diagnostic-Code 5.1.1)."""
    found: tuple[int, int, int] | None = None
    for text in texts:
        for match in _STATUS_RE.finditer(text or ""):
            code = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
            if found is None or (found[1:] == (0, 0) and code[1:] != (0, 0)):
                found = code
    return found


def _is_address_failure(code: tuple[int, int, int]) -> bool:
    _cls, subject, detail = code
    return (subject == 1 and detail not in (7, 8)) or (subject, detail) in ((2, 1), (0, 0))


def classify(code: tuple[int, int, int] | None, *, permanent: bool) -> str:
    """HARD or SOFT for a failure with this status (see the module docstring)."""
    if code is None:
        return HARD if permanent else SOFT
    if code[0] == 5 and _is_address_failure(code):
        return HARD
    return SOFT


def _fmt(code: tuple[int, int, int] | None) -> str:
    return ".".join(map(str, code)) if code else ""


def _after_type(value: str) -> str:
    """ "rfc822; someone@example.org" → "someone@example.org"."""
    return _text(value.partition(";")[2] if ";" in value else value, 254).strip("<>")


# --- RFC 3464 ---------------------------------------------------------------------------------


def _blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):  # what the email package does for message/delivery-status
        return [p for p in payload if isinstance(p, Message)]
    # message/global-delivery-status (RFC 6533), or a part it did not split: blank-line blocks.
    text = part.get_payload(decode=True) or b""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    chunks = re.split(r"\r?\n\s*\r?\n", str(text))
    return [HeaderParser().parsestr(chunk) for chunk in chunks if chunk.strip()]


# Severity when a report lists several recipients: the worst one decides.
_RANK: Final = {HARD: 3, SOFT: 2, IGNORED: 1}


def _dsn(msg: Message) -> Verdict | None:
    parts = [
        p
        for p in msg.walk()
        if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
    ]
    if not parts:
        return None
    best: Verdict | None = None
    for part in parts:
        for block in _blocks(part):
            action = _text(block.get("Action"), 16).lower()
            status = _text(block.get("Status"), 32)
            if not action and not status:
                continue  # the per-message block (Reporting-MTA, Arrival-Date…)
            diagnostic = _text(block.get("Diagnostic-Code"))
            code = _status_of(status, diagnostic)
            permanent = action == "failed" and (code is None or code[0] == 5)
            if action == "failed" or (not action and code is not None and code[0] in (4, 5)):
                kind = classify(code, permanent=permanent or (code is not None and code[0] == 5))
            else:
                kind = IGNORED  # delayed, delivered, relayed, expanded
            recipient = _after_type(
                str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            )
            verdict = Verdict(kind, _fmt(code), action, diagnostic, recipient, "dsn")
            if best is None or _RANK[kind] > _RANK[best.kind]:
                best = verdict
    return best


# --- RFC 5965 ---------------------------------------------------------------------------------


def _arf(msg: Message) -> Verdict | None:
    for part in msg.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            fields = payload[0]
        else:
            raw = part.get_payload(decode=True) or b""
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            fields = HeaderParser().parsestr(text)
        feedback = _text(fields.get("Feedback-Type"), 16).lower()
        kind = COMPLAINT if feedback in COMPLAINT_TYPES else IGNORED
        recipient = _text(fields.get("Original-Rcpt-To"), 254).strip("<>")
        agent = _text(fields.get("User-Agent"), 200)
        source = _text(fields.get("Source-IP"), 64)
        diagnostic = "; ".join(x for x in (agent, f"Source-IP {source}" if source else "") if x)
        return Verdict(kind, "", feedback, diagnostic, recipient, "arf")
    return None


# --- Everything else ---------------------------------------------------------------------------


def _body_text(msg: Message, limit: int = 200_000) -> str:
    chunks: list[str] = []
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                chunks.append(data[:limit].decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(chunks)


def _diagnostic_line(text: str, code: tuple[int, int, int] | None) -> str:
    if code is not None:
        wanted = _fmt(code)
        for line in text.splitlines():
            if wanted in line:
                return _text(line)
    return ""


def _flufl(msg: Message) -> Verdict | None:
    temporary, permanent = all_failures(msg)
    if not temporary and not permanent:
        return None
    addresses = sorted(permanent or temporary)
    recipient = addresses[0].decode("ascii", "replace")[:254]
    text = _body_text(msg)
    code = _status_of(text)
    kind = classify(code, permanent=bool(permanent))
    if not permanent and kind == HARD:
        kind = SOFT  # a detector that saw a temporary failure is not overruled by a stray code
    return Verdict(kind, _fmt(code), "failed", _diagnostic_line(text, code), recipient, "flufl")


def _subject(msg: Message) -> str:
    raw = str(msg.get("Subject", ""))
    try:
        return _text(str(make_header(decode_header(raw))), 200)
    except (ValueError, LookupError, UnicodeError):
        return _text(raw, 200)


def _is_auto_reply(msg: Message) -> bool:
    submitted = str(msg.get("Auto-Submitted", "")).strip().lower()
    precedence = str(msg.get("Precedence", "")).strip().lower()
    return (
        (bool(submitted) and submitted != "no")
        or any(msg.get(h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Autoresponse"))
        or precedence in {"auto_reply", "bulk", "junk"}
        or bool(_AUTO_SUBJECT_RE.match(_subject(msg)))
    )


def read_report(raw: bytes) -> Verdict:
    """What this message says about the delivery it was sent back for. Never raises."""
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        message_id = _text(msg.get("Message-ID"), 250)
    except Exception:  # the email package is lenient; anything it still chokes on is unparsed
        return Verdict(UNPARSED, parser="none")
    for reader in (_dsn, _arf, _flufl):
        try:
            verdict = reader(msg)
        except Exception:
            verdict = None  # a reader that trips on a malformed part leaves it to the next one
        if verdict is not None:
            return dataclasses.replace(verdict, message_id=message_id)
    if _is_auto_reply(msg):
        subject = _subject(msg)
        return Verdict(IGNORED, "", "auto-reply", subject, "", "auto-reply", message_id)
    return Verdict(UNPARSED, parser="none", message_id=message_id)


# --- Feedback loops that do not use VERP -------------------------------------------------------

# What our campaign messages carry that names their delivery (essaim.mailing.message): the VERP
# envelope sender, which the receiving server copies into Return-Path and the report into
# Original-Mail-From; the mailto: of List-Unsubscribe, whose subject is
# unsubscribe-<delivery id>-<tag>; its https link, whose token names the contact; and the
# Message-ID <campaign.delivery.nonce@domain>, which is not signed.
_MAILTO_CODE_RE: Final = re.compile(r"subject=unsubscribe-(\d{1,18})-([a-z2-7]{8})\b", re.I)
_ANGLED_RE: Final = re.compile(r"<([^<>\s]+)>")
_MESSAGE_ID_RE: Final = re.compile(r"<?\s*(\d{1,18})\.(\d{1,18})\.[0-9a-f]+@", re.I)


@dataclass(frozen=True, slots=True)
class Feedback:
    """What an ARF report (RFC 5965) received at the complaints address says about the message
    it reports, before any look-up: `verdict` is None when the mail is not an ARF report."""

    verdict: Verdict | None
    verp_addresses: tuple[str, ...] = ()  # Original-Mail-From, the original's Return-Path
    mailto_codes: tuple[tuple[int, str], ...] = ()  # (delivery id, tag) from List-Unsubscribe
    links: tuple[str, ...] = ()  # the http(s) URIs of List-Unsubscribe
    message_ids: tuple[tuple[int, int], ...] = ()  # (campaign id, delivery id), unsigned


def _original_headers(report: Message) -> Message | None:
    """The reported message (message/rfc822) or its header block (text/rfc822-headers): the
    third part of RFC 5965 §2, looked for among the report's own parts only."""
    payload = report.get_payload()
    if not isinstance(payload, list):
        return None
    for part in payload:
        if not isinstance(part, Message):
            continue
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
        if kind in ("message/rfc822", "text/rfc822-headers"):
            raw = part.get_payload(decode=True) or b""
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return HeaderParser().parsestr(text)
    return None


def _feedback_fields(report: Message) -> Message | None:
    for part in report.walk():
        if part.get_content_type() == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
            raw = part.get_payload(decode=True) or b""
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            return HeaderParser().parsestr(text)
    return None


def _all(headers: Message | None, name: str) -> list[str]:
    return [" ".join(str(v).split()) for v in (headers.get_all(name) or [])] if headers else []


def read_feedback(raw: bytes) -> Feedback:
    """Read a mail sent to the complaints address: an ARF report is a multipart/report with
    report-type=feedback-report and a message/feedback-report part; anything else gives a
    Feedback whose verdict is None. Never raises."""
    try:
        msg = BytesParser(policy=policy.compat32).parsebytes(raw)
        is_report = (
            msg.get_content_type() == "multipart/report"
            and str(msg.get_param("report-type", "")).lower() == "feedback-report"
        )
        verdict = _arf(msg) if is_report else None
        if verdict is None:
            return Feedback(None)
        verdict = dataclasses.replace(verdict, message_id=_text(msg.get("Message-ID"), 250))
        fields = _feedback_fields(msg)
        original = _original_headers(msg)
    except Exception:  # the email package is lenient; what it still chokes on is no report
        return Feedback(None)
    senders = _all(fields, "Original-Mail-From") + _all(original, "Return-Path")
    verp = tuple(dict.fromkeys(a for s in senders if (a := s.strip().strip("<>").strip())))
    unsubscribe = " ".join(_all(original, "List-Unsubscribe"))
    uris = _ANGLED_RE.findall(unsubscribe)
    codes = tuple(
        dict.fromkeys(
            (int(m.group(1)), m.group(2).lower())
            for uri in uris
            if uri.lower().startswith("mailto:") and (m := _MAILTO_CODE_RE.search(unquote(uri)))
        )
    )
    links = tuple(dict.fromkeys(u for u in uris if u.lower().startswith(("https:", "http:"))))
    ids = tuple(
        dict.fromkeys(
            (int(m.group(1)), int(m.group(2)))
            for value in _all(original, "Message-ID")
            if (m := _MESSAGE_ID_RE.match(value))
        )
    )
    return Feedback(verdict, verp, codes, links, ids)
