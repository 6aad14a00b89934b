"""A call for volunteers end to end in Debian's Chromium: HQ writes the call to a small segment
and launches its campaign; the real sender delivers it to the local SMTP server; a recipient
opens the link from the caught mail on a phone, signs up and confirms; HQ sees the funnel's
numbers and chart move."""

from __future__ import annotations

import asyncio
import re
import threading

from django.core.cache import cache
from django.db import connection
from playwright.sync_api import expect

from essaim.accounts.tests.factories import PASSWORD
from essaim.army.models import Call, CallEvent, Volunteer
from essaim.army.tests.factories import seed_roles
from essaim.mailing.models import Delivery
from essaim.mailing.sender.engine import Sender, SenderOptions
from essaim.mailing.sender.smtp import RelayConfig
from essaim.people.models import Consent, Segment
from essaim.people.tests.factories import make_contact
from tests.browser.helpers import login


def run_sender(relay_url: str) -> dict[str, object]:
    """The bulk sender, in this process (the live server's database is in memory on SQLite),
    until nothing is left to send; in a thread of its own, since Playwright's event loop runs
    in the test's."""
    relay = RelayConfig.from_url(relay_url, helo="localhost", timeout=10)
    options = SenderOptions(connections=2, per_provider=2, once=True, listen=False)
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result.update(asyncio.run(Sender(relay, options).run()).as_dict())
        finally:
            connection.close()  # this thread's own database connection

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    return result


def test_hq_calls_a_segment_a_recipient_answers_and_the_funnel_moves(
    page, phone_page, live_server, smtp_recorder, settings, hq
):
    cache.clear()
    settings.SITE_URL = live_server.url
    seed_roles()
    for email, name in (("marie@exemple.fr", "Marie"), ("jean@exemple.fr", "Jean")):
        make_contact(email, first_name=name, departement="75", consents={"mobilization": "granted"})
    make_contact("lyon@exemple.fr", departement="69", consents={"mobilization": "granted"})
    Segment.objects.create(name="Paris", definition={"departements": ["75"]})

    login(page, live_server.url, hq.email, PASSWORD)
    page.get_by_role("link", name="Appels", exact=True).click()
    page.get_by_role("link", name="Nouvel appel").click()
    page.get_by_label("Titre de la page").fill("Appel aux bonnes volontés numériques")
    page.get_by_label("Texte de la page (Markdown)").fill(
        "Si **mille** personnes nous disent qu'elles ont du temps, cela devient faisable."
    )
    page.get_by_label("Tchatcheur").check()
    page.get_by_label("Traceur").check()
    page.get_by_label("Segment appelé").select_option(label="Paris")
    page.get_by_label("Objet du message").fill("La campagne a besoin de vous")
    page.get_by_role("button", name="Créer l'appel").click()
    call = Call.objects.get()
    page.wait_for_url(f"{live_server.url}/armee/appels/{call.pk}/")
    expect(page.locator("#funnel-empty")).to_be_visible()

    # The campaign is launched from its own page, like any campaign.
    page.get_by_role("link", name="Prévisualiser et lancer").click()
    launch = page.get_by_role("link", name="Préparer le lancement")
    page.goto(live_server.url + launch.get_attribute("href"))
    expect(page.locator("#audience-estimate")).to_have_text("2")
    page.get_by_role("button", name="Lancer la campagne").click()
    page.get_by_role("dialog", name="Lancer vers 2 personnes ?").get_by_role(
        "button", name="Lancer", exact=True
    ).click()
    page.wait_for_url(f"{live_server.url}/campagnes/{call.campaign_id}/")

    stats = run_sender(f"smtp://{smtp_recorder.host}:{smtp_recorder.port}")
    assert stats["outcomes"] == {"accepted": 2}
    assert sorted(r for m in smtp_recorder.messages for r in m.rcpt_to) == [
        "jean@exemple.fr",
        "marie@exemple.fr",
    ]
    [mail] = smtp_recorder.to("marie@exemple.fr")
    assert mail.message["Subject"] == "La campagne a besoin de vous"
    link = re.search(r"(http://\S+/appel/\d+/\?t=[A-Za-z0-9_-]+)", mail.text)
    assert link is not None

    # The recipient, on a phone, without any cookie of the site.
    phone = phone_page
    phone.goto(link[1])
    expect(phone.locator(".greeting")).to_have_text("Bonjour Marie,")
    expect(phone.locator(".call-text strong")).to_have_text("mille")
    phone.reload()  # a refresh is not a second visit
    phone.get_by_role("link", name="Je m'engage").click()
    # The form shows nothing of the link's recipient (a call is forwarded): Marie types it.
    expect(phone.get_by_label("Adresse e-mail")).to_have_value("")
    expect(phone.get_by_label("Prénom")).to_have_value("")
    expect(phone.get_by_label("Traceur")).to_be_checked()
    phone.get_by_label("Adresse e-mail").fill("marie@exemple.fr")
    phone.get_by_label("Prénom").fill("Marie")
    phone.locator("#id_last_name").fill("Curie")
    phone.get_by_label("Code postal").fill("75011")
    phone.get_by_label("samedi soir").check()
    phone.get_by_role("button", name="Je m'engage").click()
    phone.wait_for_url(f"{live_server.url}/je-m-engage/envoyee/")
    [confirmation] = [m for m in smtp_recorder.to("marie@exemple.fr") if m is not mail]
    confirm = re.search(r"(http://\S+/je-m-engage/confirmer/\S+/)", confirmation.text)
    assert confirm is not None
    phone.goto(confirm[1])
    phone.get_by_role("button", name="Je confirme mon engagement").click()
    phone.wait_for_url(f"{live_server.url}/armee/moi/")

    volunteer = Volunteer.objects.select_related("contact").get()
    assert volunteer.contact.email == "marie@exemple.fr"
    consent = Consent.objects.get(contact=volunteer.contact, purpose="volunteering")
    assert (consent.source, consent.source_ref) == ("call", f"call:{call.pk}")
    assert CallEvent.objects.filter(call=call).count() == 2  # one visit, one sign-up

    # HQ's page of the call: the numbers and the chart moved.
    page.goto(f"{live_server.url}/armee/appels/{call.pk}/")
    expect(page.locator("#total-reached")).to_have_text("2")
    expect(page.locator("#total-visited")).to_have_text("1")
    expect(page.locator("#total-signed_up")).to_have_text("1")
    expect(page.locator("#total-first_mission")).to_have_text("0")
    expect(page.locator("#total-audience")).to_have_text("2")
    # The chart, drawn by Chart.js on its canvas: four lines, the reached one up to 2.
    expect(page.locator("#chart-call-funnel[data-drawn]")).to_have_count(1)
    series = page.evaluate(
        "JSON.parse(document.getElementById('chart-call-funnel-data').textContent).series"
    )
    assert [s["values"][-1] for s in series] == [2, 1, 1, 0]
    expect(page.locator("#funnel-table tbody tr")).to_have_count(1)
    assert Delivery.objects.filter(status="accepted").count() == 2
