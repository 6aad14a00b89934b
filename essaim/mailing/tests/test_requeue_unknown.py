"""Operator re-queue of `unknown` deliveries: listed with why on the campaign page, re-queued by
HQ only, after an explicit confirmation, logged with who and how many; the same in the API and
`essaim campaign requeue-unknown`; a re-queued row is then sent once by a real sender."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.api.testing import api_for
from essaim.mailing.models import BlackoutWindow, Campaign, Delivery
from essaim.mailing.services.audience import freeze_audience
from essaim.mailing.tests.factories import BlackoutWindowFactory, CampaignFactory, make_audience
from essaim.mailing.tests.support import LiveLedger, ScriptedServer, ledger_counts
from essaim.people.models import Contact

AFTER_DOT = "connection lost after the final dot"
LEASE = "lease expired: the sender stopped"


def finished_with_unknowns() -> Campaign:
    """r0, r1: lost after the final dot; r2: a dead sender's lease; r3: accepted; r4: unknown
    but erased (no address left)."""
    campaign = CampaignFactory.create(status=Campaign.Status.DONE, finished_at=timezone.now())
    freeze_audience(campaign, Contact.objects.filter(pk__in=[c.pk for c in make_audience(5)]))
    rows = Delivery.objects.filter(campaign=campaign)
    rows.update(status=Delivery.Status.UNKNOWN, smtp_reply=AFTER_DOT, attempts=1)
    rows.filter(email="r2@exemple.fr").update(smtp_reply=LEASE)
    rows.filter(email="r3@exemple.fr").update(status=Delivery.Status.ACCEPTED, smtp_reply="250")
    rows.filter(email="r4@exemple.fr").update(email="", contact=None)
    return campaign


def row(campaign: Campaign, n: int) -> Delivery:
    return Delivery.objects.get(campaign=campaign, email_hash__in=_hash(n))


def _hash(n: int) -> list[str]:
    return list(
        Contact.objects.filter(email=f"r{n}@exemple.fr").values_list("email_hash", flat=True)
    )


def snapshot(campaign: Campaign) -> list[Any]:
    rows = Delivery.objects.filter(campaign=campaign).order_by("pk")
    campaign.refresh_from_db()
    return [
        campaign.status,
        *rows.values_list("status", "smtp_reply", "next_attempt_at"),
        AuditEvent.objects.count(),
    ]


def url(campaign: Campaign) -> str:
    return f"/campagnes/{campaign.pk}/inconnus/remise-en-file/"


@pytest.mark.django_db
def test_the_campaign_page_lists_the_unknowns_with_why(hq_client: Client) -> None:
    campaign = finished_with_unknowns()
    html = hq_client.get(f"/campagnes/{campaign.pk}/").content.decode()
    assert "3 messages peuvent être partis ou non." in html
    assert (
        "Connexion perdue après le point final : le relais a peut-être accepté le message. — "
        "<strong>2</strong>"
    ) in html
    assert "L&#x27;expéditeur s&#x27;est arrêté en tenant cet envoi (bail expiré)" in html
    for n in (0, 1, 2):
        assert f'<label for="unknown-{row(campaign, n).pk}">r{n}@exemple.fr</label>' in html
    assert "r3@exemple.fr" not in html
    assert html.count('name="ids"') == 3
    assert 'name="confirm" value="1" id="requeue-confirm" required' in html


@pytest.mark.django_db
def test_hq_requeues_chosen_unknowns_after_confirming_and_it_is_logged(
    hq_client: Client, hq: Any
) -> None:
    campaign = finished_with_unknowns()
    chosen = [row(campaign, 0).pk, row(campaign, 2).pk]

    response = hq_client.post(url(campaign), {"ids": chosen, "confirm": "1"}, follow=True)

    assert response.redirect_chain == [(f"/campagnes/{campaign.pk}/", 302)]
    assert "2 envois remis en file d&#x27;attente." in response.content.decode()
    statuses = dict(Delivery.objects.filter(campaign=campaign).values_list("pk", "status"))
    assert [statuses[row(campaign, n).pk] for n in (0, 1, 2, 3)] == [
        "deferred",
        "unknown",
        "deferred",
        "accepted",
    ]
    requeued = row(campaign, 0)
    assert requeued.smtp_reply == f"requeued after: {AFTER_DOT}"
    assert requeued.next_attempt_at is not None
    assert requeued.next_attempt_at <= timezone.now()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.finished_at) == ("sending", None)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.object_id, event.details) == (
        "campaign.requeue_unknown",
        hq,
        str(campaign.pk),
        {"requeued": 2, "selection": "chosen"},
    )


@pytest.mark.django_db
def test_hq_requeues_all_unknowns_but_never_an_erased_one(hq_client: Client) -> None:
    campaign = finished_with_unknowns()

    response = hq_client.post(url(campaign), {"all": "1", "confirm": "1"})

    assert response.status_code == 302
    assert ledger_counts(campaign) == {"deferred": 3, "accepted": 1, "unknown": 1}
    assert Delivery.objects.get(campaign=campaign, email="").status == "unknown"
    assert AuditEvent.objects.get().details == {"requeued": 3, "selection": "all"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"all": "1"}, "Confirmez avoir vérifié que ces messages ne sont pas partis"),
        ({"confirm": "1"}, "Choisissez au moins un envoi."),
        ({"ids": ["²"], "confirm": "1"}, "Sélection invalide."),
    ],
)
def test_without_confirmation_or_choice_nothing_is_requeued(
    hq_client: Client, data: dict[str, Any], message: str
) -> None:
    campaign = finished_with_unknowns()
    before = snapshot(campaign)

    response = hq_client.post(url(campaign), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot(campaign) == before


@pytest.mark.django_db
def test_coordinators_and_volunteers_cannot_requeue_and_nothing_changes(
    coordinator_client: Client, volunteer_client: Client, coordinator: Any
) -> None:
    campaign = finished_with_unknowns()
    before = snapshot(campaign)
    for client in (coordinator_client, volunteer_client, Client()):
        response = client.post(url(campaign), {"all": "1", "confirm": "1"})
        assert response.status_code in (302, 403)
    assert coordinator_client.post(url(campaign), {"all": "1", "confirm": "1"}).status_code == 403
    assert snapshot(campaign) == before


@pytest.mark.django_db
def test_a_cancelled_campaign_or_a_blackout_refuses_the_requeue(hq_client: Client) -> None:
    campaign = finished_with_unknowns()
    BlackoutWindowFactory.create()
    before = snapshot(campaign)
    response = hq_client.post(url(campaign), {"all": "1", "confirm": "1"})
    assert response.status_code == 400
    assert "Envoi interdit en ce moment (silence électorale)." in response.content.decode()
    assert snapshot(campaign) == before
    BlackoutWindow.objects.all().delete()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.CANCELLED)
    before = snapshot(campaign)
    response = hq_client.post(url(campaign), {"all": "1", "confirm": "1"})
    assert response.status_code == 400
    assert "Impossible dans l&#x27;état actuel de la campagne." in response.content.decode()
    assert snapshot(campaign) == before


# --- API --------------------------------------------------------------------------------------


@pytest.fixture
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.mark.django_db
def test_the_api_lists_unknowns_and_requeues_them_with_confirmation(
    hq: Any, fresh_rate_limits: None
) -> None:
    campaign = finished_with_unknowns()
    api = api_for(hq)
    listed = api.get(f"/api/v1/campaigns/{campaign.pk}/unknown").json()
    assert (listed["total"], listed["by_reason"]) == (3, {"after_dot": 2, "lease": 1, "other": 0})
    assert [(r["email"], r["reason"]) for r in listed["rows"]] == [
        ("r0@exemple.fr", "after_dot"),
        ("r1@exemple.fr", "after_dot"),
        ("r2@exemple.fr", "lease"),
    ]
    before = snapshot(campaign)
    refused = api.post(f"/api/v1/campaigns/{campaign.pk}/requeue-unknown", {"all": True})
    assert refused.status_code == 422
    both = api.post(
        f"/api/v1/campaigns/{campaign.pk}/requeue-unknown",
        {"all": True, "ids": [1], "confirm": True},
    )
    assert both.status_code == 422
    assert snapshot(campaign) == before

    done = api.post(
        f"/api/v1/campaigns/{campaign.pk}/requeue-unknown",
        {"ids": [listed["rows"][1]["id"]], "confirm": True},
    )

    assert (done.status_code, done.json()["requeued"], done.json()["status"]) == (
        200,
        1,
        "sending",
    )
    assert done.json()["counts"]["deferred"] == 1
    event = AuditEvent.objects.get(action="campaign.requeue_unknown")
    assert (event.actor, event.details["requeued"]) == (hq, 1)


@pytest.mark.django_db
def test_a_coordinator_token_cannot_requeue_and_nothing_changes(
    coordinator: Any, fresh_rate_limits: None
) -> None:
    campaign = finished_with_unknowns()
    api = api_for(coordinator)
    before = snapshot(campaign)
    response = api.post(
        f"/api/v1/campaigns/{campaign.pk}/requeue-unknown", {"all": True, "confirm": True}
    )
    assert response.status_code == 403
    assert snapshot(campaign) == before


# --- Command line -----------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("campaign", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_the_command_requeues_as_an_hq_user_with_yes(hq: Any) -> None:
    campaign = finished_with_unknowns()
    ids = f"{row(campaign, 1).pk},{row(campaign, 2).pk}"

    out = json.loads(
        run("requeue-unknown", str(campaign.pk), "--as", hq.email, "--ids", ids, "--yes")
    )

    assert (out["requeued"], out["status"], out["counts"]["deferred"]) == (2, "sending", 2)
    assert AuditEvent.objects.get().actor == hq


@pytest.mark.django_db
def test_the_command_refuses_without_confirmation_or_as_a_volunteer(
    volunteer: Any, hq: Any
) -> None:
    campaign = finished_with_unknowns()
    before = snapshot(campaign)
    with pytest.raises(CommandError, match="Confirm with --yes"):
        run("requeue-unknown", str(campaign.pk), "--as", hq.email, "--all")
    with pytest.raises(CommandError, match="Seul un membre du QG"):
        run("requeue-unknown", str(campaign.pk), "--as", volunteer.email, "--all", "--yes")
    assert snapshot(campaign) == before


# --- End to end: a real sender sends the re-queued rows, once ----------------------------------


def test_a_requeued_delivery_is_sent_once_by_the_sender(
    live_ledger: LiveLedger, scripted_server: ScriptedServer, hq: Any
) -> None:
    campaign = finished_with_unknowns()
    client = Client()
    client.force_login(hq)
    ids = [row(campaign, 0).pk, row(campaign, 2).pk]
    assert client.post(url(campaign), {"ids": ids, "confirm": "1"}).status_code == 302

    live_ledger.run_sender(scripted_server.url)

    assert sorted(scripted_server.addresses()) == ["r0@exemple.fr", "r2@exemple.fr"]
    assert ledger_counts(campaign) == {"accepted": 3, "unknown": 2}
    assert row(campaign, 0).attempts == 2
    campaign.refresh_from_db()
    assert campaign.status == "done"
