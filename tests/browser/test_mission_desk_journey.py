"""A team's coordinator, on a desktop and on a phone, duplicates a published mission, edits the
copy, reads on its confirmation page (the way without script) how many volunteers it will
reach, then publishes it through the dialog; axe-core checks each page, the dialog open."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from essaim.accounts.models import Notification
from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Mission, Stage
from essaim.army.services import notifications as notices
from essaim.army.tests.factories import MissionFactory, TeamFactory, VolunteerFactory, seed_roles
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.mark.parametrize("viewport", ["page", "phone_page"])
def test_a_coordinator_duplicates_edits_and_publishes_a_mission_through_the_dialog(
    request: pytest.FixtureRequest, live_server: Any, coordinator: Any, viewport: str
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    seed_roles()  # the live server's database was flushed of the migrations' rows
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    for _ in range(3):
        VolunteerFactory.create(roles={"tchatcheur": Stage.ACTIVE}, teams=[team])
    source = MissionFactory.create(by=coordinator, team=team, title="Relayer le discours de Lille")
    page = request.getfixturevalue(viewport)
    base = live_server.url
    found: list[str] = []

    login(page, base, coordinator.email, PASSWORD)
    page.goto(f"{base}/armee/missions/gerer/")
    found += violations(page)
    page.get_by_role("button", name="Dupliquer « Relayer le discours de Lille »").click()
    page.wait_for_url(f"{base}/armee/missions/gerer/*/modifier/")
    copy = Mission.objects.exclude(pk=source.pk).get()
    assert page.get_by_label("Titre").input_value() == "Copie de Relayer le discours de Lille"
    found += violations(page)

    page.get_by_label("Titre").fill("Relayer le discours de Rennes")
    page.get_by_label("Nombre de réalisations").fill("8")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    page.wait_for_url(f"{base}/armee/missions/gerer/")
    assert (
        "Brouillon « Relayer le discours de Rennes » enregistré."
        in page.locator(".messages").inner_text()
    )

    # Without script the link leads to the confirmation's own page, which says the same.
    page.goto(f"{base}/armee/missions/gerer/{copy.pk}/publier/")
    assert page.get_by_role("heading", level=2).inner_text() == (
        "Publier et prévenir 3 volontaires ?"
    )
    found += violations(page)
    page.get_by_role("link", name="Annuler").click()
    page.wait_for_url(f"{base}/armee/missions/gerer/")

    # With script the same link opens the dialog, focus on "Annuler"; Annuler publishes nothing.
    publish = page.get_by_role("link", name="Publier « Relayer le discours de Rennes »")
    publish.click()
    dialog = page.get_by_role("dialog", name="Publier et prévenir 3 volontaires ?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("link", name="Annuler")).to_be_focused()
    found += violations(page)
    dialog.get_by_role("link", name="Annuler").click()
    expect(dialog).to_be_hidden()
    assert page.url == f"{base}/armee/missions/gerer/"
    assert Mission.objects.get(pk=copy.pk).status == Mission.Status.DRAFT

    publish.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Publier").click()
    page.wait_for_url(f"{base}/armee/missions/gerer/")
    assert "Mission publiée : 3 volontaires prévenus." in page.locator(".messages").inner_text()
    copy.refresh_from_db()
    assert (copy.title, copy.quota, copy.status) == (
        "Relayer le discours de Rennes",
        8,
        "published",
    )
    assert Notification.objects.filter(kind=notices.MISSION_OFFERED, object_id=copy.pk).count() == 3
    assert found == []
