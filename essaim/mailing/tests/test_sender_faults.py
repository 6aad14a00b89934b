"""Faults around a running `essaim sender`, audited with Postfix's smtp-sink -D or an aiosmtpd
recorder: unsubscribes mid-send, the relay going down and coming back."""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from essaim.mailing.models import Delivery
from essaim.mailing.tests.factories import launched_campaign
from essaim.mailing.tests.support import (
    SMTP_SINK,
    LiveLedger,
    ScriptedServer,
    Sink,
    duplicates,
    ledger_counts,
    wait_port,
    wait_until,
)
from essaim.people.models import Contact
from essaim.people.services.unsubscribe import unsubscribe_token

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_one_click_unsubscribe_mid_send_stops_mail_to_that_person_at_once(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    scripted_server.delay = 0.02
    campaign = launched_campaign(150)
    # Every row is claimed in the first claim: only the sender's own check can stop the mail.
    proc = live_ledger.sender(
        scripted_server.url, "--once", "--connections", "1", "--max-claimed", "400"
    )
    wait_until(lambda: len(scripted_server.received) >= 20)
    assert "pending" not in ledger_counts(campaign)
    ahead = len(scripted_server.received) + 40
    leaving = Contact.objects.get(email=f"r{ahead}@exemple.fr")
    path = reverse("public:unsubscribe", kwargs={"token": unsubscribe_token(leaving)})

    response = Client(enforce_csrf_checks=True).post(path, {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    # One message may already have been on the wire when the POST landed; nothing after that.
    to_them = [a for a in scripted_server.addresses() if a == leaving.email]
    assert len(to_them) <= 1
    assert duplicates(scripted_server.addresses()) == {}
    row = Delivery.objects.get(campaign=campaign, email=leaving.email)
    assert row.status == ("accepted" if to_them else "suppressed")
    assert ledger_counts(campaign) == {
        "accepted": 149 + len(to_them),
        **({} if to_them else {"suppressed": 1}),
    }
    stats = json.loads(out.decode().splitlines()[-1])
    if connection.vendor == "postgresql":
        # Heard through LISTEN (h: and w:news:), not the poll, which runs every 5 s meanwhile.
        assert stats["notified"] == 2
    else:
        assert stats["notified"] == 0


def restart_sink(sink: Sink, *options: str) -> Sink:
    """A new smtp-sink on the same port, recording into a dump of its own."""
    dump = sink.dump.with_name(sink.dump.name + ".after")
    privileges = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen(
        [SMTP_SINK, *privileges, "-D", str(dump), *options, f"127.0.0.1:{sink.port}", "256"]
    )
    wait_port(sink.port)
    return Sink(sink.port, dump, proc)


def test_the_relay_down_then_up_the_campaign_resumes_by_itself_and_nobody_gets_it_twice(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory("-w", "1")  # a second before each 354: the relay dies mid-send
    campaign = launched_campaign(120)
    proc = live_ledger.sender(sink.url, "--once", "--connections", "8")
    wait_until(lambda: len(sink.recipients()) >= 16, timeout=60)

    sink.proc.kill()  # the relay dies without a word
    sink.proc.wait()
    before = sink.recipients()
    time.sleep(2.0)  # connections fail and back off meanwhile
    assert Delivery.objects.filter(campaign=campaign, status="accepted").count() < 120
    after = restart_sink(sink)
    try:
        assert proc.wait(90) == 0
    finally:
        after.stop()

    received = before + after.recipients()
    assert duplicates(received) == {}
    counts = ledger_counts(campaign)
    assert set(counts) <= {"accepted", "unknown"}
    assert counts["accepted"] + counts.get("unknown", 0) == 120
    accepted = set(
        Delivery.objects.filter(campaign=campaign, status="accepted").values_list(
            "email", flat=True
        )
    )
    assert accepted <= set(received)
    assert len(received) - len(accepted) <= counts.get("unknown", 0)
    assert len(after.recipients()) > 0  # the campaign went on after the relay came back


def test_messages_whose_replies_were_dropped_stay_unknown_and_no_later_sender_resends_them(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory("-q", ".")  # the relay hangs up after the final dot, without a reply
    campaign = launched_campaign(20)
    live_ledger.run_sender(sink.url)
    assert ledger_counts(campaign) == {"unknown": 20}
    first = sorted(sink.recipients())

    healthy = sink_factory()
    out = live_ledger.run_sender(healthy.url)

    assert healthy.recipients() == []
    assert sorted(sink.recipients()) == first == sorted(f"r{i}@exemple.fr" for i in range(20))
    assert ledger_counts(campaign) == {"unknown": 20}
    assert json.loads(out.splitlines()[-1])["claimed"] == 0
