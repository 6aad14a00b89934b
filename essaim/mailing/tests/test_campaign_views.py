"""Campaign pages: HQ only, the composer, the sandboxed preview, test sends, launch with the
second approval, the live progress fragment, pause/resume/cancel by POST."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services import campaigns as svc
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Appel",
    "from_address": "equipe@essaim.localhost",
    "subject": "Votez",
    "body_markdown": 'Bonjour {{ first_name|default:"ami·e" }}',
    "audience": "all",
}


def draft(user: Any) -> Campaign:
    return svc.save_draft(
        user=user,
        name="Appel",
        from_address="equipe@essaim.localhost",
        subject="Votez",
        body_markdown='Bonjour {{ first_name|default:"ami·e" }}',
        audience_all=True,
    )


def test_hq_sees_the_campaigns_link_and_volunteers_do_not(
    hq_client: Client, volunteer_client: Client, coordinator_client: Client
) -> None:
    assert 'href="/campagnes/"' in hq_client.get("/").content.decode()
    assert 'href="/campagnes/"' not in volunteer_client.get("/").content.decode()
    assert 'href="/campagnes/"' not in coordinator_client.get("/").content.decode()


@pytest.mark.parametrize("who", ["coordinator_client", "volunteer_client"])
def test_coordinators_and_volunteers_can_neither_see_nor_act(
    who: str, hq: Any, request: pytest.FixtureRequest
) -> None:
    make_contact("a@exemple.fr")
    campaign = draft(hq)
    client = request.getfixturevalue(who)

    assert client.get("/campagnes/").status_code == 403
    assert client.post("/campagnes/nouvelle/", FORM).status_code == 403
    assert (
        client.post(
            f"/campagnes/{campaign.pk}/lancement/", {"action": "launch", "confirm": "1"}
        ).status_code
        == 403
    )
    assert client.post(f"/campagnes/{campaign.pk}/annulation/", {"confirm": "1"}).status_code == 403
    campaign.refresh_from_db()
    assert (campaign.status, Campaign.objects.count(), Delivery.objects.count()) == ("draft", 1, 0)


def test_composer_saves_a_draft_and_shows_its_preview(hq_client: Client) -> None:
    response = hq_client.post("/campagnes/nouvelle/", FORM)

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/campagnes/{campaign.pk}/apercu/"
    page = hq_client.get(response["Location"]).content.decode()
    assert f'src="/campagnes/{campaign.pk}/apercu/message/"' in page
    assert "Bonjour ami·e" in page  # the text part


def test_composer_reports_bad_personalization_and_saves_nothing(hq_client: Client) -> None:
    response = hq_client.post("/campagnes/nouvelle/", FORM | {"body_markdown": "{{ secret }}"})

    assert response.status_code == 400
    assert "champ inconnu : secret" in response.content.decode()
    assert Campaign.objects.count() == 0


def test_preview_frame_is_sandboxed_and_escapes_the_contact(hq_client: Client, hq: Any) -> None:
    contact = make_contact("x@exemple.fr", first_name='<img src=x onerror="alert(1)">')
    campaign = draft(hq)

    response = hq_client.get(f"/campagnes/{campaign.pk}/apercu/message/?contact={contact.pk}")

    csp = response["Content-Security-Policy"]
    assert csp.startswith("sandbox; default-src 'none'")
    assert "frame-ancestors 'self'" in csp
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "Bonjour &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in response.content.decode()


def test_test_send_form_mails_the_addresses(hq_client: Client, hq: Any, smtp_recorder: Any) -> None:
    campaign = draft(hq)

    response = hq_client.post(f"/campagnes/{campaign.pk}/test/", {"addresses": "t@test.fr"})

    assert response.status_code == 302
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["t@test.fr"]]
    assert Delivery.objects.count() == 0


def test_launch_page_needs_a_second_hq_user_above_the_threshold(
    hq_client: Client, admin_client_: Client, hq: Any, settings: Any
) -> None:
    settings.MAILING_APPROVAL_THRESHOLD = 1
    make_contact("a@exemple.fr")
    make_contact("b@exemple.fr")
    campaign = draft(hq)
    url = f"/campagnes/{campaign.pk}/lancement/"

    page = hq_client.get(url).content.decode()
    refused = hq_client.post(url, {"action": "launch", "confirm": "2"})
    self_approval = hq_client.post(url, {"action": "approve"})

    assert '<dd id="audience-estimate">2</dd>' in page
    assert "Approuver la campagne" not in page  # not offered to the author
    assert refused.status_code == 400
    assert self_approval.status_code == 400
    assert Delivery.objects.count() == 0
    assert "Approuver la campagne" in admin_client_.get(url).content.decode()
    assert admin_client_.post(url, {"action": "approve"}).status_code == 302
    launched = hq_client.post(url, {"action": "launch", "confirm": "2"})
    assert launched["Location"] == f"/campagnes/{campaign.pk}/"
    assert Delivery.objects.count() == 2


def test_progress_fragment_polls_and_shows_counts_rate_and_providers(
    hq_client: Client, hq: Any
) -> None:
    make_contact("a@gmail.com")
    make_contact("b@orange.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    Delivery.objects.filter(email="a@gmail.com").update(status=Delivery.Status.ACCEPTED)

    fragment = hq_client.get(
        f"/campagnes/{campaign.pk}/?settled=0&at=1", headers={"HX-Request": "true"}
    ).content.decode()

    assert fragment.startswith('<section id="campaign-live" hx-get=')
    assert 'value="50"' in fragment
    assert "1 envois réglés sur 2" in fragment
    assert "<td>Gmail</td>" in fragment and "<td>Orange/Wanadoo</td>" in fragment
    assert 'id="campaign-rate">—' not in fragment  # a rate from the previous reading


def test_pause_resume_cancel_buttons_post(hq_client: Client, hq: Any) -> None:
    make_contact("a@exemple.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)

    assert hq_client.get(f"/campagnes/{campaign.pk}/pause/").status_code == 405
    hq_client.post(f"/campagnes/{campaign.pk}/pause/")
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    hq_client.post(f"/campagnes/{campaign.pk}/reprise/")
    campaign.refresh_from_db()
    assert campaign.status == "sending"
    hq_client.post(f"/campagnes/{campaign.pk}/annulation/", {"confirm": "1"})
    campaign.refresh_from_db()
    assert (campaign.status, Delivery.objects.get().status) == ("cancelled", "cancelled")


def test_results_show_accepted_rejected_bounced_complained_unsubscribed_and_unknown(
    hq_client: Client, hq: Any
) -> None:
    for i in range(12):
        make_contact(f"r{i}@exemple.fr")
    campaign = draft(hq)
    svc.launch_campaign(campaign, user=hq)
    rows = list(
        Delivery.objects.filter(campaign=campaign).order_by("pk").values_list("pk", flat=True)
    )
    plan = ["accepted"] * 5 + ["rejected"] * 2 + ["bounced", "complained"] + ["suppressed"] * 2
    plan += ["unknown"]
    for pk, status in zip(rows, plan, strict=True):
        Delivery.objects.filter(pk=pk).update(status=status)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.DONE)
    html = hq_client.get(f"/campagnes/{campaign.pk}/").content.decode()
    for name, figure, label in [
        ("accepted", 5, "acceptés"),
        ("rejected", 2, "refusés"),
        ("bounced", 1, "revenus en erreur"),
        ("complained", 1, "plaintes"),
        ("unsubscribed", 2, "désinscrits"),
        ("unknown", 1, "sort inconnu"),
    ]:
        card = f'<div class="card" id="result-{name}"><span class="figure">{figure}</span> {label}'
        assert card in html
    assert "Rapports reçus : 0 erreurs temporaires, 0 illisibles" in html


def test_the_preview_shows_the_message_at_a_desktop_and_at_a_phone_width(
    hq_client: Client, hq: Any
) -> None:
    campaign = draft(hq)

    page = hq_client.get(f"/campagnes/{campaign.pk}/apercu/").content.decode()

    frame = f'src="/campagnes/{campaign.pk}/apercu/message/" sandbox'
    assert (
        '<iframe id="preview-desktop" class="mail-preview" '
        'title="Aperçu du message sur ordinateur" '
        f'aria-describedby="preview-desktop-caption" {frame} height="640"></iframe>'
    ) in page
    assert (
        '<iframe id="preview-phone" class="mail-preview phone" '
        'title="Aperçu du message sur téléphone" '
        f'aria-describedby="preview-phone-caption" {frame} width="390" height="640"></iframe>'
    ) in page
    assert '<figcaption id="preview-phone-caption">Sur téléphone (390 pixels de large)' in page
