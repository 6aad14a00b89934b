"""Calls for volunteers: creation through the campaign engine, the per-recipient link, the
landing page, the sign-up it leads to, and what refuses bad input."""

from __future__ import annotations

import re
import time
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.army.models import Call, CallEvent, Volunteer
from essaim.army.services.call_links import (
    CallLinkSigner,
    ExpiredCallLink,
    InvalidCallLink,
    read_link,
)
from essaim.army.services.calls import EmptyAudience
from essaim.army.tests.call_helpers import launch, link_of, paris_segment
from essaim.army.tests.factories import CallFactory
from essaim.mailing.models import Campaign, Delivery
from essaim.mailing.services.campaigns import (
    InvalidCampaign,
    preview_campaign,
    save_draft,
)
from essaim.people.models import Consent, Contact, ContactEvent, Segment
from essaim.people.services.gdpr import access_report, erase_contact
from essaim.people.services.suppression import suppress

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
LINK_RE = re.compile(r"(https?://\S+/je-m-engage/confirmer/\S+/)")


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def call(hq: Any) -> Call:
    segment = paris_segment(("marie@exemple.fr", "Marie"), ("jean@exemple.fr", "Jean"))
    return CallFactory.create(segment=segment, user=hq)


def marie() -> Contact:
    return Contact.objects.get(email="marie@exemple.fr")


# --- Creation -------------------------------------------------------------------------------


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_a_call_is_a_landing_page_and_a_draft_campaign_to_its_segment(call, hq):
    campaign = call.campaign
    assert (campaign.status, campaign.segment.name, campaign.purpose) == (
        Campaign.Status.DRAFT,
        "Paris",
        "mobilization",
    )
    assert campaign.name == "Appel : Appel aux bonnes volontés numériques"
    assert "{{ call_url }}" in campaign.text_template
    assert 'href="{{ call_url }}"' in campaign.html_template
    assert sorted(call.roles.values_list("slug", flat=True)) == ["tchatcheur", "traceur"]
    event = AuditEvent.objects.get(action="call.create")
    assert (event.actor, event.object_id) == (hq, str(call.pk))


def test_a_mail_without_the_link_gets_it_at_the_end(hq):
    segment = paris_segment(("marie@exemple.fr", "Marie"))
    call = CallFactory.create(segment=segment, user=hq, body_markdown="Nous avons besoin de vous.")
    assert call.campaign.body_markdown == (
        "Nous avons besoin de vous.\n\n[Je réponds à l'appel]({{ call_url }})\n"
    )


def test_a_call_to_an_empty_segment_is_refused_and_writes_nothing(hq):
    paris_segment(("marie@exemple.fr", "Marie"))
    lyon = Segment.objects.create(name="Lyon", definition={"departements": ["69"]})
    with pytest.raises(EmptyAudience):
        CallFactory.create(segment=lyon, user=hq)
    assert (Call.objects.count(), Campaign.objects.count(), AuditEvent.objects.count()) == (0, 0, 0)


def test_a_segment_without_the_required_consent_is_an_empty_audience(hq):
    segment = paris_segment(("marie@exemple.fr", "Marie"))  # mobilization only
    with pytest.raises(EmptyAudience):
        CallFactory.create(segment=segment, user=hq, purpose="news")
    assert Call.objects.count() == 0


def test_a_plain_campaign_may_not_use_the_call_link(db):
    with pytest.raises(InvalidCampaign, match="champ inconnu : call_url"):
        save_draft(
            user=None,
            name="x",
            from_address="equipe@essaim.localhost",
            subject="Bonjour",
            body_markdown="[ici]({{ call_url }})",
        )


def test_the_calls_campaign_may_be_edited_but_must_keep_its_link(call, hq):
    campaign = call.campaign
    edit = {
        "user": hq,
        "campaign": campaign,
        "name": campaign.name,
        "from_address": campaign.from_email,
        "subject": "Nouvel objet",
        "segment": campaign.segment,
        "purpose": campaign.purpose,
    }
    with pytest.raises(InvalidCampaign, match="call_url"):
        save_draft(**edit, body_markdown="Plus de lien ici.")
    campaign.refresh_from_db()
    assert "{{ call_url }}" in campaign.text_template and campaign.subject != "Nouvel objet"

    save_draft(**edit, body_markdown="Autre texte : [répondre]({{call_url}})")
    campaign.refresh_from_db()
    assert campaign.subject == "Nouvel objet" and "{{call_url}}" in campaign.body_markdown


def test_markdown_with_script_and_html_is_inert_on_the_page_and_in_the_mail(hq):
    segment = paris_segment(("marie@exemple.fr", "Marie"))
    hostile = (
        "<script>alert(1)</script> <img src=x onerror=alert(2)> "
        "[clic](javascript:alert(3)) **gras**"
    )
    call = CallFactory.create(
        segment=segment, user=hq, text_markdown=hostile, body_markdown=hostile
    )
    page = Client().get(reverse("army_public:call_landing", args=[call.pk])).content.decode()
    text = page.split('<div class="call-text">')[1].split("</div>")[0]
    assert "<script" not in text and "<img" not in text and "href" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;" in text
    assert "<strong>gras</strong>" in text
    html = call.campaign.html_template
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html


# --- The link -------------------------------------------------------------------------------


def test_each_recipient_gets_an_opaque_link_that_names_them(call):
    deliveries = launch(call)
    assert len(deliveries) == 2
    links = {d.email: link_of(call, Contact.objects.get(delivery=d)) for d in deliveries}
    for delivery in deliveries:
        path = links[delivery.email]
        token = path.split("?t=")[1]
        assert path.startswith(f"/appel/{call.pk}/?t=")  # the call's id, nobody's
        found = read_link(call.pk, call.campaign_id, token)
        assert (found.contact, found.delivery_id) == (delivery.contact, delivery.pk)
    assert len(set(links.values())) == 2


def test_the_link_carries_no_identifier_in_clear():
    signer = CallLinkSigner("secret")
    a = signer.token(7, 1001, 1_800_000_000)
    b = signer.token(7, 1002, 1_800_000_000)
    assert len(a) == 35 and re.fullmatch(r"[A-Za-z0-9_-]+", a)
    # Neighbouring ids give unrelated tokens (an encrypted block, not a counter).
    assert sum(x == y for x, y in zip(a, b, strict=True)) < 12
    assert signer.read(7, a) == (1001, 1_800_000_000)


def test_a_call_link_token_is_pinned(settings):
    # Links already in mailboxes must keep opening: the exact token of a fixed key, not one
    # recomputed by the code under test.
    pinned = "Cn6iv_c2ZBn13W8VedXj_94ZR1cWqhhkoeE"
    assert CallLinkSigner("pinned-secret-key-for-tests").token(3, 41, 1_800_000_000) == pinned
    settings.SECRET_KEY = "pinned-secret-key-for-tests"
    assert CallLinkSigner().token(3, 41, 1_800_000_000) == pinned
    assert CallLinkSigner().read(3, pinned) == (41, 1_800_000_000)


def test_a_preview_or_test_mail_links_to_the_page_without_a_token(call):
    preview = preview_campaign(call.campaign)
    url = f"{settings.SITE_URL}/appel/{call.pk}/"
    assert f"[Répondre]({url})" not in preview.text  # spelled out as text
    assert f"Répondre ({url})" in preview.text
    assert "?t=" not in preview.text and "?t=" not in preview.html


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # altered tag
        lambda t: ("A" if t[0] != "A" else "B") + t[1:],  # altered block
        lambda t: t[:20],  # truncated
        lambda t: t + "AAAA",  # too long
        lambda t: "é" * 35,  # not ASCII
        lambda t: "!" * 35,  # not base64
        lambda t: t[:-1] + _B64[_B64.index(t[-1]) ^ 1],  # same bytes: a spare bit set
    ],
)
def test_a_forged_or_altered_token_is_refused(call, mangle):
    launch(call)
    token = link_of(call, marie()).split("?t=")[1]
    with pytest.raises(InvalidCallLink):
        read_link(call.pk, call.campaign_id, mangle(token))


def test_a_token_signed_with_another_key_is_refused(call):
    [delivery, _] = launch(call)
    forged = CallLinkSigner("not our secret").token(call.pk, delivery.pk, int(time.time()))
    with pytest.raises(InvalidCallLink):
        read_link(call.pk, call.campaign_id, forged)


def test_a_token_of_another_call_is_refused(call, hq):
    launch(call)
    token = link_of(call, marie()).split("?t=")[1]
    other = CallFactory.create(
        segment=Segment.objects.get(name="Paris"), user=hq, title="Autre appel"
    )
    with pytest.raises(InvalidCallLink):
        read_link(other.pk, other.campaign_id, token)
    # Even with the right key for the other call, the row must be of its campaign.
    [delivery] = [d for d in Delivery.objects.filter(contact=marie())]
    token = CallLinkSigner().token(other.pk, delivery.pk, int(time.time()))
    with pytest.raises(InvalidCallLink):
        read_link(other.pk, other.campaign_id, token)


def test_an_expired_token_is_refused(call, settings):
    launch(call)
    token = link_of(call, marie()).split("?t=")[1]
    later = time.time() + settings.CALL_LINK_MAX_AGE + 5
    with (
        mock.patch("essaim.army.services.call_links.time.time", return_value=later),
        pytest.raises(ExpiredCallLink),
    ):
        read_link(call.pk, call.campaign_id, token)


def test_the_access_report_lists_the_calls_steps_and_erasure_keeps_them_counted(call):
    launch(call)
    Client().get(link_of(call, marie()))
    report = access_report(marie())
    assert [(s["call"], s["step"]) for s in report["volunteer_calls"]] == [
        ("Appel aux bonnes volontés numériques", "visit")
    ]
    erase_contact(marie())
    assert list(CallEvent.objects.values_list("contact", "kind")) == [(None, "visit")]


def test_a_token_of_an_erased_contact_names_nobody(call):
    launch(call)
    path = link_of(call, marie())
    erase_contact(marie())
    response = Client().get(path)
    assert response.status_code == 200
    assert "Ce lien personnel n'est pas valable" in response.content.decode()
    assert "Marie" not in response.content.decode()
    assert CallEvent.objects.count() == 0


def test_a_token_of_a_suppressed_contact_names_nobody(call):
    launch(call)
    path = link_of(call, marie())
    suppress(email_key="marie@exemple.fr", reason="unsubscribe")
    page = Client().get(path).content.decode()
    assert "Bonjour Marie" not in page
    assert CallEvent.objects.count() == 0


# --- The landing page -----------------------------------------------------------------------


def test_the_link_greets_its_recipient_and_counts_one_visit_whatever_the_refreshes(call):
    launch(call)
    path = link_of(call, marie())
    for _ in range(3):
        response = Client().get(path)  # a fresh client each time: no cookie is carried
        assert response.status_code == 200
        # Only the site-wide CSRF cookie of the language switcher: nothing identifies anyone.
        assert set(response.cookies) == {"csrftoken"}
    page = response.content.decode()
    assert "Bonjour Marie," in page
    assert "Tchatcheur" in page and "Traceur" in page
    assert "<strong>mille</strong>" in page
    assert list(CallEvent.objects.values_list("contact__email", "kind")) == [
        ("marie@exemple.fr", "visit")
    ]


def test_anonymous_visitors_read_the_page_and_count_nothing(call):
    response = Client().get(reverse("army_public:call_landing", args=[call.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Bonjour" not in page
    assert f'href="/je-m-engage/?appel={call.pk}"' in page
    assert CallEvent.objects.count() == 0


def test_the_page_explains_the_roles_the_call_looks_for_with_the_sign_up_pages_include(call):
    response = Client().get(reverse("army_public:call_landing", args=[call.pk]))
    assert "army/public/_roles.html" in [t.name for t in response.templates]
    block = response.content.decode().split('<ul class="role-explanations">')[1].split("</ul>")[0]
    assert re.findall(r"<strong>(.*?)</strong>", block) == ["Tchatcheur", "Traceur"]
    assert "Suit des sources" not in block  # the veilleur, not looked for by this call


def test_an_unknown_call_is_a_404(db):
    assert Client().get("/appel/999999/").status_code == 404
    assert Client().get("/appel/999999/?t=AAAA").status_code == 404


def test_an_expired_link_shows_the_page_to_anyone(call, settings):
    launch(call)
    path = link_of(call, marie())
    settings.CALL_LINK_MAX_AGE = -1
    page = Client().get(path).content.decode()
    assert "Ce lien personnel a expiré" in page
    assert "Bonjour Marie" not in page
    assert CallEvent.objects.count() == 0


# --- Signing up from the call ---------------------------------------------------------------


FORM = {
    "postcode": "75011",
    "phone": "",
    "roles": ["tchatcheur"],
    "weekly_hours": "3",
    "windows": ["17"],
    "skills": "",
    "languages": ["fr"],
}


def _confirmation_link(mail: Any) -> str:
    found = LINK_RE.search(str(mail.text))
    assert found is not None
    return found[1].removeprefix(settings.SITE_URL)


def test_the_engage_form_from_a_link_preselects_the_roles_and_fills_in_nothing_personal(call):
    launch(call)
    contact = marie()
    contact.last_name = "Curie"
    contact.phone = "+33612345678"
    contact.save()
    landing = Client().get(link_of(call, contact)).content.decode()
    found = re.search(r'id="call-engage" href="([^"]+)"', landing)
    assert found is not None
    engage_url = found[1].replace("&amp;", "&")
    page = Client().get(engage_url).content.decode()
    assert "En réponse à l'appel « Appel aux bonnes volontés numériques »." in page
    # A call is forwarded: its reader sees nothing of the recipient's but the greeting.
    for personal in ("marie@exemple.fr", "Marie", "Curie", "75011", "612345678"):
        assert personal not in page
    for field in ("email", "first_name", "last_name", "postcode", "phone"):
        [tag] = re.findall(rf'<input[^>]*name="{field}"[^>]*>', page)
        assert "value=" not in tag, tag
    assert re.findall(r'name="roles" value="(\w+)"[^>]*checked', page) == [
        "tchatcheur",
        "traceur",
    ]
    assert f'name="appel" value="{call.pk}"' in page and 'name="t" value="' in page


def test_signing_up_from_the_link_records_the_call_as_the_consent_source(
    call, smtp_recorder, django_capture_on_commit_callbacks
):
    [delivery] = [d for d in launch(call) if d.email == "marie@exemple.fr"]
    token = link_of(call, marie()).split("?t=")[1]
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            "/je-m-engage/",
            {
                **FORM,
                "email": "marie@exemple.fr",
                "first_name": "Marie",
                "last_name": "Curie",
                "appel": call.pk,
                "t": token,
            },
            HTTP_USER_AGENT=BROWSER,
        )
    assert response.status_code == 302
    # Nothing yet: the double opt-in is the confirmation mail, not the call's link.
    assert (Volunteer.objects.count(), CallEvent.objects.filter(kind="signup").count()) == (0, 0)
    [mail] = smtp_recorder.messages
    assert mail.rcpt_to == ["marie@exemple.fr"]
    response = Client().post(_confirmation_link(mail), HTTP_USER_AGENT="K-9")
    assert response.status_code == 302
    volunteer = Volunteer.objects.get()
    assert volunteer.contact == marie()
    consent = Consent.objects.get(contact=marie(), purpose="volunteering")
    assert (consent.status, consent.source, consent.source_ref) == (
        "granted",
        Consent.Source.CALL,
        f"call:{call.pk}",
    )
    proof = ContactEvent.objects.get(contact=marie(), kind="volunteer_signup_confirmed").data
    assert (proof["call"], proof["call_delivery"], proof["confirmed_user_agent"]) == (
        call.pk,
        delivery.pk,
        "K-9",
    )
    assert list(CallEvent.objects.filter(kind="signup").values_list("contact", flat=True)) == [
        marie().pk
    ]
    # A second click on the confirmation changes nothing.
    Client().post(_confirmation_link(mail), HTTP_USER_AGENT="K-9")
    assert CallEvent.objects.filter(kind="signup").count() == 1


def test_another_address_typed_on_a_linked_form_is_not_proved_by_the_link(
    call, smtp_recorder, django_capture_on_commit_callbacks
):
    launch(call)
    token = link_of(call, marie()).split("?t=")[1]
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            "/je-m-engage/",
            {
                **FORM,
                "email": "ami@exemple.fr",
                "first_name": "Ami",
                "last_name": "Nom",
                "appel": call.pk,
                "t": token,
            },
        )
    [mail] = smtp_recorder.messages
    assert mail.rcpt_to == ["ami@exemple.fr"]
    Client().post(_confirmation_link(mail))
    friend = Contact.objects.get(email="ami@exemple.fr")
    proof = ContactEvent.objects.get(contact=friend, kind="volunteer_signup_confirmed").data
    assert (proof["call"], proof["call_delivery"]) == (call.pk, None)
    assert Consent.objects.get(contact=friend, purpose="volunteering").source == "call"


def test_an_anonymous_visitor_signs_up_from_the_landing_page(
    call, smtp_recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            "/je-m-engage/",
            {
                **FORM,
                "email": "nouvelle@exemple.fr",
                "first_name": "Nour",
                "last_name": "Nom",
                "appel": call.pk,
            },
        )
    Client().post(_confirmation_link(smtp_recorder.messages[0]))
    contact = Contact.objects.get(email="nouvelle@exemple.fr")
    assert list(CallEvent.objects.values_list("contact", "kind")) == [(contact.pk, "signup")]


def test_a_forged_call_parameter_on_the_form_is_ignored(
    call, smtp_recorder, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            "/je-m-engage/",
            {
                **FORM,
                "email": "x@exemple.fr",
                "first_name": "X",
                "last_name": "Nom",
                "appel": "99999",
                "t": "A" * 35,
            },
        )
    Client().post(_confirmation_link(smtp_recorder.messages[0]))
    consent = Consent.objects.get(contact__email="x@exemple.fr", purpose="volunteering")
    assert consent.source == Consent.Source.SIGNUP_FORM
    assert CallEvent.objects.count() == 0


def test_a_known_volunteer_answering_again_is_not_a_new_sign_up(
    call, smtp_recorder, django_capture_on_commit_callbacks
):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            Client().post(
                "/je-m-engage/",
                {
                    **FORM,
                    "email": "jean@exemple.fr",
                    "first_name": "Jean",
                    "last_name": "Nom",
                    "appel": call.pk,
                },
            )
    first, second = smtp_recorder.messages
    Client().post(_confirmation_link(first))
    other = CallFactory.create(
        segment=Segment.objects.get(name="Paris"), user=None, title="Second appel"
    )
    assert CallEvent.objects.filter(kind="signup").count() == 1
    assert other.events.count() == 0
    Client().post(_confirmation_link(second))
    assert CallEvent.objects.filter(kind="signup").count() == 1
