"""Claims of runs of fresh rows (DeliveryClaim): one write per message, guarded outcomes."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from essaim.mailing.models import Campaign, Delivery, DeliveryClaim
from essaim.mailing.sender import ledger
from essaim.mailing.services.campaigns import cancel_campaign, launch_campaign
from essaim.mailing.services.progress import provider_counts
from essaim.mailing.tests.factories import CampaignFactory, launched_campaign
from essaim.mailing.tests.support import ledger_counts
from essaim.people.models import Contact, Suppression
from essaim.people.services.suppression import suppress

pytestmark = pytest.mark.django_db(transaction=True)  # claims commit by themselves
D = Delivery.Status


def take(sender: str, campaign: Campaign, limit: int, **options: object) -> list[ledger.Claimed]:
    rows, stopped = ledger.claim(
        sender_id=sender,
        campaign_id=campaign.pk,
        purpose=campaign.purpose,
        limit=limit,
        lease_seconds=60,
        **options,  # type: ignore[arg-type]
    )
    assert stopped == []
    return rows


def accepted(rows: list[ledger.Claimed]) -> list[ledger.Settlement]:
    return [ledger.Settlement(row, D.ACCEPTED, 250, "2.0.0 Ok") for row in rows]


def test_a_claim_holds_the_next_run_without_writing_its_rows() -> None:
    campaign = launched_campaign(10)
    before = list(Delivery.objects.order_by("pk").values_list("pk", "status", "last_change_at"))

    first = take("a", campaign, 4)
    second = take("b", campaign, 4)

    ids = [pk for pk, _, _ in before]
    assert [r.id for r in first] == ids[:4]
    assert [r.id for r in second] == ids[4:8]
    claims = dict(DeliveryClaim.objects.values_list("sender_id", "pk"))
    assert {(r.claim, r.attempts) for r in first} == {(claims["a"], 1)}
    assert {(r.claim, r.attempts) for r in second} == {(claims["b"], 1)}
    assert list(Delivery.objects.order_by("pk").values_list("pk", "status", "last_change_at")) == (
        before
    )
    assert ledger_counts(campaign) == {"claimed": 8, "pending": 2}
    by_provider = {
        p: {k: n for k, n in row.items() if n} for p, row in provider_counts(campaign).items()
    }
    assert by_provider == {"other": {"claimed": 8, "pending": 2}}
    runs = DeliveryClaim.objects.order_by("pk").values_list("sender_id", "first_id", "last_id")
    assert list(runs) == [("a", ids[0], ids[3]), ("b", ids[3] + 1, ids[7])]


def test_an_outcome_is_written_once_by_its_holder_and_ends_its_claim() -> None:
    campaign = launched_campaign(3)
    rows = take("a", campaign, 10)

    # Another sender cannot settle rows it does not hold.
    assert ledger.settle("b", accepted(rows)) == 0
    assert ledger.settle("a", accepted(rows[:1])) == 1
    assert ledger.settle("a", accepted(rows[1:]), ended=[rows[0].claim]) == 2

    assert ledger_counts(campaign) == {"accepted": 3}
    row = Delivery.objects.get(pk=rows[0].id)
    assert (row.smtp_code, row.attempts, row.next_attempt_at) == (250, 1, None)
    assert DeliveryClaim.objects.get().ended_at is not None
    assert ledger.settle("a", accepted(rows)) == 0  # a row settled is settled
    assert ledger.finish_campaigns() == [campaign.pk]


def test_a_campaign_is_done_when_no_row_is_left_after_its_cursor_nor_held_nor_back() -> None:
    campaign = launched_campaign(3)
    rows = take("a", campaign, 2)
    assert ledger.finish_campaigns() == []  # a live claim
    ledger.settle("a", accepted(rows), ended=[rows[0].claim])
    assert ledger.finish_campaigns() == []  # a row after the cursor

    ledger.settle("a", accepted(take("a", campaign, 2)))

    assert ledger.finish_campaigns() == []  # that claim was not ended
    DeliveryClaim.objects.update(ended_at=timezone.now())
    assert ledger.finish_campaigns() == [campaign.pk]


def test_a_dead_senders_claim_becomes_unknown_and_its_late_outcomes_change_nothing() -> None:
    campaign = launched_campaign(4)
    rows = take("a", campaign, 3)
    ledger.settle("a", accepted(rows[:1]))
    DeliveryClaim.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))

    assert ledger.expire_leases() == 2

    assert ledger_counts(campaign) == {"accepted": 1, "unknown": 2, "pending": 1}
    assert DeliveryClaim.objects.get().expired
    assert ledger.settle("a", accepted(rows[1:])) == 0
    # The janitor never hands those rows out again: the next claim takes the fourth only.
    assert [r.id for r in take("b", campaign, 10)] == [rows[-1].id + 1]


def test_a_heartbeat_keeps_a_live_claim_and_a_claimed_row() -> None:
    campaign = launched_campaign(3)
    rows = take("a", campaign, 2)
    ledger.settle("a", [ledger.Settlement(rows[0], D.PENDING, None, "", timezone.now())])
    again = take("a", campaign, 1)  # the row that came back, claimed by writing `claimed`
    assert ([r.id for r in again], again[0].claim, again[0].attempts) == ([rows[0].id], 0, 2)
    past = timezone.now() - dt.timedelta(seconds=1)
    DeliveryClaim.objects.update(lease_until=past)
    Delivery.objects.filter(status=D.CLAIMED).update(lease_until=past)

    assert ledger.heartbeat("a", 60) == 2

    assert ledger.expire_leases() == 0
    assert ledger_counts(campaign) == {"claimed": 2, "pending": 1}


@pytest.mark.parametrize("newline", [False, True])
def test_a_mixed_flush_writes_each_outcome_with_its_own_reply(newline: bool) -> None:
    # On PostgreSQL plain acceptances travel as arrays and the rest as JSON (ledger._OUTCOMES_PG);
    # a reply holding a newline would shift the replies' array: the whole batch goes as JSON.
    campaign = launched_campaign(5)
    rows = take("a", campaign, 5)
    later = timezone.now() + dt.timedelta(hours=1)
    odd = "250 2.0.0 Ok, \"queued\" {as} 'x\\y' | é" + ("\nsecond line" if newline else "")
    outcomes = [
        ledger.Settlement(rows[0], D.ACCEPTED, 250, "250 2.0.0 Ok: queued as A1"),
        ledger.Settlement(rows[1], D.REJECTED, 550, "550 5.1.1 no such user"),
        ledger.Settlement(rows[2], D.ACCEPTED, 250, odd),
        ledger.Settlement(rows[3], D.DEFERRED, 451, "451 4.7.1 later", later),
        ledger.Settlement(rows[4], D.ACCEPTED, 251, "251 2.1.5 forwarded"),
    ]
    as_arrays = ledger._settle_params("a", outcomes, [], pg=True)["ids"]
    assert as_arrays == ("{}" if newline else f"{{{rows[0].id},{rows[2].id}}}")
    ledger.settle("a", outcomes, ended=[rows[0].claim])
    written = Delivery.objects.order_by("pk").values_list(
        "status", "smtp_code", "smtp_reply", "attempts", "next_attempt_at", "lease_until"
    )
    assert list(written) == [
        (D.ACCEPTED, 250, "250 2.0.0 Ok: queued as A1", 1, None, None),
        (D.REJECTED, 550, "550 5.1.1 no such user", 1, None, None),
        (D.ACCEPTED, 250, odd, 1, None, None),
        (D.DEFERRED, 451, "451 4.7.1 later", 1, later, None),
        (D.ACCEPTED, 251, "251 2.1.5 forwarded", 1, None, None),
    ]
    assert DeliveryClaim.objects.get().ended_at is not None
    # Written once: the same outcomes again change nothing.
    assert ledger.settle("a", accepted(rows)) == 0


def test_a_row_not_sent_comes_back_due_now_and_is_claimed_by_writing_claimed() -> None:
    campaign = launched_campaign(2)
    rows = take("a", campaign, 2)
    later = timezone.now() + dt.timedelta(hours=1)
    ledger.settle(
        "a",
        [
            ledger.Settlement(rows[0], D.PENDING, None, "", timezone.now()),
            ledger.Settlement(rows[1], D.DEFERRED, 451, "4.7.1 later", later),
        ],
        ended=[rows[0].claim],
    )
    assert ledger_counts(campaign) == {"pending": 1, "deferred": 1}
    assert ledger.finish_campaigns() == []  # rows that came back are still open

    again = take("b", campaign, 10)

    assert [r.id for r in again] == [rows[0].id]
    assert Delivery.objects.get(pk=rows[0].id).claimed_by == "b"
    assert ledger.settle("a", accepted(again)) == 0  # no longer a's
    assert ledger.settle("b", accepted(again)) == 1
    row = Delivery.objects.get(pk=rows[0].id)
    assert (row.status, row.attempts, row.next_attempt_at) == (D.ACCEPTED, 2, None)


def test_rows_of_a_blacked_out_departement_wait_behind_the_cursor_for_the_window_to_end() -> None:
    campaign = launched_campaign(5)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))
    Delivery.objects.filter(pk__in=ids[:3]).update(departement="75")

    # The run of the first three holds nothing to send: the claim ends at once, the cursor moves.
    assert take("a", campaign, 3, blocked=["75"]) == []
    assert [r.id for r in take("a", campaign, 3, blocked=["75"])] == ids[3:]
    assert take("a", campaign, 3, blocked=["75"]) == []

    assert sorted(r.id for r in take("a", campaign, 10)) == ids[:3]


def test_a_suppressed_address_is_handed_back_to_be_settled_not_sent() -> None:
    campaign = launched_campaign(2)
    first = Delivery.objects.order_by("pk").first()
    assert first is not None
    suppress(email_key=first.email, reason=Suppression.Reason.UNSUBSCRIBE)

    rows, stopped = ledger.claim(
        sender_id="a", campaign_id=campaign.pk, purpose=campaign.purpose, limit=5, lease_seconds=60
    )

    assert ([r.id for r in stopped], len(rows)) == ([first.pk], 1)


def test_no_claim_is_made_for_a_campaign_that_is_not_sending() -> None:
    campaign = launched_campaign(2)
    cancel_campaign(campaign)

    assert take("a", campaign, 5) == []
    assert not DeliveryClaim.objects.exists()


def test_an_outcome_is_a_hot_update_on_postgresql() -> None:
    """Status is in no index: the one write of a message adds no index entry."""
    if connection.vendor != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    campaign = launched_campaign(40)
    rows = take("a", campaign, 40)
    stats = (
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
        "WHERE relname = 'mailing_delivery'"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        assert ledger.settle("a", accepted(rows)) == 40
        cursor.execute(stats)
        assert cursor.fetchone() == (40, 40)


def test_a_claims_scan_stays_within_its_campaign_from_the_cursor_on_postgresql() -> None:
    """Whichever index the planner takes, the run's scan starts at the cursor and ends with the
    campaign: with a cursor starting at 0 and the primary key, a campaign's first claim walked
    through the rows of every older campaign."""
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan")
    campaign = launched_campaign(200)
    for _ in range(10):  # its rows come after those of 10 older campaigns, and before a newer
        campaign = CampaignFactory.create()
        launch_campaign(campaign, Contact.objects.all())
    launch_campaign(CampaignFactory.create(), Contact.objects.all())
    rows = Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)

    def scan() -> dict[str, Any]:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("ANALYZE mailing_delivery")
            cursor.execute("SET LOCAL enable_seqscan = off")  # a few rows: the point is indexes
            params = ledger._claim_params("a", campaign.pk, campaign.purpose, 10, 60, ())
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + ledger._CLAIM_SQL_PG, params)
            plan = cursor.fetchone()[0][0]["Plan"]
            transaction.set_rollback(True)
        return _node(plan, "CTE ahead")

    for claimed in (0, 190):  # its first claim, and one near its end
        if claimed:
            assert [r.id for r in take("a", campaign, claimed)] == list(rows[:claimed])
        ahead = scan()
        assert _sum(ahead, "Rows Removed by Filter") == 0
        assert ahead["Actual Rows"] == 10
    assert [r.id for r in take("a", campaign, 50)] == list(rows[190:])


def _node(plan: dict[str, Any], name: str) -> dict[str, Any]:
    """The node of an EXPLAIN (FORMAT JSON) plan whose Subplan Name is `name`."""
    if plan.get("Subplan Name") == name:
        return plan
    for child in plan.get("Plans", []):
        with contextlib.suppress(LookupError):
            return _node(child, name)
    raise LookupError(name)


def _sum(plan: dict[str, Any], key: str) -> int:
    return int(plan.get(key, 0)) + sum(_sum(child, key) for child in plan.get("Plans", []))
