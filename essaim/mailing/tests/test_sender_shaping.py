"""Blackout windows and rate shaping, with a real `essaim sender` and real SMTP servers."""

from __future__ import annotations

import datetime as dt
import gc
import json
import signal
import time
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from essaim.mailing.management.commands.sender import _quiet_collector
from essaim.mailing.models import BlackoutWindow, Campaign, Delivery
from essaim.mailing.services.campaigns import launch_campaign
from essaim.mailing.tests.factories import (
    BlackoutWindowFactory,
    CampaignFactory,
    launched_campaign,
    make_audience,
)
from essaim.mailing.tests.support import (
    LiveLedger,
    ScriptedServer,
    duplicates,
    ledger_counts,
    wait_until,
)
from essaim.people.models import Contact

pytestmark = pytest.mark.django_db(transaction=True)


def close(window: BlackoutWindow) -> None:
    BlackoutWindow.objects.filter(pk=window.pk).update(
        ends_at=timezone.now() - dt.timedelta(seconds=1)
    )


def paris_and_lyon(paris: int, lyon: int) -> Campaign:
    """A campaign launched to `paris` contacts of the 75 (Île-de-France) and `lyon` of the 69."""
    make_audience(paris, prefix="paris")
    make_audience(lyon, prefix="lyon")
    Contact.objects.filter(email__startswith="paris").update(departement="75", region="11")
    Contact.objects.filter(email__startswith="lyon").update(departement="69", region="84")
    campaign = CampaignFactory.create()
    launch_campaign(campaign, Contact.objects.all())
    return campaign


def statuses_of(campaign: Campaign, departement: str) -> set[str]:
    return set(
        Delivery.objects.filter(campaign=campaign, departement=departement).values_list(
            "status", flat=True
        )
    )


def test_a_zone_blackout_holds_its_departement_back_until_the_window_ends(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory()
    campaign = paris_and_lyon(40, 60)
    window = BlackoutWindowFactory.create(departements=["75"])

    proc = live_ledger.sender(sink.url, "--once")
    wait_until(lambda: statuses_of(campaign, "69") == {"accepted"})
    time.sleep(1.0)  # a few more claim rounds: the 75 stay out of every one

    assert statuses_of(campaign, "75") == {"pending"}
    assert [a for a in sink.recipients() if a.startswith("paris")] == []
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING

    close(window)
    assert proc.wait(60) == 0

    received = sink.recipients()
    assert duplicates(received) == {}
    assert len(received) == 100
    assert ledger_counts(campaign) == {"accepted": 100}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DONE


def test_a_region_blackout_holds_back_the_departements_of_that_region(
    live_ledger: LiveLedger, sink_factory: Any
) -> None:
    sink = sink_factory()
    campaign = paris_and_lyon(10, 10)
    window = BlackoutWindowFactory.create(regions=["11"])  # Île-de-France

    proc = live_ledger.sender(sink.url, "--once")
    wait_until(lambda: statuses_of(campaign, "69") == {"accepted"})
    time.sleep(1.0)
    assert statuses_of(campaign, "75") == {"pending"}

    close(window)
    assert proc.wait(60) == 0
    assert sorted(sink.recipients()) == sorted(
        [f"paris{i}@exemple.fr" for i in range(10)] + [f"lyon{i}@exemple.fr" for i in range(10)]
    )


def test_a_national_blackout_stops_the_sending_within_a_second_and_it_resumes_after(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    scripted_server.delay = 0.02
    campaign = launched_campaign(200)
    proc = live_ledger.sender(scripted_server.url, "--connections", "2")
    wait_until(lambda: len(scripted_server.received) >= 20)

    window = BlackoutWindowFactory.create()
    opened_at = time.monotonic()
    time.sleep(2.0)

    assert [t for t, _, _ in scripted_server.received if t > opened_at + 1.0] == []
    sent = len(scripted_server.received)
    assert sent < 200
    wait_until(lambda: "claimed" not in ledger_counts(campaign))
    assert ledger_counts(campaign) == {"accepted": sent, "pending": 200 - sent}
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENDING  # not paused: it goes on by itself

    close(window)
    wait_until(lambda: ledger_counts(campaign) == {"accepted": 200}, timeout=60)
    assert duplicates(scripted_server.addresses()) == {}
    assert len(scripted_server.addresses()) == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 0


def test_a_421_from_one_provider_slows_that_group_down_and_leaves_the_others_alone(
    live_ledger: LiveLedger, scripted_server: ScriptedServer
) -> None:
    make_audience(30, prefix="g", domain="gmail.com")
    make_audience(30, prefix="o", domain="exemple.fr")
    campaign = CampaignFactory.create()
    launch_campaign(campaign, Contact.objects.all())
    throttled = [f"g{i}@gmail.com" for i in range(0, 30, 6)]
    for address in throttled:
        scripted_server.rcpt_replies[address] = ["421 4.7.0 too many messages, slow down"]

    out = live_ledger.run_sender(
        scripted_server.url,
        "--retry-base",
        "0.3",
        "--group-rates",
        "gmail=40",
        BULK_SMTP_RATE_RECOVERY="0.01",
    )

    received = scripted_server.addresses()
    assert duplicates(received) == {}
    assert sorted(received) == sorted(
        [f"g{i}@gmail.com" for i in range(30)] + [f"o{i}@exemple.fr" for i in range(30)]
    )
    assert ledger_counts(campaign) == {"accepted": 60}
    retried = Delivery.objects.filter(campaign=campaign, attempts=2)
    assert sorted(retried.values_list("email", flat=True)) == sorted(throttled)
    assert set(retried.values_list("provider", flat=True)) == {"gmail"}
    groups = json.loads(out.splitlines()[-1])["groups"]
    assert groups["gmail"]["deferrals"] == 5
    assert groups["gmail"]["halvings"] >= 1
    assert groups["gmail"]["rate"] < 40.0
    assert groups["other"] == {"rate": None, "sent": 30, "deferrals": 0, "halvings": 0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--group-rates", "hotmail=3"], "'hotmail': unknown provider group"),
        (["--group-connections", "gmail=two"], "'gmail=two': 'two' is not a number"),
        (["--rate", "-1"], "rates must be positive"),
    ],
)
def test_bad_shaping_settings_stop_the_sender_with_a_clear_error(
    args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("sender", "--once", *args)


def test_the_sender_quiets_the_garbage_collector_only_while_it_runs() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), _quiet_collector():
        assert gc.get_threshold()[0] == 100_000
        assert gc.get_freeze_count() > 0  # what the start made is out of full collections
        raise RuntimeError("the sender stopped")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
