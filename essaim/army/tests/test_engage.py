""" "Je m'engage": volunteer sign-up with double opt-in, through the real pages and SMTP."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from essaim.accounts.models import AuditEvent, Role, User
from essaim.army.models import RoleAssignment, RoleTransition, Stage, Volunteer, window_mask
from essaim.army.tests.factories import VolunteerFactory
from essaim.people.models import Consent, Contact, Suppression
from essaim.people.services.contacts import withdraw_consent
from essaim.people.services.suppression import suppress

ENGAGE = reverse("army_public:engage")
SENT = reverse("army_public:engage_sent")
LINK_RE = re.compile(r"(https?://\S+/je-m-engage/confirmer/\S+/)")
BROWSER = "Mozilla/5.0 (Android 14; Mobile) Firefox/130.0"
FORM = {
    "email": "louise.michel@exemple.fr",
    "first_name": "Louise",
    "last_name": "Michel",
    "postcode": "69003",
    "phone": "",
    "roles": ["tchatcheur", "traceur"],
    "weekly_hours": "4",
    "windows": ["17", "18"],  # Saturday evening (5*3+2), Sunday morning (6*3+0)
    "skills": "vidéo, Wikipédia ; VIDÉO",
    "languages": ["fr", "es"],
}


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def engage(django_capture_on_commit_callbacks: Any, smtp_recorder: Any) -> Any:
    def post(client: Client | None = None, ip: str = "198.51.100.4", **changes: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return (client or Client()).post(
                ENGAGE, {**FORM, **changes}, REMOTE_ADDR=ip, HTTP_USER_AGENT=BROWSER
            )

    return post


def link_in(mail: Any) -> str:
    url = LINK_RE.search(str(mail.text))
    assert url is not None, mail.text
    return url[1].removeprefix(settings.SITE_URL)


def confirm(path: str, client: Client | None = None) -> Any:
    return (client or Client()).post(path, REMOTE_ADDR="203.0.113.50", HTTP_USER_AGENT="K-9")


def test_the_form_offers_the_open_roles_a_window_grid_and_a_honeypot(db):
    html = Client().get(ENGAGE).content.decode()
    assert re.findall(r'name="roles" value="(\w+)"', html) == [
        "colleur",
        "tchatcheur",
        "mondain",
        "traceur",
        "moderateur",
        "redacteur",
        "veilleur",
    ]
    assert len(re.findall(r'name="windows" value="\d+"', html)) == 21
    assert 'aria-label="samedi soir"' in html
    assert 'class="honeypot"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_engaging_writes_nothing_and_mails_a_confirmation_link(engage, smtp_recorder):
    response = engage()
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert (Contact.objects.count(), User.objects.count(), Volunteer.objects.count()) == (0, 0, 0)
    [mail] = smtp_recorder.messages
    assert mail.rcpt_to == ["louise.michel@exemple.fr"]
    assert mail.message["Subject"] == "Confirmez votre engagement"
    assert str(mail.text).startswith("Bonjour Louise,")
    assert "Ce lien est valable 3 jours." in str(mail.text)
    page = Client().get(link_in(mail)).content.decode()
    assert "Je confirme mon engagement" in page
    assert "Traceur" in page
    assert Volunteer.objects.count() == 0  # opening the link (a mail scanner) writes nothing


def test_confirming_creates_consent_account_profile_and_applied_roles(engage, smtp_recorder):
    engage()
    client = Client()
    response = confirm(link_in(smtp_recorder.messages[0]), client)
    assert (response.status_code, response["Location"]) == (302, reverse("army:profile"))
    volunteer = Volunteer.objects.select_related("user", "contact").get()
    user = volunteer.user
    assert (user.email, user.role, user.full_name, user.has_usable_password()) == (
        "louise.michel@exemple.fr",
        Role.VOLUNTEER,
        "Louise Michel",
        False,
    )
    assert (
        volunteer.first_name,
        volunteer.postcode,
        volunteer.departement,
        volunteer.region,
        volunteer.weekly_hours,
        volunteer.windows,
        volunteer.skills,
        volunteer.languages,
    ) == (
        "Louise",
        "69003",
        "69",
        "84",
        4,
        window_mask([(5, 2), (6, 0)]),
        ["vidéo", "Wikipédia"],
        ["fr", "es"],
    )
    consent = Consent.objects.get(contact=volunteer.contact)
    assert (consent.purpose, consent.status, consent.basis, consent.source_ref, consent.ip) == (
        "volunteering",
        "granted",
        "explicit_consent",
        "volunteer-statement-v1",
        "198.51.100.4",
    )
    assert volunteer.contact is not None
    assert list(volunteer.contact.events.values_list("kind", flat=True).order_by("id")) == [
        "created",
        "consent",
        "volunteer_signup_confirmed",
        "volunteer_roles_requested",
    ]
    assert sorted(
        RoleAssignment.objects.filter(volunteer=volunteer).values_list("role__slug", "stage")
    ) == [("tchatcheur", Stage.APPLIED), ("traceur", Stage.APPLIED)]
    assert RoleTransition.objects.filter(assignment__volunteer=volunteer).count() == 2
    assert AuditEvent.objects.filter(action="army.volunteer_enlisted").count() == 1
    # The confirming browser is logged in and lands on its profile.
    assert client.get(reverse("army:profile")).status_code == 200


def test_confirming_twice_adds_nothing_and_does_not_log_in_again(engage, smtp_recorder):
    engage()
    path = link_in(smtp_recorder.messages[0])
    confirm(path)
    other_browser = Client()
    response = confirm(path, other_browser)
    assert response.status_code == 200
    assert "Engagement confirmé" in response.content.decode()
    assert (Volunteer.objects.count(), RoleAssignment.objects.count()) == (1, 2)
    assert "_auth_user_id" not in other_browser.session


def test_a_known_volunteer_gains_the_new_roles_and_keeps_their_profile(engage, smtp_recorder):
    known = VolunteerFactory.create(
        email="louise.michel@exemple.fr", roles={"traceur": Stage.ACTIVE}, weekly_hours=9
    )
    engage(roles=["traceur", "veilleur"])
    confirm(link_in(smtp_recorder.messages[0]))
    known.refresh_from_db()
    assert known.weekly_hours == 9
    assert sorted(known.assignments.values_list("role__slug", "stage")) == [
        ("traceur", Stage.ACTIVE),
        ("veilleur", Stage.APPLIED),
    ]


def test_a_staff_account_becoming_a_volunteer_keeps_its_role(engage, smtp_recorder, coordinator):
    engage(email=coordinator.email)
    confirm(link_in(smtp_recorder.messages[0]))
    coordinator.refresh_from_db()
    assert coordinator.role == Role.COORDINATOR
    assert Volunteer.objects.get().user == coordinator


def test_the_answer_is_the_same_for_known_and_unknown_addresses(engage, smtp_recorder):
    VolunteerFactory.create(email="connue@exemple.fr")
    known = engage(email="connue@exemple.fr")
    unknown = engage(email="inconnue@exemple.fr", ip="198.51.100.9")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert [m.rcpt_to for m in smtp_recorder.messages] == [
        ["connue@exemple.fr"],
        ["inconnue@exemple.fr"],
    ]


def test_the_request_does_the_same_work_for_known_unknown_and_suppressed(db, smtp_recorder):
    VolunteerFactory.create(email="connue@exemple.fr")
    suppress(email_key="bannie@exemple.fr", reason=Suppression.Reason.UNSUBSCRIBE)
    counts = []
    for n, email in enumerate(["connue@exemple.fr", "inconnue@exemple.fr", "bannie@exemple.fr"]):
        with CaptureQueriesContext(connection) as queries:
            response = Client().post(ENGAGE, {**FORM, "email": email}, REMOTE_ADDR=f"192.0.2.{n}")
        assert response.status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1] == counts[2]


def test_a_suppressed_address_gets_the_same_answer_and_no_mail(engage, smtp_recorder):
    suppress(email_key="louise.michel@exemple.fr", reason=Suppression.Reason.ERASURE)
    response = engage()
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert smtp_recorder.messages == []


def test_a_withdrawal_after_the_request_wins_and_nothing_is_created(engage, smtp_recorder):
    engage()
    path = link_in(smtp_recorder.messages[0])
    confirm(path)
    contact = Contact.objects.get()
    withdraw_consent(contact, purposes=["volunteering"], reason="unsubscribe")
    response = confirm(path)
    assert "Rien n'a été enregistré" in response.content.decode()
    assert contact.consents.get().status == "withdrawn"


def test_the_honeypot_gets_the_same_answer_and_nothing_is_sent(engage, smtp_recorder):
    response = engage(website="http://spam.example")
    assert (response.status_code, response["Location"]) == (302, SENT)
    assert smtp_recorder.messages == []


def test_the_form_is_rate_limited_per_address(engage, smtp_recorder, settings):
    settings.SIGNUP_RATE_LIMIT = "2/h"
    codes = [engage(ip=f"192.0.2.{n}").status_code for n in range(3)]
    assert codes == [302, 302, 429]
    assert len(smtp_recorder.messages) == 2


def test_the_form_needs_a_csrf_token(db):
    client = Client(enforce_csrf_checks=True)
    assert client.post(ENGAGE, FORM).status_code == 403


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"roles": []}, "roles", "Choisissez au moins un rôle."),
        ({"roles": ["inexistant"]}, "roles", "Sélectionnez un choix valide."),
        ({"postcode": ""}, "postcode", "Ce champ est obligatoire."),
        ({"postcode": "99999"}, "postcode", "Le code postal 99999 n’existe pas."),
        ({"weekly_hours": "0"}, "weekly_hours", "supérieure ou égale à 1"),
        ({"weekly_hours": "500"}, "weekly_hours", "inférieure ou égale à 80"),
        ({"windows": ["21"]}, "windows", "Sélectionnez un choix valide."),
        ({"windows": ["-1"]}, "windows", "Sélectionnez un choix valide."),
        ({"languages": []}, "languages", "Cochez au moins une langue."),
        ({"skills": "x" * 41}, "skills", "Une compétence tient en 40 caractères"),
        ({"skills": ",".join(f"s{n}" for n in range(13))}, "skills", "au plus 12 compétences"),
        ({"email": "pas-une-adresse"}, "email", "Cette adresse e-mail n’est pas valide."),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_sent(
    engage, smtp_recorder, change, field, message
):
    response = engage(**change)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors[field])
    assert message.replace("’", "'") in errors.replace("’", "'")
    assert smtp_recorder.messages == []


def test_a_forged_or_altered_link_is_refused(db):
    assert Client().get("/je-m-engage/confirmer/forged:abc/").status_code == 400
    token = signing.TimestampSigner(salt="essaim.army.signup").sign_object({"email": "x@y.fr"})
    assert Client().post(f"/je-m-engage/confirmer/{token}/").status_code == 400
    assert Volunteer.objects.count() == 0


def test_an_expired_link_is_refused(engage, smtp_recorder, settings):
    engage()
    path = link_in(smtp_recorder.messages[0])
    settings.SIGNUP_CONFIRM_MAX_AGE = 0
    time.sleep(1)  # the signature carries whole seconds
    assert confirm(path).status_code == 410
    assert Volunteer.objects.count() == 0


def test_the_page_explains_every_role_it_offers_as_the_call_page_does(db: Any) -> None:
    from essaim.army.models import VolunteerRole

    VolunteerRole.objects.filter(slug="redacteur").update(is_open=False)
    response = Client().get(ENGAGE)
    assert "army/public/_roles.html" in [t.name for t in response.templates]
    block = response.text.split('<ul class="role-explanations" id="roles-explained">')[1]
    block = block.split("</ul>")[0]
    items = [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]
    assert items == [
        "<strong>Colleur d&#x27;affiches web</strong> — Place bannières, visuels et vidéos de la "
        "campagne sur ses propres sites, blogs et profils.",
        "<strong>Tchatcheur</strong> — Défend les idées de la campagne, avec ses propres mots, "
        "dans les forums et discussions.",
        "<strong>Mondain</strong> — Invite les personnes de son carnet d&#x27;adresses à "
        "rejoindre la campagne.",
        "<strong>Traceur</strong> — Repère ce qui se dit sur la campagne dans les sites, forums "
        "et archives qu&#x27;on lui confie.",
        "<strong>Modérateur</strong> — Modère les espaces de discussion de la campagne.",
        "<strong>Veilleur</strong> — Suit des sources à des heures données et signale ce qui "
        "compte.",
    ]
    # The boxes to tick are the same roles, in the same order.
    assert [value for value, _label in response.context["form"].fields["roles"].choices] == [
        "colleur",
        "tchatcheur",
        "mondain",
        "traceur",
        "moderateur",
        "veilleur",
    ]
