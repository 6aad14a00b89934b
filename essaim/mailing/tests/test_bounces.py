"""Bounce intake: a real aiosmtpd server (essaim.mailing.bounces.server) receives realistic
reports on VERP addresses; decisions are read back from the database."""

from __future__ import annotations

import datetime as dt
import smtplib
import subprocess
import sys
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from essaim.lib.testing import free_port
from essaim.mailing.bounces.server import start_server
from essaim.mailing.message import CompiledMessage, Recipient, VerpSigner
from essaim.mailing.models import BounceReport, Delivery
from essaim.mailing.services.progress import campaign_results
from essaim.mailing.services.reports import read_report
from essaim.mailing.tests.factories import accepted_campaign, make_audience
from essaim.mailing.tests.support import (
    REPORTS,
    ROOT,
    Intake,
    consents,
    events,
    report,
    verp,
    wait_port,
    wait_until,
)
from essaim.people.models import Contact, ContactEvent, Suppression


@pytest.fixture
def intake(transactional_db: Any, settings: Any) -> Iterator[Intake]:
    settings.BOUNCES_MAX_BYTES = 200_000
    settings.BOUNCES_KEEP_BYTES = 20_000
    port = free_port()
    controller = start_server("127.0.0.1", port)
    try:
        yield Intake(port)
    finally:
        controller.stop()


def _other_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "postgresql", reason="sessions are PostgreSQL's")
def test_stopping_the_server_closes_its_workers_database_connections(sent):
    before = _other_sessions()
    controller = start_server("127.0.0.1", port := free_port())
    try:
        delivery = sent[0]
        assert Intake(port).send(verp(delivery), report("postfix_user_unknown.eml", delivery)) == {}
        assert _other_sessions() > before  # a worker thread opened its own
    finally:
        controller.stop()
    wait_until(lambda: _other_sessions() == before, timeout=5)


def test_a_postfix_user_unknown_report_suppresses_the_address_and_marks_the_delivery_bounced(
    intake, sent
):
    delivery = sent[0]
    raw = report("postfix_user_unknown.eml", delivery)
    assert intake.send(verp(delivery), raw) == {}
    delivery.refresh_from_db()
    assert delivery.status == "bounced"
    stored = BounceReport.objects.get()
    assert (stored.delivery, stored.campaign_id, stored.kind, stored.status, stored.action) == (
        delivery,
        delivery.campaign_id,
        "hard_bounce",
        "5.1.1",
        "failed",
    )
    assert (stored.parser, stored.recipient, stored.suppressed, stored.size) == (
        "dsn",
        "r0@exemple.fr",
        True,
        len(raw),
    )
    assert bytes(stored.raw) == raw
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (delivery.email_hash, "hard_bounce")
    assert consents(delivery) == ["withdrawn"]
    assert events(delivery) == [
        ("consent_withdrawn", {"purposes": ["news"], "reason": "hard_bounce"}),
        (
            "hard_bounce",
            {
                "campaign": delivery.campaign_id,
                "delivery": delivery.pk,
                "report": stored.pk,
                "status": "5.1.1",
                "action": "failed",
                "diagnostic": "smtp; 550 5.1.1 <r0@exemple.fr>: Recipient address rejected: "
                "User unknown in virtual mailbox table",
                "suppressed": True,
            },
        ),
    ]
    assert [d.status for d in Delivery.objects.exclude(pk=delivery.pk)] == ["accepted", "accepted"]


@pytest.mark.parametrize(
    ("name", "status", "parser"),
    [
        ("gmail_no_such_user.eml", "5.1.1", "dsn"),
        ("microsoft_not_found.eml", "5.1.10", "dsn"),
        ("exim_plain.eml", "5.1.1", "flufl"),
    ],
)
def test_hard_bounces_of_every_style_suppress_at_once(intake, sent, name, status, parser):
    delivery = sent[1]
    intake.send(verp(delivery), report(name, delivery))
    stored = BounceReport.objects.get()
    assert (stored.kind, stored.status, stored.parser, stored.recipient) == (
        "hard_bounce",
        status,
        parser,
        "r1@exemple.fr",
    )
    assert Delivery.objects.get(pk=delivery.pk).status == "bounced"
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [
        (delivery.email_hash, "hard_bounce")
    ]


def test_a_provider_block_is_counted_as_a_soft_bounce_and_suppresses_nobody(intake, sent):
    delivery = sent[0]
    intake.send(verp(delivery), report("microsoft_blocked.eml", delivery))
    stored = BounceReport.objects.get()
    assert (stored.kind, stored.status, stored.suppressed) == ("soft_bounce", "5.7.1", False)
    assert Delivery.objects.get(pk=delivery.pk).status == "accepted"
    assert Suppression.objects.count() == 0
    assert consents(delivery) == ["granted"]
    assert [kind for kind, _ in events(delivery)] == ["soft_bounce"]
    assert events(delivery)[0][1]["soft_bounces"] == 1


def test_soft_bounces_suppress_the_address_at_the_limit_within_the_window(intake, sent, settings):
    settings.BOUNCES_SOFT_LIMIT = 3
    settings.BOUNCES_SOFT_WINDOW_DAYS = 30
    delivery = sent[2]
    intake.send(verp(delivery), report("postfix_gave_up.eml", delivery, message_id="a@mx"))
    # An old one, out of the window, does not count.
    BounceReport.objects.update(received_at=timezone.now() - dt.timedelta(days=31))
    intake.send(verp(delivery), report("postfix_gave_up.eml", delivery, message_id="b@mx"))
    assert Suppression.objects.count() == 0
    intake.send(verp(delivery), report("postfix_gave_up.eml", delivery, message_id="c@mx"))
    assert Suppression.objects.count() == 0
    intake.send(verp(delivery), report("postfix_gave_up.eml", delivery, message_id="d@mx"))
    assert list(
        BounceReport.objects.order_by("pk").values_list("kind", "status", "suppressed")
    ) == [
        ("soft_bounce", "4.2.2", False),
        ("soft_bounce", "4.2.2", False),
        ("soft_bounce", "4.2.2", False),
        ("soft_bounce", "4.2.2", True),
    ]
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (delivery.email_hash, "hard_bounce")
    assert suppression.note.endswith("(3 erreurs temporaires en 30 jours)")
    assert consents(delivery) == ["withdrawn"]
    assert Delivery.objects.get(pk=delivery.pk).status == "accepted"
    last = events(delivery)[-1]
    assert (last[0], last[1]["soft_bounces"], last[1]["suppressed"]) == ("soft_bounce", 3, True)


def test_a_complaint_suppresses_the_address_and_marks_the_delivery_complained(intake, sent):
    delivery = sent[0]
    intake.send(verp(delivery), report("arf_abuse.eml", delivery))
    stored = BounceReport.objects.get()
    assert (stored.kind, stored.action, stored.parser, stored.recipient) == (
        "complaint",
        "abuse",
        "arf",
        "r0@exemple.fr",
    )
    assert stored.diagnostic == "Yahoo!-Mail-Feedback/2.0; Source-IP 192.0.2.10"
    assert Delivery.objects.get(pk=delivery.pk).status == "complained"
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (delivery.email_hash, "complaint")
    assert consents(delivery) == ["withdrawn"]
    assert [kind for kind, _ in events(delivery)] == ["consent_withdrawn", "complaint"]


@pytest.mark.parametrize(
    ("name", "action", "parser"),
    [("out_of_office.eml", "auto-reply", "auto-reply"), ("postfix_delayed.eml", "delayed", "dsn")],
)
def test_an_auto_reply_or_a_delay_warning_is_kept_and_changes_nothing(
    intake, sent, name, action, parser
):
    delivery = sent[0]
    intake.send(verp(delivery), report(name, delivery))
    stored = BounceReport.objects.get()
    assert (stored.kind, stored.action, stored.parser, stored.suppressed) == (
        "ignored",
        action,
        parser,
        False,
    )
    assert Delivery.objects.get(pk=delivery.pk).status == "accepted"
    assert Suppression.objects.count() == 0
    assert consents(delivery) == ["granted"]
    assert [kind for kind, _ in events(delivery)] == ["bounce_ignored"]


def test_garbage_is_kept_as_unparsed_and_counted_not_dropped(intake, sent):
    delivery = sent[0]
    raw = report("garbage.bin", delivery)
    assert intake.send(verp(delivery), raw) == {}
    stored = BounceReport.objects.get()
    assert (stored.kind, stored.parser, stored.size) == ("unparsed", "none", len(raw))
    assert bytes(stored.raw) == raw
    assert Suppression.objects.count() == 0
    assert campaign_results(delivery.campaign)["unparsed_reports"] == 1
    assert [kind for kind, _ in events(delivery)] == ["bounce_unparsed"]


def test_the_same_report_twice_changes_nothing_more(intake, sent):
    delivery = sent[0]
    raw = report("postfix_user_unknown.eml", delivery)
    intake.send(verp(delivery), raw)
    before = (list(ContactEvent.objects.values_list("pk", flat=True)), Suppression.objects.get())
    # Re-delivered by the reporting server: a new Received line, the same Message-ID.
    assert intake.send(verp(delivery), b"Received: by mx2.exemple.fr; again\r\n" + raw) == {}
    assert BounceReport.objects.count() == 1
    assert (list(ContactEvent.objects.values_list("pk", flat=True)), Suppression.objects.get()) == (
        before
    )


def test_a_forged_token_an_unknown_delivery_or_another_domain_is_refused_at_rcpt(intake, sent):
    delivery = sent[0]
    good = verp(delivery)
    local, domain = good.split("@")
    forged = f"{local[:-1]}{'a' if local[-1] != 'a' else 'b'}@{domain}"
    other = VerpSigner(settings.MAILING_VERP_DOMAIN, secret="another-key").address(delivery.pk)
    unknown = verp(delivery.pk + 1000)
    raw = report("postfix_user_unknown.eml", delivery)
    cases = [
        (forged, (550, b"5.7.1 Invalid bounce address")),
        (other, (550, b"5.7.1 Invalid bounce address")),
        (unknown, (550, b"5.1.1 No such bounce address")),
        (f"{local}@exemple.fr", (550, b"5.1.2 Not a bounce domain of this server")),
        ("postmaster@" + domain, (550, b"5.7.1 Invalid bounce address")),
    ]
    for rcpt, reply in cases:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            intake.send(rcpt, raw)
        assert refused.value.recipients == {rcpt: reply}
    assert BounceReport.objects.count() == 0
    assert Suppression.objects.count() == 0
    assert Delivery.objects.get(pk=delivery.pk).status == "accepted"


def test_a_message_above_the_size_limit_is_refused_and_a_large_one_is_kept_capped(intake, sent):
    delivery = sent[0]
    head = report("out_of_office.eml", delivery)
    huge = head + (b"x" * 70 + b"\r\n") * 3000
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # announced with SIZE=
        intake.send(verp(delivery), huge)
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", intake.port, timeout=10) as client:  # not announced
        client.ehlo()
        assert client.mail("")[0] == 250
        assert client.rcpt(verp(delivery))[0] == 250
        assert client.data(huge)[0] == 552
    assert BounceReport.objects.count() == 0
    large = head + (b"y" * 70 + b"\r\n") * 2000
    intake.send(verp(delivery), large)
    stored = BounceReport.objects.get()
    assert (stored.kind, stored.size, len(stored.raw)) == ("ignored", len(large), 20_000)
    assert bytes(stored.raw) == large[:20_000]


def test_campaign_results_count_every_decision(intake, sent):
    intake.send(verp(sent[0]), report("postfix_user_unknown.eml", sent[0]))
    intake.send(verp(sent[1]), report("arf_abuse.eml", sent[1]))
    intake.send(verp(sent[2]), report("microsoft_blocked.eml", sent[2]))
    intake.send(verp(sent[2]), report("garbage.bin", sent[2]))
    assert campaign_results(sent[0].campaign) == {
        "accepted": 1,
        "rejected": 0,
        "bounced": 1,
        "complained": 1,
        "unsubscribed": 0,
        "unknown": 0,
        "soft_bounces": 1,
        "unparsed_reports": 1,
    }


def test_a_bounce_for_an_unknown_delivery_settles_it_as_bounced(intake, sent):
    delivery = sent[0]
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.UNKNOWN)
    intake.send(verp(delivery), report("gmail_no_such_user.eml", delivery))
    assert Delivery.objects.get(pk=delivery.pk).status == "bounced"


def test_a_report_for_an_erased_contact_still_suppresses_its_address_hash(intake, sent):
    delivery = sent[0]
    Contact.objects.filter(pk=delivery.contact_id).delete()
    intake.send(verp(delivery), report("arf_abuse.eml", delivery))
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [
        (delivery.email_hash, "complaint")
    ]
    assert BounceReport.objects.get().kind == "complaint"


# --- Reading reports without a server ---------------------------------------------------------


def test_a_generic_status_gives_way_to_the_precise_one_of_the_diagnostic():
    raw = (REPORTS / "postfix_user_unknown.eml").read_bytes()
    raw = raw.replace(b"Status: 5.1.1", b"Status: 5.0.0").replace(b"@@RCPT@@", b"a@b.fr")
    verdict = read_report(raw)
    assert (verdict.kind, verdict.status) == ("hard_bounce", "5.1.1")


def test_a_failure_about_our_own_sender_address_does_not_suppress_the_recipient():
    raw = (REPORTS / "postfix_user_unknown.eml").read_bytes().replace(b"5.1.1", b"5.1.8")
    assert (read_report(raw).kind, read_report(raw).status) == ("soft_bounce", "5.1.8")


# --- The Procfile process ---------------------------------------------------------------------


def test_essaim_bounces_receives_a_report_and_stops_on_sigterm(live_ledger, sent_live):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "essaim.manage", "bounces", "--port", str(port)],
        env=live_ledger.env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    live_ledger.procs.append(proc)
    wait_port(port)
    delivery = sent_live
    Intake(port).send(verp(delivery), report("postfix_user_unknown.eml", delivery))
    wait_until(lambda: Delivery.objects.get(pk=delivery.pk).status == "bounced", timeout=30)
    assert BounceReport.objects.get().kind == "hard_bounce"
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert out.decode().splitlines()[0] == (
        f"bounces: receiving mail for @{settings.MAILING_VERP_DOMAIN} on 127.0.0.1:{port}"
    )


@pytest.fixture
def sent_live(live_ledger: Any) -> Delivery:
    return Delivery.objects.get(campaign=accepted_campaign(make_audience(1)))


# --- unsubscribes by mail: the mailto: of List-Unsubscribe -----------------------------------


def list_unsubscribe_mailto(delivery: Delivery) -> tuple[str, str]:
    """The address and subject of the mailto: in the delivery's own message."""
    message = CompiledMessage(delivery.campaign).render(
        Recipient(delivery.pk, delivery.contact_id, delivery.email, delivery.email_hash, "Prénom")
    )
    header = str(BytesParser(policy=policy.default).parsebytes(message)["List-Unsubscribe"])
    uri = next(part.strip("<> ") for part in header.split(",") if "mailto:" in part)
    parsed = urlsplit(uri)
    return unquote(parsed.path), parse_qs(parsed.query)["subject"][0]


def unsubscribe_mail(delivery: Delivery, to: str, subject: str | None) -> bytes:
    head = f"From: {delivery.email}\r\nTo: {to}\r\n"
    if subject is not None:
        head += f"Subject: {subject}\r\n"
    return f"{head}\r\nPlease unsubscribe me.\r\n".encode()


def test_a_mail_to_the_list_unsubscribe_mailto_unsubscribes_from_everything_once(intake, sent):
    delivery, other = sent[0], sent[1]
    address, subject = list_unsubscribe_mailto(delivery)
    assert address == settings.MAILING_UNSUBSCRIBE_MAILTO
    intake.send(address.upper(), unsubscribe_mail(delivery, address, f"Re: {subject}"))
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (delivery.email_hash, "unsubscribe")
    assert consents(delivery) == ["withdrawn"]
    kinds = [(kind, data.get("channel"), data.get("source_ref")) for kind, data in events(delivery)]
    assert kinds[-1] == ("unsubscribed", "mailto", str(delivery.campaign_id))
    # The same mail again (a client that retries) changes nothing more.
    intake.send(address, unsubscribe_mail(delivery, address, subject))
    assert len(events(delivery)) == len(kinds)
    assert Suppression.objects.count() == 1
    assert consents(other) == ["granted"]


def test_an_unsubscribe_mail_without_a_valid_code_is_refused_and_changes_nothing(intake, sent):
    delivery = sent[0]
    address, subject = list_unsubscribe_mailto(delivery)
    number, tag = subject.removeprefix("unsubscribe-").split("-")
    forged = f"unsubscribe-{sent[1].pk}-{tag}"  # another person's delivery, this one's code
    missing = f"unsubscribe-999999-{VerpSigner(settings.MAILING_VERP_DOMAIN).tag(999999)}"
    for wrong, reply in [
        (None, b"No unsubscribe code in the subject"),
        ("unsubscribe", b"No unsubscribe code in the subject"),
        (forged, b"Invalid unsubscribe code"),
        (missing, b"No message of ours has this unsubscribe code"),
    ]:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            intake.send(address, unsubscribe_mail(delivery, address, wrong))
        assert refused.value.smtp_code == 550
        assert reply in refused.value.smtp_error
    assert not Suppression.objects.exists()
    assert consents(delivery) == ["granted"]
    assert number == str(delivery.pk)
