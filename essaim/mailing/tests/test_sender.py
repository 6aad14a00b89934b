"""The sender, run as a real `essaim sender` subprocess against real SMTP servers."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from essaim.mailing.models import Campaign, Delivery, DeliveryClaim
from essaim.mailing.services.campaigns import launch_campaign, pause_campaign, resume_campaign
from essaim.mailing.tests.factories import CampaignFactory, launched_campaign, make_audience
from essaim.mailing.tests.support import (
    LiveLedger,
    ScriptedServer,
    duplicates,
    ledger_counts,
    wait_until,
)
from essaim.people.models import Consent, Contact, ContactEvent, Suppression
from essaim.people.services.suppression import suppress

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_campaign_reaches_every_recipient_exactly_once(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory()
    campaign = launched_campaign(200)

    out = live_ledger.run_sender(sink.url)

    received = sink.recipients()
    assert len(received) == 200
    assert duplicates(received) == {}
    assert set(received) == {f"r{i}@exemple.fr" for i in range(200)}
    assert ledger_counts(campaign) == {"accepted": 200}
    assert json.loads(out.splitlines()[-1])["outcomes"] == {"accepted": 200}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    row = Delivery.objects.filter(campaign=campaign).first()
    assert row is not None
    assert (row.smtp_code, row.attempts, row.lease_until) == (250, 1, None)


def test_a_4xx_is_retried_later_and_delivered_once(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    campaign = launched_campaign(5)
    scripted_server.rcpt_replies["r2@exemple.fr"] = ["451 4.3.0 try again later"]

    live_ledger.run_sender(scripted_server.url, "--retry-base", "0.3")

    assert sorted(scripted_server.addresses()) == [f"r{i}@exemple.fr" for i in range(5)]
    assert ledger_counts(campaign) == {"accepted": 5}
    retried = Delivery.objects.get(campaign=campaign, email="r2@exemple.fr")
    assert (retried.attempts, retried.smtp_code) == (2, 250)
    assert Delivery.objects.filter(campaign=campaign, attempts=1).count() == 4


def test_a_5xx_is_rejected_and_a_5_1_1_suppresses_the_address(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    campaign = launched_campaign(4)
    scripted_server.rcpt_replies["r1@exemple.fr"] = ["550 5.1.1 no such user"]
    scripted_server.rcpt_replies["r2@exemple.fr"] = ["554 5.7.1 policy refusal"]

    live_ledger.run_sender(scripted_server.url)

    assert sorted(scripted_server.addresses()) == ["r0@exemple.fr", "r3@exemple.fr"]
    assert ledger_counts(campaign) == {"accepted": 2, "rejected": 2}
    bounced = Delivery.objects.get(campaign=campaign, email="r1@exemple.fr")
    assert (bounced.smtp_code, bounced.smtp_reply) == (550, "550 5.1.1 no such user")
    assert list(Suppression.objects.values_list("email_hash", "reason")) == [
        (bounced.email_hash, "hard_bounce")
    ]
    assert list(
        Consent.objects.filter(contact__email="r1@exemple.fr").values_list(
            "status", "withdrawn_reason"
        )
    ) == [("withdrawn", "hard_bounce")]
    assert (
        ContactEvent.objects.filter(contact__email="r1@exemple.fr", kind="hard_bounce").count() == 1
    )
    assert Consent.objects.get(contact__email="r2@exemple.fr").status == "granted"


def test_a_5_1_x_refusal_records_the_suppression_withdrawal_and_timeline_entry(sent) -> None:
    # The ledger's side of the one hard-bounce path (a bounce report takes the other): the
    # refused row's address and its reply, nothing for a row whose contact was erased since.
    from essaim.mailing.sender import ledger

    first, second, _ = sent
    second.contact.delete()
    ledger.apply_hard_bounces(
        [
            ledger.HardBounce(first.pk, first.campaign_id, first.contact_id, first.email, "550 a"),
            ledger.HardBounce(second.pk, second.campaign_id, None, second.email, "550 b"),
            ledger.HardBounce(second.pk, second.campaign_id, None, "pas une adresse", "550 c"),
        ]
    )
    assert list(Suppression.objects.order_by("pk").values_list("email_hash", "reason", "note")) == [
        (first.email_hash, "hard_bounce", f"campagne {first.campaign_id}: 550 a"),
        (second.email_hash, "hard_bounce", f"campagne {first.campaign_id}: 550 b"),
    ]
    assert list(
        ContactEvent.objects.filter(contact=first.contact)
        .order_by("pk")
        .values_list("kind", "data")
    ) == [
        ("consent_withdrawn", {"purposes": ["news"], "reason": "hard_bounce"}),
        ("hard_bounce", {"campaign": first.campaign_id, "delivery": first.pk, "reply": "550 a"}),
    ]
    assert list(
        Consent.objects.order_by("contact").values_list("contact", "status", "withdrawn_reason")
    ) == [
        (first.contact_id, "withdrawn", "hard_bounce"),
        (sent[2].contact_id, "granted", ""),
    ]


def test_a_connection_lost_after_the_final_dot_leaves_unknown_and_never_resends(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory("-q", ".")  # hang up after the final dot, without a reply
    campaign = launched_campaign(30)

    live_ledger.run_sender(sink.url)

    received = sink.recipients()
    assert duplicates(received) == {}
    assert sorted(received) == sorted(f"r{i}@exemple.fr" for i in range(30))
    assert ledger_counts(campaign) == {"unknown": 30}
    assert set(Delivery.objects.filter(campaign=campaign).values_list("smtp_reply", flat=True)) == {
        "connection lost after the final dot"
    }


def test_a_connection_lost_before_the_final_dot_sends_the_message_again_once(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    campaign = launched_campaign(6)
    scripted_server.drop_at_rcpt = {"r3@exemple.fr"}

    live_ledger.run_sender(scripted_server.url)

    assert ledger_counts(campaign) == {"accepted": 6}
    assert sorted(scripted_server.addresses()) == [f"r{i}@exemple.fr" for i in range(6)]


def test_a_sender_killed_mid_send_then_restarted_sends_nobody_twice(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory("-w", "1")  # one second before each 354: the send takes a while
    campaign = launched_campaign(400)
    first = live_ledger.sender(sink.url, "--once", "--max-claimed", "60", lease=2)
    wait_until(lambda: len(sink.recipients()) >= 40, timeout=60)
    first.send_signal(signal.SIGKILL)
    first.wait()
    held = ledger_counts(campaign)["claimed"]

    # The new sender's janitor settles the dead one's claims once their lease has expired.
    live_ledger.run_sender(
        sink.url, "--max-claimed", "60", "--connections", "16", timeout=120, lease=2
    )

    received = sink.recipients()
    assert duplicates(received) == {}
    counts = ledger_counts(campaign)
    assert set(counts) <= {"accepted", "unknown"}
    assert counts["unknown"] == held
    assert 0 < held <= 60
    accepted = set(
        Delivery.objects.filter(campaign=campaign, status="accepted").values_list(
            "email", flat=True
        )
    )
    assert accepted <= set(received)
    assert len(received) - len(accepted) <= held


def test_an_unsubscribe_mid_send_stops_mail_to_that_address(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    scripted_server.delay = 0.02
    campaign = launched_campaign(150)
    proc = live_ledger.sender(scripted_server.url, "--once", "--connections", "1")
    wait_until(lambda: len(scripted_server.received) >= 20)
    not_yet = sorted(
        {f"r{i}@exemple.fr" for i in range(150)} - set(scripted_server.addresses()),
        key=lambda a: int(a[1:].split("@")[0]),
    )
    leaving = not_yet[-10:]
    for address in leaving:
        suppress(email_key=address, reason=Suppression.Reason.UNSUBSCRIBE)
    suppressed_at = time.monotonic()
    assert proc.wait(60) == 0

    # One message may already be on the wire when the suppression lands; nothing after that.
    late = [(t, a) for t, a, _ in scripted_server.received if a in leaving]
    assert len(late) <= 1
    assert all(t < suppressed_at + 0.5 for t, _ in late)
    assert duplicates(scripted_server.addresses()) == {}
    counts = ledger_counts(campaign)
    assert counts == {"accepted": 140 + len(late), "suppressed": 10 - len(late)}


def test_a_pause_stops_new_messages_within_a_second_and_resume_finishes_the_job(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    scripted_server.delay = 0.02
    campaign = launched_campaign(200)
    proc = live_ledger.sender(scripted_server.url, "--connections", "2")
    wait_until(lambda: len(scripted_server.received) >= 20)

    pause_campaign(campaign)
    paused_at = time.monotonic()
    time.sleep(2.0)

    late = [t for t, _, _ in scripted_server.received if t > paused_at + 1.0]
    assert late == []
    sent = len(scripted_server.received)
    assert sent < 200
    wait_until(lambda: "claimed" not in ledger_counts(campaign))
    assert ledger_counts(campaign) == {"accepted": sent, "pending": 200 - sent}

    resume_campaign(campaign)
    wait_until(lambda: ledger_counts(campaign) == {"accepted": 200}, timeout=60)
    assert duplicates(scripted_server.addresses()) == {}
    assert len(scripted_server.addresses()) == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


@pytest.mark.postgres
def test_two_senders_on_postgresql_share_the_work_and_send_nobody_twice(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED needs PostgreSQL")
    sink = sink_factory()
    campaign = launched_campaign(3000)
    # Capped at 150 messages/s, one sender alone needs 20 s for the 3,000: the other is up long
    # before that even on a loaded machine (uncapped, one sender once sent them all before the
    # second had started).
    procs = [
        live_ledger.sender(
            sink.url, "--once", "--max-claimed", "100", "--connections", "4", "--rate", "150"
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(120) == 0

    received = sink.recipients()
    assert duplicates(received) == {}
    assert len(received) == 3000
    assert ledger_counts(campaign) == {"accepted": 3000}
    per_sender: Counter[str] = Counter()
    for sender, first, last in DeliveryClaim.objects.filter(campaign=campaign).values_list(
        "sender_id", "first_id", "last_id"
    ):
        per_sender[sender] += Delivery.objects.filter(pk__gte=first, pk__lte=last).count()
    assert per_sender.total() == 3000  # the claims' runs do not overlap
    assert len(per_sender) == 2
    assert min(per_sender.values()) > 300


def test_non_ascii_addresses_go_out_in_punycode_or_are_refused_alone(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory()
    make_audience(5)
    # Rows written around normalize_email (which stores domains IDNA-encoded and refuses UTF-8
    # local parts): an IDN domain as typed, and a UTF-8 local part.
    make_audience(1, prefix="marie", domain="élysée.fr")
    Contact.objects.filter(email="marie0@xn--lyse-9oad.fr").update(email="marie0@élysée.fr")
    make_audience(1, prefix="jose", domain="exemple.org")
    Contact.objects.filter(email="jose0@exemple.org").update(email="josé@exemple.org")
    campaign = CampaignFactory.create()
    launch_campaign(campaign, Contact.objects.all())

    out = live_ledger.run_sender(sink.url)

    received = sink.recipients()
    assert sorted(received) == sorted(
        [f"r{i}@exemple.fr" for i in range(5)] + ["marie0@xn--lyse-9oad.fr"]
    )
    assert ledger_counts(campaign) == {"accepted": 6, "rejected": 1}
    refused = Delivery.objects.get(campaign=campaign, status="rejected")
    assert (refused.email, refused.smtp_code, refused.smtp_reply) == (
        "josé@exemple.org",
        None,
        "non-ASCII local part: needs SMTPUTF8, which the sender does not use",
    )
    idn = Delivery.objects.get(campaign=campaign, email="marie0@élysée.fr")
    assert idn.status == "accepted"
    assert json.loads(out.splitlines()[-1])["outcomes"] == {"accepted": 6, "rejected": 1}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE
    dump = sink.dump.read_bytes()
    assert b"\nTo: marie0@xn--lyse-9oad.fr\n" in dump  # the dump writes LF
    assert "josé".encode() not in dump
