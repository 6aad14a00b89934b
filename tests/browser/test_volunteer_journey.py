"""A person signs up as tchatcheur and traceur from a phone, confirms from the mail caught by the
local SMTP server, asks to join the local team; the coordinator approves."""

from __future__ import annotations

import re

from django.core.cache import cache

from essaim.accounts.models import Membership
from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Volunteer
from essaim.army.tests.factories import make_team, seed_roles
from tests.browser.helpers import login


def test_a_person_volunteers_from_a_phone_joins_the_local_team_and_is_approved(
    phone_page, page, live_server, smtp_recorder, settings, coordinator
):
    cache.clear()
    settings.SITE_URL = live_server.url
    seed_roles()
    team = make_team("Lyon 3e", departement="69", coordinators=[coordinator])
    phone = phone_page

    phone.goto(f"{live_server.url}/je-m-engage/")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_label("Adresse e-mail").fill("louise.michel@exemple.fr")
    phone.get_by_label("Prénom").fill("Louise")
    phone.locator("#id_last_name").fill("Michel")
    phone.get_by_label("Code postal").fill("69003")
    phone.get_by_label("Tchatcheur").check()
    phone.get_by_label("Traceur").check()
    phone.get_by_label("Heures disponibles par semaine").fill("4")
    phone.get_by_label("samedi soir").check()
    phone.get_by_label("dimanche matin").check()
    phone.get_by_role("button", name="Je m'engage").click()
    phone.wait_for_url(f"{live_server.url}/je-m-engage/envoyee/")
    assert Volunteer.objects.count() == 0

    [mail] = smtp_recorder.to("louise.michel@exemple.fr")
    link = re.search(r"(http://\S+/je-m-engage/confirmer/\S+/)", mail.text)
    assert link is not None
    phone.goto(link[1])
    phone.get_by_role("button", name="Je confirme mon engagement").click()
    phone.wait_for_url(f"{live_server.url}/armee/moi/")
    assert phone.get_by_role("heading", name="Bonjour Louise").is_visible()
    roles = phone.locator(".roles-list").inner_text()
    assert "Tchatcheur · Candidat" in roles and "Traceur · Candidat" in roles
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    phone.goto(f"{live_server.url}/armee/equipes/")
    phone.get_by_role("button", name="Rejoindre Lyon 3e").click()
    assert phone.get_by_text("Demande envoyée aux coordinateurs de l'équipe.").is_visible()
    assert "Lyon 3e · Demande en attente" in phone.locator(".teams-list").first.inner_text()

    login(page, live_server.url, coordinator.email, PASSWORD)
    page.goto(f"{live_server.url}/armee/equipes/{team.pk}/")
    row = page.locator("tr", has_text="Louise")
    assert "samedi soir" in row.inner_text()
    row.get_by_role("button", name="Accepter").click()
    assert page.get_by_text("Décision enregistrée.").is_visible()

    phone.goto(f"{live_server.url}/armee/moi/")
    assert "Lyon 3e · Membre" in phone.locator(".teams-list").inner_text()
    membership = Membership.objects.get(team=team, user__email="louise.michel@exemple.fr")
    assert (membership.state, membership.decided_by) == ("member", coordinator)
