"""Complaints sent to a fixed address (MAILING_COMPLAINTS_ADDRESS): the real bounces server
receives ARF reports in the style of Yahoo's, Microsoft's and AOL's feedback loops, each built
around a message our own builder rendered for a real ledger row; decisions are read back from
the database."""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from essaim.lib.testing import free_port
from essaim.mailing.bounces.server import start_server
from essaim.mailing.message import CompiledMessage, Recipient, VerpSigner
from essaim.mailing.models import BounceReport, Delivery
from essaim.mailing.services.reports import read_feedback
from essaim.mailing.tests.support import Intake, consents, events, report, verp
from essaim.people.models import Contact, ContactEvent, Suppression

COMPLAINTS = "plaintes@retours.campagne.test"
REDACTED = "redacted@provider.example"


@pytest.fixture
def intake(transactional_db: Any, settings: Any) -> Iterator[Intake]:
    settings.MAILING_COMPLAINTS_ADDRESS = COMPLAINTS
    settings.BOUNCES_MAX_BYTES = 200_000
    port = free_port()
    controller = start_server("127.0.0.1", port)
    try:
        yield Intake(port)
    finally:
        controller.stop()


# --- The reported message and the reports around it -----------------------------------------


def received(delivery: Delivery) -> bytes:
    """The delivery's message as the provider's mailbox holds it: rendered by our builder, with
    the Return-Path (our VERP envelope sender) and Received line the receiving server adds."""
    recipient = Recipient(
        delivery.pk, delivery.contact_id, delivery.email, delivery.email_hash, "Camille"
    )
    compiled = CompiledMessage(delivery.campaign)
    head = (
        f"Return-Path: <{compiled.envelope_sender(recipient)}>\r\n"
        "Received: from mta.campagne.test (mta.campagne.test [192.0.2.10])\r\n"
        f" by mx.provider.example for <{delivery.email}>; Tue, 1 Dec 2026 13:01:02 +0000\r\n"
    )
    return head.encode() + compiled.render(recipient)


def drop_header(message: bytes, name: str) -> bytes:
    """The message without every occurrence of header `name` (folded lines included)."""
    head, _, body = message.partition(b"\r\n\r\n")
    pattern = rb"(?im)^" + re.escape(name.encode()) + rb":.*\r\n(?:[ \t].*\r\n)*"
    return re.sub(pattern, b"", head + b"\r\n") + b"\r\n" + body


def drop_mailto(message: bytes) -> bytes:
    """List-Unsubscribe with its https link only."""
    return re.sub(rb",\r\n <mailto:[^>]*>", b"", message)


def redact(message: bytes, delivery: Delivery) -> bytes:
    """What providers do to the person who complained: their address replaced everywhere."""
    return message.replace(delivery.email.encode(), REDACTED.encode())


def arf(
    original: bytes,
    *,
    user_agent: str = "Yahoo!-Mail-Feedback/2.0",
    feedback_type: str = "abuse",
    mail_from: str | None = None,
    rcpt_to: str | None = None,
    headers_only: bool = False,
    report_id: str = "1764595805.4242@arf.provider.example",
    sender: str = "feedback@arf.provider.example",
) -> bytes:
    """An RFC 5965 report: a human part, the machine part, and the original message (or only
    its headers, as text/rfc822-headers)."""
    boundary = "----=_Part_4242_1764595805"
    fields = [
        f"Feedback-Type: {feedback_type}",
        f"User-Agent: {user_agent}",
        "Version: 1",
        *([f"Original-Mail-From: <{mail_from}>"] if mail_from else []),
        *([f"Original-Rcpt-To: <{rcpt_to}>"] if rcpt_to else []),
        "Arrival-Date: Tue, 1 Dec 2026 13:01:02 +0000",
        "Source-IP: 192.0.2.10",
        "Reported-Domain: campagne.test",
    ]
    if headers_only:
        third = b"Content-Type: text/rfc822-headers\r\n\r\n" + original.partition(b"\r\n\r\n")[0]
        third += b"\r\n"
    else:
        third = b"Content-Type: message/rfc822\r\nContent-Disposition: inline\r\n\r\n" + original
    head = (
        f"From: {sender}\r\nTo: {COMPLAINTS}\r\nSubject: FW: Nous avons besoin de vous\r\n"
        f"Date: Tue, 1 Dec 2026 13:30:05 +0000\r\nMessage-ID: <{report_id}>\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=feedback-report;\r\n\tboundary="{boundary}"'
        "\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is an email abuse report for an email message received from IP 192.0.2.10.\r\n\r\n"
        f"--{boundary}\r\nContent-Type: message/feedback-report\r\n\r\n"
        + "\r\n".join(fields)
        + f"\r\n\r\n--{boundary}\r\n"
    )
    return head.encode() + third + f"\r\n--{boundary}--\r\n".encode()


def yahoo(delivery: Delivery) -> bytes:
    return arf(received(delivery), mail_from=verp(delivery), rcpt_to=delivery.email)


def yahoo_redacted(delivery: Delivery) -> bytes:
    return arf(redact(received(delivery), delivery), mail_from=verp(delivery))


def microsoft(delivery: Delivery) -> bytes:
    # JMRP: no Original-Mail-From; the original with its Return-Path, the recipient redacted.
    return arf(
        redact(received(delivery), delivery),
        user_agent="Microsoft JMRP",
        sender="staff@hotmail.com",
        report_id="jmrp.77@hotmail.com",
    )


def aol(delivery: Delivery) -> bytes:
    # Headers only, without Return-Path, recipient redacted: List-Unsubscribe's codes remain.
    original = redact(drop_header(received(delivery), "Return-Path"), delivery)
    return arf(original, user_agent="AOL SComp", headers_only=True, sender="scomp@aol.net")


def link_only(delivery: Delivery) -> bytes:
    # Only List-Unsubscribe's https link (its token names the person) and the Message-ID.
    original = drop_mailto(redact(drop_header(received(delivery), "Return-Path"), delivery))
    return arf(original, user_agent="AOL SComp", headers_only=True)


STYLES = {
    "yahoo": yahoo,
    "yahoo_redacted": yahoo_redacted,
    "microsoft": microsoft,
    "aol": aol,
    "link_only": link_only,
}


def nothing_changed(deliveries: list[Delivery]) -> None:
    assert BounceReport.objects.count() == 0
    assert Suppression.objects.count() == 0
    assert ContactEvent.objects.count() == 0
    assert [d.status for d in Delivery.objects.order_by("pk")] == ["accepted"] * len(deliveries)
    assert all(consents(d) == ["granted"] for d in deliveries)


# --- Reports that name a delivery of ours -----------------------------------------------------


@pytest.mark.parametrize("style", list(STYLES))
def test_an_arf_report_at_the_complaints_address_suppresses_the_reported_delivery(
    intake, sent, style
):
    delivery = sent[1]
    raw = STYLES[style](delivery)
    assert intake.send(COMPLAINTS, raw, mail_from="feedback@arf.provider.example") == {}
    stored = BounceReport.objects.get()
    assert (stored.delivery, stored.kind, stored.action, stored.parser, stored.suppressed) == (
        delivery,
        "complaint",
        "abuse",
        "arf",
        True,
    )
    assert stored.recipient == (delivery.email if style == "yahoo" else "")
    assert (stored.mail_from, bytes(stored.raw), stored.size) == (
        "feedback@arf.provider.example",
        raw,
        len(raw),
    )
    assert Delivery.objects.get(pk=delivery.pk).status == "complained"
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (delivery.email_hash, "complaint")
    assert consents(delivery) == ["withdrawn"]
    assert [kind for kind, _ in events(delivery)] == ["consent_withdrawn", "complaint"]
    others = [d for d in sent if d.pk != delivery.pk]
    assert [Delivery.objects.get(pk=d.pk).status for d in others] == ["accepted", "accepted"]
    assert all(consents(d) == ["granted"] for d in others)


def test_a_complaint_at_the_fixed_address_does_what_one_at_the_verp_address_does(intake, sent):
    by_address, by_verp = sent[0], sent[1]
    intake.send(COMPLAINTS, microsoft(by_address))
    intake.send(verp(by_verp), microsoft(by_verp))

    def effects(delivery: Delivery) -> tuple[Any, ...]:
        report = BounceReport.objects.get(delivery=delivery)
        timeline = [
            (kind, {k: v for k, v in data.items() if k not in ("delivery", "report")})
            for kind, data in events(delivery)
        ]
        return (
            Delivery.objects.get(pk=delivery.pk).status,
            Delivery.objects.get(pk=delivery.pk).smtp_reply,
            Suppression.objects.get(email_hash=delivery.email_hash).reason,
            (report.kind, report.action, report.diagnostic, report.parser, report.suppressed),
            consents(delivery),
            timeline,
        )

    assert effects(by_address) == effects(by_verp)
    assert effects(by_address)[-1] == [
        ("consent_withdrawn", {"purposes": ["news"], "reason": "complaint"}),
        (
            "complaint",
            {
                "campaign": by_address.campaign_id,
                "action": "abuse",
                "diagnostic": "Microsoft JMRP; Source-IP 192.0.2.10",
                "suppressed": True,
            },
        ),
    ]


def test_the_same_report_twice_or_also_at_the_verp_address_changes_nothing_more(intake, sent):
    delivery = sent[0]
    raw = yahoo(delivery)
    intake.send(COMPLAINTS, raw)
    before = list(ContactEvent.objects.values_list("pk", flat=True))
    assert intake.send(COMPLAINTS, b"Received: by mx2.provider.example; again\r\n" + raw) == {}
    assert intake.send(verp(delivery), raw) == {}
    assert BounceReport.objects.count() == 1
    assert Suppression.objects.count() == 1
    assert list(ContactEvent.objects.values_list("pk", flat=True)) == before


def test_a_fraud_or_other_report_is_a_complaint_too(intake, sent):
    intake.send(COMPLAINTS, arf(received(sent[0]), feedback_type="fraud", report_id="a@x"))
    intake.send(COMPLAINTS, arf(received(sent[1]), feedback_type="Other", report_id="b@x"))
    assert list(BounceReport.objects.order_by("pk").values_list("kind", "action")) == [
        ("complaint", "fraud"),
        ("complaint", "other"),
    ]
    assert Suppression.objects.count() == 2


def test_a_report_on_an_erased_contact_still_suppresses_its_address_hash(intake, sent):
    delivery = sent[0]
    raw = aol(delivery)  # made while the contact exists: the link's token needs its id
    Contact.objects.filter(pk=delivery.contact_id).delete()
    assert intake.send(COMPLAINTS, raw) == {}
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [
        (delivery.email_hash, "complaint")
    ]


# --- Reports that change nothing ----------------------------------------------------------------


def refused(intake: Intake, raw: bytes) -> tuple[int, bytes]:
    with pytest.raises(smtplib.SMTPDataError) as error:
        intake.send(COMPLAINTS, raw)
    reply = error.value.smtp_error
    return error.value.smtp_code, reply if isinstance(reply, bytes) else reply.encode()


NOT_ARF = (
    550,
    b"5.6.0 Not a feedback report (RFC 5965: multipart/report; report-type=feedback-report)",
)
NOT_COMPLAINT = (550, b"5.6.0 Feedback type not handled here (abuse, fraud, virus, other)")
NO_CODE = (550, b"5.6.0 The reported message carries no delivery code of ours")
FORGED = (550, b"5.7.1 Invalid delivery code in the reported message")
CONFLICT = (550, b"5.7.1 The reported message names more than one delivery")
UNKNOWN = (550, b"5.1.1 No delivery of ours matches the reported message")


def test_mail_that_is_not_an_arf_report_is_refused(intake, sent, caplog):
    delivery = sent[0]
    plain = (
        f"From: someone@provider.example\r\nTo: {COMPLAINTS}\r\nSubject: spam!\r\n\r\n"
        f"Feedback-Type: abuse\r\nOriginal-Mail-From: <{verp(delivery)}>\r\n"
    ).encode()
    dsn = report("postfix_user_unknown.eml", delivery)  # a delivery report, not feedback
    no_part = yahoo(delivery).replace(b"message/feedback-report", b"text/plain")
    caplog.set_level(logging.INFO, logger="essaim.mailing.bounces")
    assert refused(intake, plain) == NOT_ARF
    assert refused(intake, dsn) == NOT_ARF
    assert refused(intake, no_part) == NOT_ARF
    assert refused(intake, b"\x00\xff garbage \r\n\r\n\x80") == NOT_ARF
    nothing_changed(sent)
    assert [r.getMessage() for r in caplog.records if "refused" in r.getMessage()] == [
        "bounces: complaint refused from 127.0.0.1 (mail from '<>'): NOT_ARF"
    ] * 4


@pytest.mark.parametrize("feedback_type", ["not-spam", "auth-failure", ""])
def test_a_report_of_another_feedback_type_is_refused(intake, sent, feedback_type):
    raw = arf(received(sent[0]), feedback_type=feedback_type, mail_from=verp(sent[0]))
    assert refused(intake, raw) == NOT_COMPLAINT
    nothing_changed(sent)


def test_truncated_reports_are_refused(intake, sent):
    raw = yahoo(sent[0])
    before_machine_part = raw[: raw.index(b"Content-Type: message/feedback-report") - 10]
    within_machine_part = raw[: raw.index(b"Original-Mail-From")]
    assert refused(intake, before_machine_part) == NOT_ARF
    assert refused(intake, within_machine_part) == NO_CODE
    nothing_changed(sent)


def test_a_report_whose_message_id_is_the_only_trace_is_refused(intake, sent):
    original = drop_header(drop_header(received(sent[0]), "Return-Path"), "List-Unsubscribe")
    assert b"Message-ID: <" in original
    assert refused(intake, arf(original)) == NO_CODE
    nothing_changed(sent)


def test_forged_codes_are_refused_and_suppress_nobody(intake, sent):
    victim, mine = sent[0], sent[1]
    signer = VerpSigner(settings.MAILING_VERP_DOMAIN)
    # Somebody else's delivery id with my message's tag, in each of the signed places.
    forged_verp = verp(mine).replace(f"+{mine.pk}-", f"+{victim.pk}-")
    bare = drop_header(drop_header(received(mine), "Return-Path"), "List-Unsubscribe")
    cases = [
        arf(bare, mail_from=forged_verp),
        arf(received(mine).replace(verp(mine).encode(), forged_verp.encode())),
        arf(
            drop_header(received(mine), "Return-Path").replace(
                f"unsubscribe-{mine.pk}-".encode(), f"unsubscribe-{victim.pk}-".encode()
            )
        ),
        # My genuine code, and a forged one naming the victim.
        arf(received(mine), mail_from=forged_verp),
        # A key that is not ours.
        arf(bare, mail_from=VerpSigner(settings.MAILING_VERP_DOMAIN, "other").address(victim.pk)),
    ]
    # The link's signed token is mine: a Message-ID naming the victim's delivery does not match.
    cases.append(re.sub(rb"(Message-ID: <\d+\.)\d+\.", rb"\g<1>%d." % victim.pk, link_only(mine)))
    link = link_only(mine)
    tampered = re.sub(rb"(desinscription/[^/:]+:)[A-Za-z0-9_-]{4}", rb"\1AAAA", link)
    assert tampered != link
    cases.append(tampered)
    for raw in cases:
        assert refused(intake, raw) == FORGED
    assert signer.tag(victim.pk) != signer.tag(mine.pk)
    nothing_changed(sent)


def test_codes_naming_two_deliveries_are_refused(intake, sent):
    raw = arf(received(sent[0]), mail_from=verp(sent[1]))
    assert refused(intake, raw) == CONFLICT
    nothing_changed(sent)


def test_a_report_for_a_delivery_we_do_not_have_is_refused(intake, sent):
    missing = sent[-1].pk + 1000
    bare = drop_header(drop_header(received(sent[0]), "Return-Path"), "List-Unsubscribe")
    assert refused(intake, arf(bare, mail_from=verp(missing))) == UNKNOWN
    gone = sent[2]
    raw = yahoo(gone)
    Delivery.objects.filter(pk=gone.pk).delete()
    assert refused(intake, raw) == UNKNOWN
    nothing_changed(sent[:2])


def test_a_report_above_the_size_limit_is_refused_before_it_is_read(intake, sent):
    raw = yahoo(sent[0])
    huge = raw.replace(b"Rendez-vous samedi.", b"x" * 250_000)
    with pytest.raises(smtplib.SMTPSenderRefused) as error:
        intake.send(COMPLAINTS, huge)
    assert error.value.smtp_code == 552
    nothing_changed(sent)


def test_without_a_complaints_address_such_mail_is_refused_at_rcpt(intake, sent, settings):
    settings.MAILING_COMPLAINTS_ADDRESS = ""
    with pytest.raises(smtplib.SMTPRecipientsRefused) as error:
        intake.send(COMPLAINTS, yahoo(sent[0]))
    assert error.value.recipients == {
        COMPLAINTS: (550, b"5.1.2 Not a bounce domain of this server")
    }
    nothing_changed(sent)


# --- Reading without a server -------------------------------------------------------------------


def test_the_codes_of_a_rendered_message_are_all_read(sent):
    delivery = sent[0]
    feedback = read_feedback(yahoo(delivery))
    assert feedback.verdict is not None
    assert (feedback.verdict.kind, feedback.verdict.message_id) == (
        "complaint",
        "<1764595805.4242@arf.provider.example>",
    )
    assert feedback.verp_addresses == (verp(delivery),)
    signer = VerpSigner(settings.MAILING_VERP_DOMAIN)
    assert feedback.mailto_codes == ((delivery.pk, signer.tag(delivery.pk)),)
    assert len(feedback.links) == 1 and "/desinscription/" in feedback.links[0]
    assert feedback.message_ids == ((delivery.campaign_id, delivery.pk),)
