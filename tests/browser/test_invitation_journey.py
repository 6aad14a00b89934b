"""A volunteer on a phone invites three contacts with a note of their own; one of them confirms
from the mail caught by the local SMTP server; the volunteer sees the confirmation credited."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache

from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Invitation, VolunteerMissionSettings
from essaim.army.tests.factories import make_inviter
from essaim.people.models import Consent
from tests.browser.helpers import login

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CONFIRM_RE = re.compile(r"(http://\S+/invitation/[^/\s]+/)\s")


def test_a_volunteer_invites_three_contacts_and_one_confirms_from_the_mail(
    phone_page: Any, page: Any, live_server: Any, smtp_recorder: Any, settings: Any
):
    cache.clear()
    settings.SITE_URL = live_server.url
    base = live_server.url
    volunteer = make_inviter("camille@exemple.fr", first_name="Camille", password=PASSWORD)
    volunteer.user.full_name = "Camille Desmoulins"
    volunteer.user.save(update_fields=["full_name"])

    phone = phone_page
    login(phone, base, "camille@exemple.fr", PASSWORD)
    phone.goto(f"{base}/armee/moi/")
    phone.get_by_role("link", name="Inviter mes contacts").click()
    phone.wait_for_url(f"{base}/armee/invitations/")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    phone.get_by_label("Adresses à inviter").fill(
        "ana@exemple.fr\nBen Martin <ben@exemple.fr>, chloe@élysée.fr"
    )
    phone.get_by_label("Un mot de votre part (facultatif)").fill("On en parlait dimanche !")
    phone.get_by_role("button", name="Envoyer les invitations").click()
    assert phone.get_by_text("3 invitations envoyées.").is_visible()
    assert phone.get_by_test_id("sent").inner_text() == "3"
    assert phone.get_by_test_id("confirmed").inner_text() == "0"

    assert sorted(r for m in smtp_recorder.messages for r in m.rcpt_to) == [
        "ana@exemple.fr",
        "ben@exemple.fr",
        "chloe@xn--lyse-9oad.fr",
    ]
    [mail] = smtp_recorder.to("ben@exemple.fr")
    assert mail.message["Subject"] == "Camille D. vous invite à rejoindre la campagne"
    assert "« On en parlait dimanche ! »" in mail.text
    link = CONFIRM_RE.search(mail.text + "\n")
    assert link is not None

    page.goto(link[1])
    assert page.get_by_text("Camille D. vous invite à rejoindre la campagne").is_visible()
    page.get_by_role("button", name="J'accepte l'invitation").click()
    assert page.get_by_role("heading", name="Bienvenue !").is_visible()

    phone.goto(f"{base}/armee/invitations/")
    assert phone.get_by_test_id("confirmed").inner_text() == "1"
    assert phone.get_by_test_id("points").inner_text() == "5"
    phone.goto(f"{base}/armee/moi/")
    assert (
        "3 invitations envoyées · acceptées : 1"
        in phone.locator(".invitations-summary").inner_text()
    )
    consent = Consent.objects.get(contact__email_key="ben@exemple.fr")
    assert (consent.status, consent.source_ref) == ("granted", f"volunteer:{volunteer.pk}")
    assert Invitation.objects.filter(status="confirmed").count() == 1
    assert VolunteerMissionSettings.objects.get(volunteer=volunteer).total_points == 5
