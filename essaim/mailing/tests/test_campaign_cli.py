"""`essaim campaign …`: create prints the id, status prints JSON; refusals exit, change nothing."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from essaim.mailing.models import Campaign, Delivery
from essaim.people.models import Segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("campaign", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def body(tmp_path: Path) -> Path:
    path = tmp_path / "appel.md"
    path.write_text('Bonjour {{ first_name|default:"ami·e" }},\n\n**Votez !**\n', encoding="utf-8")
    return path


def test_create_prints_the_id_of_a_draft_to_a_segment(body: Path) -> None:
    make_contact("p@exemple.fr", departement="75")
    segment = Segment.objects.create(name="Paris", definition={"departements": ["75"]})

    out = run("create", "--segment", "Paris", "--subject", "Votez", "--body-file", str(body))

    campaign = Campaign.objects.get()
    assert out == f"{campaign.pk}\n"
    assert (campaign.status, campaign.segment, campaign.audience_all) == ("draft", segment, False)
    assert campaign.from_email == "equipe@essaim.localhost"
    assert "<strong>Votez !</strong>" in campaign.html_template


def test_launch_then_status_print_json_counts_per_state(body: Path) -> None:
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    pk = run("create", "--segment", "all", "--subject", "Votez", "--body-file", str(body)).strip()

    launched = json.loads(run("launch", pk))
    status = json.loads(run("status", pk))

    assert launched["audience"] == 2
    assert status == {
        "id": int(pk),
        "name": "Votez",
        "status": "sending",
        "audience": 2,
        "counts": dict.fromkeys(Delivery.Status.values, 0) | {"pending": 2},
    }


def test_pause_resume_cancel_print_the_new_status(body: Path) -> None:
    make_contact("a@exemple.fr")
    pk = run("create", "--segment", "all", "--subject", "Votez", "--body-file", str(body)).strip()
    run("launch", pk)

    assert json.loads(run("pause", pk))["status"] == "paused"
    assert json.loads(run("resume", pk))["status"] == "sending"
    cancelled = json.loads(run("cancel", pk))
    assert (cancelled["status"], cancelled["counts"]["cancelled"]) == ("cancelled", 1)


def test_launch_above_threshold_needs_approve_as_another_hq_user(
    body: Path, settings: Any, hq: Any, volunteer: Any
) -> None:
    settings.MAILING_APPROVAL_THRESHOLD = 1
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    pk = run("create", "--segment", "all", "--subject", "Votez", "--body-file", str(body)).strip()

    with pytest.raises(CommandError, match="approval_required"):
        run("launch", pk)
    with pytest.raises(CommandError, match="approval_refused"):
        run("launch", pk, "--approve-as", volunteer.email)
    assert Delivery.objects.count() == 0

    assert json.loads(run("launch", pk, "--approve-as", hq.email))["audience"] == 2


def test_unknown_segment_or_identity_is_an_error(body: Path) -> None:
    with pytest.raises(CommandError, match="No single segment"):
        run("create", "--segment", "Nulle part", "--subject", "x", "--body-file", str(body))
    with pytest.raises(CommandError, match="invalid"):
        run(
            "create", "--segment", "all", "--subject", "x", "--body-file", str(body),
            "--from", "pirate@ailleurs.test",
        )  # fmt: skip
    assert Campaign.objects.count() == 0
