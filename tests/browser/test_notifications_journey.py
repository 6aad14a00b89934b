"""A volunteer on a phone sees how many notifications wait on the bell, opens the list, follows
one to its mission, and the count drops; the list passes axe and fits the screen."""

from __future__ import annotations

from typing import Any

import pytest

from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Stage, VolunteerRole
from essaim.army.tests.factories import make_volunteer
from essaim.army.tests.mission_helpers import make_mission
from tests.browser.helpers import login
from tests.browser.test_accessibility import AXE, violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_volunteer_follows_a_notification_from_the_bell_and_the_count_drops(
    phone_page: Any, live_server: Any
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make setup` (npm ci)")
    # The live server's transactional database was flushed by earlier tests, seeded roles too.
    VolunteerRole.objects.get_or_create(slug="tchatcheur", defaults={"name": "Tchatcheur"})
    make_volunteer(
        "ana@exemple.fr", roles={"tchatcheur": Stage.ACTIVE}, first_name="Ana", password=PASSWORD
    )
    mission = make_mission(title="Répondre sur le forum du quartier")
    make_mission(title="Relayer le discours de Lille")
    base, phone = live_server.url, phone_page

    login(phone, base, "ana@exemple.fr", PASSWORD)
    bell = phone.get_by_role("link", name="2 notifications non lues")
    assert bell.is_visible()
    assert phone.get_by_test_id("bell").inner_text() == "2"
    bell.click()
    phone.wait_for_url(f"{base}/comptes/notifications/")
    assert phone.locator("#unread-summary").inner_text() == "2 notifications non lues"
    assert violations(phone) == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390

    phone.get_by_role("link", name="Nouvelle mission : Répondre sur le forum du quartier").click()
    phone.wait_for_url(f"{base}/armee/missions/{mission.pk}/")
    assert phone.get_by_role("link", name="1 notification non lue").is_visible()
    assert phone.get_by_test_id("bell").inner_text() == "1"

    # Back on the list, the other one is marked read from its button: nothing left.
    phone.get_by_test_id("bell").click()
    phone.get_by_role(
        "button", name="Marquer comme lue : Nouvelle mission : Relayer le discours de Lille"
    ).click()
    phone.wait_for_url(f"{base}/comptes/notifications/")
    assert phone.get_by_role("link", name="Notifications : aucune non lue").is_visible()
    assert phone.get_by_test_id("bell").inner_text() == ""
    assert violations(phone) == []
