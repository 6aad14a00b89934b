"""Invitations, end to end through the real pages and a real SMTP server: one mail per invitee,
in the volunteer's name; pending consent with its provenance; double opt-in and credit; abuse
report; and the volunteer never learning anything about the base."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.army.models import Invitation, InvitationRequest, VolunteerMissionSettings
from essaim.army.services import invitations as svc
from essaim.army.tests.factories import (
    InviterFactory,
    TeamFactory,
    VolunteerFactory,
)
from essaim.people.models import Consent, Contact, ContactEvent, Suppression, email_hash
from essaim.people.services.contacts import ConsentGrant, clean_contact_data, upsert_contact
from essaim.people.services.suppression import suppress

PAGE = reverse("army:invitations")
CONFIRM_RE = re.compile(r"(https?://\S+/invitation/[^/\s]+/)\s")
REPORT_RE = re.compile(r"(https?://\S+/invitation/[^/\s]+/signaler/)")
BROWSER = "Mozilla/5.0 (Android 14; Mobile) Firefox/130.0"


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


@pytest.fixture
def camille(db: Any) -> Any:
    volunteer = InviterFactory.create(email="camille@exemple.fr", first_name="Camille")
    volunteer.user.full_name = "Camille Desmoulins"
    volunteer.user.save(update_fields=["full_name"])
    return volunteer


@pytest.fixture
def client_of(db: Any) -> Any:
    def make(volunteer: Any) -> Client:
        client = Client()
        client.force_login(volunteer.user)
        return client

    return make


@pytest.fixture
def invite(django_capture_on_commit_callbacks: Any, smtp_recorder: Any, client_of: Any) -> Any:
    def post(volunteer: Any, addresses: str, note: str = "", follow: bool = False) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client_of(volunteer).post(
                PAGE, {"addresses": addresses, "note": note, "action": "send"}, follow=follow
            )

    return post


def in_base(email: str, purpose: str = "news", status: str = "granted") -> Contact:
    contact, _ = upsert_contact(
        data=clean_contact_data(email=email),
        consents=[
            ConsentGrant(purpose=purpose, basis="explicit_consent", source="import", status=status)
        ],
        source="import",
    )
    return contact


def link(mail: Any, pattern: re.Pattern[str] = CONFIRM_RE) -> str:
    found = pattern.search(mail.text + "\n")
    assert found is not None, mail.text
    return found[1]


def flashed(response: Any) -> list[str]:
    return re.findall(r'<li class="message [^"]*">([^<]*)</li>', response.text)


# --- Sending ------------------------------------------------------------------------------------


def test_each_invitee_gets_one_mail_in_the_volunteers_name_from_the_campaign(
    camille, invite, smtp_recorder, settings
):
    response = invite(camille, "ana@exemple.fr\nBen <ben@exemple.fr>, chloe@exemple.fr", "Viens !")
    assert response.status_code == 302
    assert sorted(r for m in smtp_recorder.messages for r in m.rcpt_to) == [
        "ana@exemple.fr",
        "ben@exemple.fr",
        "chloe@exemple.fr",
    ]
    mail = smtp_recorder.to("ana@exemple.fr")[0]
    assert mail.message["Subject"] == "Camille D. vous invite à rejoindre la campagne"
    assert mail.message["From"] == settings.DEFAULT_FROM_EMAIL
    assert "Camille D., volontaire de la campagne, vous invite" in mail.text
    assert "« Viens ! »" in mail.text
    assert CONFIRM_RE.search(mail.text) and REPORT_RE.search(mail.text)


def test_the_invitee_enters_the_base_with_a_pending_consent_saying_who_invited(camille, invite):
    invite(camille, "ana@exemple.fr")
    contact = Contact.objects.get(email_key="ana@exemple.fr")
    [consent] = contact.consents.all()
    assert (consent.purpose, consent.status, consent.source, consent.source_ref) == (
        "news",
        "pending",
        "invitation",
        f"volunteer:{camille.pk}",
    )
    assert consent.confirmed_at is None
    invitation = Invitation.objects.get()
    assert (invitation.inviter, invitation.contact, invitation.status) == (camille, contact, "sent")
    assert invitation.sent_at is not None
    assert ContactEvent.objects.filter(contact=contact, kind="invited").count() == 1


def test_a_pending_invitee_is_not_in_any_mailable_audience(camille, invite):
    invite(camille, "ana@exemple.fr")
    assert not Contact.objects.mailable("news").exists()


def test_the_answer_is_the_same_whatever_the_base_knows(camille, invite, smtp_recorder, client_of):
    in_base("known@exemple.fr")
    suppress(email_key="gone@exemple.fr", reason=Suppression.Reason.UNSUBSCRIBE)
    other = InviterFactory.create(email="other@exemple.fr", first_name="Olympe")
    invite(other, "taken@exemple.fr")
    smtp_recorder.messages.clear()

    unknown = invite(camille, "a1@exemple.fr\na2@exemple.fr\na3@exemple.fr\na4@exemple.fr")
    known = invite(camille, "known@exemple.fr\ngone@exemple.fr\ntaken@exemple.fr\nb4@exemple.fr")
    for response in (unknown, known):
        assert (response.status_code, response["Location"]) == (302, PAGE)
    page_after_unknown = client_of(camille).get(PAGE)
    assert [m.rcpt_to for m in smtp_recorder.messages] == [
        ["a1@exemple.fr"],
        ["a2@exemple.fr"],
        ["a3@exemple.fr"],
        ["a4@exemple.fr"],
        ["b4@exemple.fr"],
    ]
    assert page_after_unknown.context["stats"].sent == 8


def test_the_request_does_the_same_work_for_new_known_and_suppressed_addresses(
    camille, client_of, smtp_recorder
):
    in_base("known@exemple.fr")
    suppress(email_key="gone@exemple.fr", reason=Suppression.Reason.COMPLAINT)
    client = client_of(camille)
    counts = []
    for addresses in ("new1@exemple.fr, new2@exemple.fr", "known@exemple.fr, gone@exemple.fr"):
        with CaptureQueriesContext(connection) as queries:
            response = client.post(PAGE, {"addresses": addresses, "action": "send"})
        assert response.status_code == 302
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert smtp_recorder.messages == []  # the job runs after commit, out of the request


def test_the_success_message_counts_every_valid_address(camille, invite, client_of):
    in_base("known@exemple.fr")
    suppress(email_key="gone@exemple.fr", reason=Suppression.Reason.COMPLAINT)
    with_known = invite(camille, "known@exemple.fr, gone@exemple.fr", follow=True)
    with_new = invite(camille, "x@exemple.fr, y@exemple.fr", follow=True)
    assert flashed(with_known) == ["2 invitations envoyées."]
    assert flashed(with_new) == ["2 invitations envoyées."]


def test_suppressed_addresses_are_never_invited_nor_added(camille, invite, smtp_recorder):
    for reason in ("unsubscribe", "erasure", "hard_bounce", "complaint", "abuse_report"):
        suppress(email_key=f"{reason}@exemple.fr", reason=reason)
    invite(
        camille,
        "\n".join(
            f"{r}@exemple.fr"
            for r in ("unsubscribe", "erasure", "hard_bounce", "complaint", "abuse_report")
        ),
    )
    assert smtp_recorder.messages == []
    assert (Contact.objects.count(), Invitation.objects.count()) == (0, 0)
    assert InvitationRequest.objects.filter(volunteer=camille).count() == 5


def test_a_known_address_with_a_say_on_the_purpose_is_not_mailed_nor_changed(
    camille, invite, smtp_recorder
):
    granted = in_base("granted@exemple.fr")
    withdrawn = in_base("left@exemple.fr", purpose="mobilization")
    Consent.objects.filter(contact=withdrawn).update(status="withdrawn")
    invite(camille, "granted@exemple.fr\nleft@exemple.fr")
    assert smtp_recorder.messages == []
    assert list(granted.consents.values_list("source", "status")) == [("import", "granted")]
    assert list(withdrawn.consents.values_list("purpose", "status")) == [
        ("mobilization", "withdrawn")
    ]


def test_a_known_address_without_a_say_on_the_purpose_may_be_invited(
    camille, invite, smtp_recorder
):
    contact = in_base("member@exemple.fr", purpose="volunteering")
    invite(camille, "member@exemple.fr")
    assert [m.rcpt_to for m in smtp_recorder.messages] == [["member@exemple.fr"]]
    assert contact.consents.get(purpose="news").status == "pending"


def test_an_invitee_already_invited_by_someone_else_gets_no_second_mail(
    camille, invite, smtp_recorder
):
    other = InviterFactory.create(email="other@exemple.fr", first_name="Olympe")
    invite(other, "ana@exemple.fr")
    response = invite(camille, "ANA@Exemple.fr", follow=True)
    assert flashed(response) == ["1 invitation envoyée."]
    assert len(smtp_recorder.to("ana@exemple.fr")) == 1
    assert Invitation.objects.get().inviter == other


def test_inviting_the_same_address_again_sends_nothing_more(camille, invite, smtp_recorder):
    invite(camille, "ana@exemple.fr")
    invite(camille, "ana@exemple.fr")
    assert len(smtp_recorder.messages) == 1
    assert InvitationRequest.objects.filter(volunteer=camille).count() == 1


def test_a_pending_invitee_is_never_mailed_again_by_another_volunteer(
    camille, invite, smtp_recorder
):
    invite(camille, "ana@exemple.fr")
    for n in range(3):
        invite(InviterFactory.create(email=f"v{n}@exemple.fr"), "ana@exemple.fr")
    assert len(smtp_recorder.to("ana@exemple.fr")) == 1


# --- Confirmation and credit --------------------------------------------------------------------


def test_opening_the_link_shows_who_invited_and_changes_nothing(camille, invite, smtp_recorder):
    invite(camille, "ana@exemple.fr")
    response = Client().get(link(smtp_recorder.messages[0]))
    assert response.status_code == 200
    assert "Camille D. vous invite à rejoindre la campagne" in response.text
    assert Consent.objects.get().status == "pending"


def test_confirming_grants_the_consent_with_its_proof_and_credits_the_volunteer(
    camille, invite, smtp_recorder, client_of, settings
):
    invite(camille, "ana@exemple.fr\nben@exemple.fr")
    response = Client().post(
        link(smtp_recorder.to("ana@exemple.fr")[0]),
        REMOTE_ADDR="198.51.100.7",
        HTTP_USER_AGENT=BROWSER,
    )
    assert response.status_code == 200
    assert "Bienvenue" in response.text
    consent = Consent.objects.get(contact__email_key="ana@exemple.fr")
    assert (consent.status, consent.source, consent.source_ref, consent.ip) == (
        "granted",
        "invitation",
        f"volunteer:{camille.pk}",
        "198.51.100.7",
    )
    assert consent.confirmed_at is not None
    assert Contact.objects.mailable("news").get().email == "ana@exemple.fr"
    invitation = Invitation.objects.get(contact__email_key="ana@exemple.fr")
    assert (invitation.status, invitation.points) == ("confirmed", settings.INVITATIONS_POINTS)
    assert VolunteerMissionSettings.objects.get(volunteer=camille).total_points == 5
    stats = client_of(camille).get(PAGE).context["stats"]
    assert (stats.sent, stats.confirmed, stats.points) == (2, 1, 5)


def test_confirming_twice_credits_once(camille, invite, smtp_recorder):
    invite(camille, "ana@exemple.fr")
    url = link(smtp_recorder.messages[0])
    Client().post(url)
    Client().post(url)
    assert VolunteerMissionSettings.objects.get(volunteer=camille).total_points == 5
    assert ContactEvent.objects.filter(kind="invitation_confirmed").count() == 1
    assert len(smtp_recorder.messages) == 1


def test_a_forged_or_altered_link_is_refused(camille, invite, smtp_recorder):
    invite(camille, "ana@exemple.fr")
    url = link(smtp_recorder.messages[0])
    token = url.rstrip("/").rsplit("/", 1)[1]
    forged = url.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert Client().post(forged).status_code == 400
    pk, rest = token.split(":", 1)
    other_id = url.replace(token, f"{int(pk) + 1}:{rest}")  # the signature covers the id
    assert Client().post(other_id).status_code == 400
    assert Client().post(reverse("army_public:invitation_confirm", args=["1:x"])).status_code == 400
    report_token_as_confirm = link(smtp_recorder.messages[0], REPORT_RE).replace("signaler/", "")
    assert Client().post(report_token_as_confirm).status_code == 400
    assert Consent.objects.get().status == "pending"


def test_an_expired_link_is_refused_and_nothing_is_granted(
    camille, invite, smtp_recorder, settings
):
    invite(camille, "ana@exemple.fr")
    settings.INVITATIONS_CONFIRM_DAYS = -1
    response = Client().post(link(smtp_recorder.messages[0]))
    assert response.status_code == 410
    assert Consent.objects.get().status == "pending"
    assert not VolunteerMissionSettings.objects.filter(volunteer=camille).exists()


# --- Abuse reports ------------------------------------------------------------------------------


def test_reporting_suppresses_the_address_and_flags_the_inviter(
    camille, invite, smtp_recorder, coordinator, client_of
):
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    team.memberships.create(user=camille.user, state="member")
    invite(camille, "ana@exemple.fr")
    url = link(smtp_recorder.messages[0], REPORT_RE)
    page = Client().get(url)
    assert page.status_code == 200 and "Signaler" in page.text
    assert not Suppression.objects.exists()

    assert Client().post(url).status_code == 200
    suppression = Suppression.objects.get()
    assert (suppression.email_hash, suppression.reason) == (
        email_hash("ana@exemple.fr"),
        "abuse_report",
    )
    assert Consent.objects.get().status == "withdrawn"
    assert Invitation.objects.get().status == "reported"
    assert AuditEvent.objects.filter(action="army.invitation_reported").count() == 1

    coordinator_client = Client()
    coordinator_client.force_login(coordinator)
    member_page = coordinator_client.get(reverse("army:member_detail", args=[team.pk, camille.pk]))
    assert "1 invitation de ce volontaire a été signalée comme abusive." in member_page.text
    assert "signalée" not in client_of(camille).get(PAGE).text

    # Never invited again, by anyone; and the confirmation link no longer works.
    invite(InviterFactory.create(email="v2@exemple.fr"), "ana@exemple.fr")
    assert len(smtp_recorder.messages) == 1
    assert Client().post(link(smtp_recorder.messages[0])).status_code == 200
    assert Consent.objects.get().status == "withdrawn"
    assert not VolunteerMissionSettings.objects.filter(volunteer=camille).exists()


def test_reporting_twice_changes_nothing_more(camille, invite, smtp_recorder):
    invite(camille, "ana@exemple.fr")
    url = link(smtp_recorder.messages[0], REPORT_RE)
    Client().post(url)
    Client().post(url)
    assert AuditEvent.objects.filter(action="army.invitation_reported").count() == 1
    assert ContactEvent.objects.filter(kind="invitation_reported").count() == 1


def test_hq_lists_the_reported_inviters_and_others_may_not(
    camille, invite, smtp_recorder, hq_client, coordinator_client, client_of
):
    invite(camille, "ana@exemple.fr\nben@exemple.fr")
    Client().post(link(smtp_recorder.to("ana@exemple.fr")[0], REPORT_RE))
    response = hq_client.get(reverse("army:invitation_reports"))
    assert response.status_code == 200
    [row] = response.context["inviters"]
    assert (row.pk, row.reports, row.invited) == (camille.pk, 1, 2)
    assert coordinator_client.get(reverse("army:invitation_reports")).status_code == 403
    assert client_of(camille).get(reverse("army:invitation_reports")).status_code == 403


# --- Pages --------------------------------------------------------------------------------------


def test_my_space_shows_the_counts_and_links_to_my_invitations(camille, invite, client_of):
    invite(camille, "ana@exemple.fr, ben@exemple.fr")
    page = client_of(camille).get(reverse("army:profile"))
    assert "2 invitations envoyées · acceptées : 0" in page.text
    assert PAGE in page.text


def test_the_note_is_escaped_in_the_mail_and_limited_in_length(camille, invite, smtp_recorder):
    invite(camille, "ana@exemple.fr", note="<script>alert(1)</script> <b>Salut</b>")
    mail = smtp_recorder.messages[0]
    html = mail.message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    response = invite(camille, "ben@exemple.fr", note="x" * 301)
    assert response.status_code == 200
    assert len(smtp_recorder.messages) == 1
    assert not InvitationRequest.objects.filter(email_hash=email_hash("ben@exemple.fr")).exists()


def test_the_display_name_is_first_name_and_initial():
    class U:
        full_name = "Jean-Luc Mélenchon"

    class V:
        first_name = "Jean-Luc"
        contact_id = None
        contact = None
        user = U()

    assert svc.display_name(V()) == "Jean-Luc M."  # type: ignore[arg-type]
    V.user.full_name = "Jean-Luc"
    assert svc.display_name(V()) == "Jean-Luc"  # type: ignore[arg-type]


def test_confirmed_invitations_count_on_the_leaderboards_like_accepted_missions(
    camille, invite, smtp_recorder, hq
):
    from datetime import timedelta

    from django.utils import timezone

    from essaim.army.services.missions import leaderboard

    team = TeamFactory.create(name="Paris 11e")
    team.memberships.create(user=camille.user, state="member")
    invite(camille, "ana@exemple.fr\nben@exemple.fr")
    for mail in smtp_recorder.messages:
        Client().post(link(mail))

    def board(**kw: Any) -> list[tuple[str, int, int]]:
        return [(s.name, s.points, s.missions) for s in leaderboard(**kw)]

    assert board() == [("Camille", 10, 0)]
    assert board(team=team.pk) == [("Camille", 10, 0)]
    assert board(departement="75") == [("Camille", 10, 0)]
    assert board(departement="69") == []
    assert board(since=timezone.now() + timedelta(minutes=1)) == []
    VolunteerMissionSettings.objects.filter(pk=camille.pk).update(leaderboard_opt_out=True)
    assert board() == []


def test_access_reports_say_who_invited_the_invitee_and_what_the_volunteer_gave(
    camille, invite, smtp_recorder
):
    from essaim.people.services.gdpr import access_report

    camille.contact = in_base("camille@exemple.fr", purpose="volunteering")
    camille.save(update_fields=["contact"])
    invite(camille, "ana@exemple.fr\nben@exemple.fr")
    Client().post(link(smtp_recorder.to("ana@exemple.fr")[0]))
    ana = access_report(Contact.objects.get(email_key="ana@exemple.fr"))
    assert [(c["source"], c["source_ref"]) for c in ana["consents"]] == [
        ("invitation", f"volunteer:{camille.pk}")
    ]
    [entry] = access_report(camille.contact)["volunteering"]
    assert entry["invitations"] == {"addresses_given": 2, "confirmed": 1}


def test_the_reports_list_costs_the_same_queries_whatever_the_number_of_inviters(
    hq_client, django_assert_num_queries
):
    def reported_by(n: int) -> None:
        for i in range(n):
            inviter = VolunteerFactory.create(email=f"inviter{n}-{i}@exemple.fr")
            Invitation.objects.create(
                inviter=inviter, email_hash=f"{n}-{i}".ljust(64, "h"), status="reported"
            )

    url = reverse("army:invitation_reports")
    hq_client.get(url)  # warm the session
    counts = []
    for n in (1, 3):
        reported_by(n)
        with CaptureQueriesContext(connection) as queries:
            assert hq_client.get(url).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
    with django_assert_num_queries(counts[1]):
        response = hq_client.get(url)
    assert len(response.context["inviters"]) == 4


def test_my_invitations_page_costs_a_fixed_number_of_queries(
    camille, invite, client_of, django_assert_num_queries
):
    client = client_of(camille)
    client.get(PAGE)
    # session, user, volunteer (can_invite), volunteer with contact, requests, confirmed, the
    # menu's counts, whether they coordinate a team (the menu's Missions entry)
    with django_assert_num_queries(8):
        client.get(PAGE)
    invite(camille, "ana@exemple.fr, ben@exemple.fr")
    with django_assert_num_queries(8):
        client.get(PAGE)


ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("signed", ["²", "③", "١٢٣", "", " 12", "-1", "9" * 30, "arabic-indic"])
def test_a_signed_link_whose_id_is_not_ascii_digits_is_refused(
    camille, invite, smtp_recorder, signed
):
    # Only a holder of the secret key signs these; the link is refused all the same, not a 500
    # and not read as another invitation's.
    invite(camille, "ana@exemple.fr")
    if signed == "arabic-indic":
        signed = str(Invitation.objects.get().pk).translate(ARABIC_INDIC)
    confirm = signing.TimestampSigner(salt=svc.CONFIRM_SALT).sign(signed)
    report = signing.TimestampSigner(salt=svc.REPORT_SALT).sign(signed)
    assert Client().post(reverse("army_public:invitation_confirm", args=[confirm])).status_code == (
        400
    )
    assert Client().get(reverse("army_public:invitation_report", args=[report])).status_code == 400
    assert Consent.objects.get().status == "pending"
