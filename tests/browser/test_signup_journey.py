"""A visitor signs up from a phone, receives the mail and confirms from its link."""

import re

from django.core.cache import cache

from essaim.people.models import Consent, Contact


def test_visitor_signs_up_on_a_phone_and_confirms_from_the_mail(
    phone_page, live_server, smtp_recorder, settings
):
    cache.clear()
    settings.SITE_URL = live_server.url
    page = phone_page
    page.goto(f"{live_server.url}/inscription/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator(".honeypot").bounding_box()
    assert box is not None and box["x"] + box["width"] <= 0  # off-screen: people never see it
    page.get_by_label("Adresse e-mail").fill("lea.martin@exemple.fr")
    page.get_by_label("Prénom").fill("Léa")
    page.locator("#id_last_name").fill("Martin")
    page.get_by_label("Code postal (facultatif)").fill("69003")
    page.get_by_label("Les propositions de bénévolat").check()
    page.get_by_role("button", name="Je m'inscris").click()
    page.wait_for_url(f"{live_server.url}/inscription/envoyee/")
    assert page.get_by_role("heading", name="Vérifiez votre boîte aux lettres").is_visible()

    [mail] = smtp_recorder.to("lea.martin@exemple.fr")
    link = re.search(r"(http://\S+/inscription/confirmer/\S+/)", mail.text)
    assert link is not None
    page.goto(link[1])
    assert Contact.objects.count() == 0
    page.get_by_role("button", name="Je confirme mon inscription").click()
    assert page.get_by_role("heading", name="Merci, votre inscription est confirmée").is_visible()
    contact = Contact.objects.get()
    assert (contact.first_name, contact.departement) == ("Léa", "69")
    assert list(Consent.objects.values_list("purpose", "status")) == [("volunteering", "granted")]
