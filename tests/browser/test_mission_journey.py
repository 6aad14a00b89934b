"""A volunteer on a phone receives a mission, claims it, proves it with a URL and a screenshot;
the team's coordinator returns it with feedback, the volunteer fixes it, the coordinator
accepts, and the points show on the team's leaderboard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from essaim.accounts.models import Membership
from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Stage, VolunteerRole
from essaim.army.tests.factories import make_team, make_volunteer
from essaim.army.tests.mission_helpers import make_mission
from tests.browser.helpers import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def screenshot_file(tmp_path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (10, 120, 200)).save(out, format="PNG")
    path = tmp_path / "capture.png"
    path.write_bytes(out.getvalue())
    return path


def test_mission_from_phone_to_accepted_proof_and_leaderboard(
    phone_page: Any, page: Any, live_server: Any, coordinator: Any, tmp_path: Path
):
    # The live server's transactional database was flushed by earlier tests, seeded roles too.
    VolunteerRole.objects.get_or_create(slug="tchatcheur", defaults={"name": "Tchatcheur"})
    team = make_team("Équipe Paris 11", coordinators=[coordinator])
    volunteer = make_volunteer(
        "ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana", password=PASSWORD
    )
    Membership.objects.create(team=team, user=volunteer.user, state=Membership.State.MEMBER)
    make_mission(team=team, title="Répondre sur le forum du quartier", points=20)
    base = live_server.url

    phone = phone_page
    login(phone, base, "ana@exemple.fr", PASSWORD)
    phone.goto(f"{base}/armee/missions/")
    assert phone.get_by_test_id("unread").inner_text() == "1 nouvelle"
    assert phone.get_by_role("note").inner_text().startswith("Agissez sous votre propre nom")
    phone.get_by_role("button", name="Je la prends").click()
    phone.wait_for_url(f"{base}/armee/missions/*/")
    phone.get_by_label("Adresses (une par ligne)").fill("https://forum.exemple.fr/t/1")
    phone.get_by_label("Capture d'écran").set_input_files(str(screenshot_file(tmp_path)))
    phone.get_by_role("button", name="Envoyer la preuve").click()
    phone.wait_for_url(f"{base}/armee/missions/")
    assert "Preuve envoyée" in phone.locator("#my-claims").inner_text()

    login(page, base, coordinator.email, PASSWORD)
    page.goto(f"{base}/armee/relecture/")
    assert page.get_by_role("link", name="Voir la capture").is_visible()
    page.get_by_label("Retour au volontaire").fill("Le lien mène à l'accueil du forum.")
    page.get_by_role("button", name="Renvoyer").click()
    page.wait_for_url(f"{base}/armee/relecture/")
    assert "Aucune preuve n'attend de relecture." in page.locator("#queue").inner_text()

    phone.goto(f"{base}/armee/missions/")
    phone.get_by_role("link", name="Répondre sur le forum du quartier").click()
    assert "Le lien mène à l'accueil du forum." in phone.get_by_test_id("feedback").inner_text()
    phone.get_by_label("Adresses (une par ligne)").fill("https://forum.exemple.fr/t/1#post-7")
    phone.get_by_role("button", name="Envoyer la preuve").click()
    phone.wait_for_url(f"{base}/armee/missions/")

    page.goto(f"{base}/armee/relecture/")
    page.get_by_role("button", name="Accepter").click()
    page.wait_for_url(f"{base}/armee/relecture/")
    page.goto(f"{base}/armee/missions/classement/?team={team.pk}&period=week")
    assert page.locator("#leaderboard tbody tr").first.inner_text().split("\t") == [
        "1",
        "Ana",
        "20",
        "1",
    ]

    phone.goto(f"{base}/armee/missions/")
    assert "Acceptée" in phone.locator("#my-claims").inner_text()
    assert "20 points" in phone.locator("#my-claims").inner_text()
