"""Phishing from the campaign's address (issue 14, item 5), replayed and closed: only trained or
active mondains invite, notes carry no links, new accounts get a small daily quota, the
campaign has a daily cap on invitation mail (beyond it invitations wait, nothing lost, nothing
sent twice), and abuse reports suspend an inviter until a coordinator or HQ lifts it."""

from __future__ import annotations

import html
import re
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.models import AuditEvent
from essaim.army import rules
from essaim.army.models import (
    Invitation,
    InvitationMailDay,
    InvitationRequest,
    RoleAssignment,
    Stage,
    Volunteer,
)
from essaim.army.services import invitations as svc
from essaim.army.services.inviters import standing
from essaim.army.tests.factories import (
    InviterFactory,
    TeamFactory,
    VolunteerFactory,
)
from essaim.people.models import Contact

PAGE = reverse("army:invitations")
PHISHING = "Votre compte est suspendu : https://evil.example/verify"
REPORT_RE = re.compile(r"(https?://\S+/invitation/[^/\s]+/signaler/)")


@pytest.fixture(autouse=True)
def fresh_rate_limits(db: Any) -> None:
    cache.clear()


def client_of(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def nothing_recorded() -> bool:
    return (
        InvitationRequest.objects.count(),
        Invitation.objects.count(),
        Contact.objects.count(),
    ) == (0, 0, 0)


@pytest.fixture
def invite(django_capture_on_commit_callbacks: Any, smtp_recorder: Any) -> Any:
    def post(volunteer: Any, addresses: list[str], note: str = "") -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return client_of(volunteer.user).post(
                PAGE, {"addresses": "\n".join(addresses), "note": note, "action": "send"}
            )

    return post


def fifty() -> list[str]:
    return [f"cible{n}@exemple.fr" for n in range(50)]


# --- The attack ---------------------------------------------------------------------------------


def test_a_self_registered_applied_volunteer_sending_fifty_phishing_notes_is_refused(
    invite, smtp_recorder
):
    applicant = InviterFactory.create(email="intrus@exemple.fr", stage=Stage.APPLIED, trusted=False)
    response = invite(applicant, fifty(), PHISHING)
    assert response.status_code == 403
    assert "Votre rôle de mondain est à l&#x27;étape « Candidat »" in response.text
    assert nothing_recorded() and smtp_recorder.messages == []


def test_the_same_attack_from_a_trusted_mondain_is_refused_for_the_link(invite, smtp_recorder):
    response = invite(InviterFactory.create(), fifty(), PHISHING)
    assert response.status_code == 200
    assert "Pas de lien ni d&#x27;adresse de site dans le mot personnel" in response.text
    assert nothing_recorded() and smtp_recorder.messages == []


# --- Who may invite -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "allowed"),
    [
        ({}, False),
        ({"tchatcheur": Stage.ACTIVE}, False),
        ({"mondain": Stage.APPLIED}, False),
        ({"mondain": Stage.LAPSED}, False),
        ({"mondain": Stage.TRAINED}, True),
        ({"mondain": Stage.ACTIVE}, True),
    ],
)
def test_only_trained_or_active_mondains_may_invite(roles, allowed, invite, smtp_recorder):
    volunteer = VolunteerFactory.create(roles=roles)
    assert rules.can_invite(volunteer.user) is allowed
    page = client_of(volunteer.user).get(PAGE)
    assert page.status_code == 200
    assert ("Envoyer les invitations" in page.text) is allowed
    assert ('data-testid="invite-refusal"' in page.text) is not allowed
    response = invite(volunteer, ["ana@exemple.fr"])
    assert response.status_code == (302 if allowed else 403)
    assert InvitationRequest.objects.count() == (1 if allowed else 0)
    assert len(smtp_recorder.messages) == (1 if allowed else 0)


def test_my_space_links_to_invitations_only_for_those_who_may_and_says_why_to_others():
    applicant = VolunteerFactory.create(roles={"mondain": Stage.APPLIED})
    page = client_of(applicant.user).get(reverse("army:profile")).text
    assert "Inviter mes contacts" not in page
    assert "seuls les mondains formés ou actifs invitent" in html.unescape(page)
    trusted = InviterFactory.create()
    assert "Inviter mes contacts" in client_of(trusted.user).get(reverse("army:profile")).text


def test_the_service_itself_refuses_a_volunteer_who_may_not_invite():
    applicant = InviterFactory.create(stage=Stage.APPLIED)
    with pytest.raises(svc.NotAllowed) as refused:
        svc.request_invitations(volunteer=applicant, addresses=["ana@exemple.fr"])
    assert refused.value.code == "not_trusted"
    assert nothing_recorded()


# --- The note carries no link -------------------------------------------------------------------

LINKS = [
    PHISHING,
    "https://evil.example/verify",
    "http://evil.example",
    "evil.example/verify",
    "evil.example",
    "EVIL.EXAMPLE",
    "www.evil.example",
    "www evil example",
    "hxxps://evil[.]example/verify",
    "hxxp://evil.example",
    "h**p://evil.example",
    "evil . example/verify",
    "evil .example",
    "evil. example/verify",
    "evil[.]example",
    "evil(.)example",
    "evil (dot) example",
    "evil dot example",
    "evil\u3002example",  # ideographic full stop
    "evil\uff0eexample",  # full-width full stop
    "evil\u2024example",  # one dot leader
    "\uff45\uff56\uff49\uff4c\uff0e\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45",  # full-width
    "evil\u200b.example",  # zero-width space
    "http : / / evil",
    "192.168.10.1/login",
    "xn--80ak6aa92e.com",
    "bit.ly/x",
    "écris à ana@evil.example",
]
PROSE = [
    "Viens, c'est important. On se voit demain.",
    "Salut ! Rejoins-nous, p. ex. samedi.",
    "p.ex. samedi",
    "Il a 3.5 ans.",
    "Fin. Je viens. Etc.",
    "Les volontaires engagé·es, tou·te·s ensemble.",
    "Samedi • 18 h • mairie",
    "Un point, c'est tout.",
    "Rendez-vous à 18 h. Merci !",
    "Je t'en parlais dimanche : le site de la campagne t'expliquera tout.",
]


@pytest.mark.parametrize("note", LINKS)
def test_a_note_with_a_link_or_a_domain_however_disguised_is_refused(note):
    with pytest.raises(svc.InvitationError, match="Pas de lien"):
        svc.clean_note(note)


@pytest.mark.parametrize("note", PROSE)
def test_ordinary_prose_passes(note):
    assert svc.clean_note(note) == note


def test_the_note_stays_short():
    assert svc.clean_note("x" * 200) == "x" * 200
    with pytest.raises(svc.InvitationError, match="trop long"):
        svc.clean_note("x" * 201)
    assert svc.clean_note("Salut\nViens\nBises") == "Salut\nViens\nBises"
    with pytest.raises(svc.InvitationError, match="trop long"):
        svc.clean_note("Salut\nViens\nSamedi\nBises")


def test_the_name_in_the_subject_is_letters_only_and_short(invite, smtp_recorder):
    inviter = InviterFactory.create(
        first_name="Banque : evil.example/verify — urgent suspendu bientôt"
    )
    inviter.user.full_name = "x"
    inviter.user.save(update_fields=["full_name"])
    invite(inviter, ["ana@exemple.fr"])
    subject = smtp_recorder.messages[0].message["Subject"]
    assert subject == "Banque evil example verify vous invite à rejoindre la campagne"
    assert len(svc.display_name(inviter)) <= svc.MAX_SHOWN_NAME


# --- New accounts get a small quota -------------------------------------------------------------


@pytest.mark.parametrize(
    ("age_days", "worked", "limit"),
    [(1, False, 5), (1, True, 5), (60, False, 5), (60, True, 50)],
)
def test_new_accounts_or_accounts_without_accepted_work_get_the_small_daily_limit(
    age_days, worked, limit, settings
):
    settings.INVITATIONS_DAILY_LIMIT = 50
    settings.INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT = 5
    settings.INVITATIONS_NEW_ACCOUNT_DAYS = 14
    inviter = InviterFactory.create(trusted=False)
    type(inviter.user).objects.filter(pk=inviter.pk).update(
        date_joined=timezone.now() - timedelta(days=age_days)
    )
    if worked:
        RoleAssignment.objects.filter(volunteer=inviter).update(
            last_accepted_work_at=timezone.now()
        )
    assert standing(inviter).daily_limit == limit


def test_a_new_account_may_invite_five_a_day_and_the_sixth_is_refused_whole(
    invite, smtp_recorder, settings
):
    settings.INVITATIONS_NEW_ACCOUNT_DAILY_LIMIT = 5
    newcomer = InviterFactory.create(trusted=False)
    response = invite(newcomer, [f"a{n}@exemple.fr" for n in range(6)])
    assert response.status_code == 200
    assert "Vous pouvez encore inviter 5 personnes aujourd&#x27;hui (5 par jour)" in response.text
    assert (InvitationRequest.objects.count(), smtp_recorder.messages) == (0, [])
    assert invite(newcomer, [f"a{n}@exemple.fr" for n in range(5)]).status_code == 302
    assert len(smtp_recorder.messages) == 5


def test_a_confirmed_invitee_is_accepted_work_for_the_mondain(invite, smtp_recorder):
    inviter = InviterFactory.create(trusted=False)
    invite(inviter, ["ana@exemple.fr"])
    confirm = re.search(r"(https?://\S+/invitation/[^/\s]+/)\s", smtp_recorder.messages[0].text)
    assert confirm is not None
    Client().post(confirm[1])
    assert RoleAssignment.objects.get(volunteer=inviter).last_accepted_work_at is not None


# --- The campaign's daily cap -------------------------------------------------------------------


def recipients(smtp_recorder: Any) -> list[str]:
    return sorted(r for m in smtp_recorder.messages for r in m.rcpt_to)


def test_beyond_the_campaigns_daily_cap_invitations_wait_for_the_next_day_and_go_once(
    invite, smtp_recorder, settings
):
    settings.INVITATIONS_CAMPAIGN_DAILY_CAP = 3
    invite(InviterFactory.create(email="un@exemple.fr"), ["a@exemple.fr", "b@exemple.fr"])
    invite(
        InviterFactory.create(email="deux@exemple.fr"),
        ["c@exemple.fr", "d@exemple.fr", "e@exemple.fr"],
    )
    assert recipients(smtp_recorder) == ["a@exemple.fr", "b@exemple.fr", "c@exemple.fr"]
    assert Invitation.objects.filter(sent_at__isnull=True).count() == 2

    assert svc.send_waiting_invitations() == 0  # still today: no room
    tomorrow = timezone.now() + timedelta(days=1)
    assert svc.send_waiting_invitations(now=tomorrow) == 2
    assert svc.send_waiting_invitations(now=tomorrow) == 0
    assert recipients(smtp_recorder) == [f"{x}@exemple.fr" for x in "abcde"]
    assert dict(InvitationMailDay.objects.values_list("day", "sent")) == {
        timezone.localdate(): 3,
        timezone.localdate(tomorrow): 2,
    }
    assert not Invitation.objects.filter(sent_at__isnull=True).exists()


def test_the_waiting_invitations_fill_only_the_room_left_on_a_day(invite, smtp_recorder, settings):
    settings.INVITATIONS_CAMPAIGN_DAILY_CAP = 2
    invite(InviterFactory.create(), [f"{x}@exemple.fr" for x in "abcdefg"])
    tomorrow = timezone.now() + timedelta(days=1)
    assert svc.send_waiting_invitations(now=tomorrow) == 2
    assert svc.send_waiting_invitations(now=tomorrow + timedelta(days=1)) == 2
    assert len(smtp_recorder.messages) == 6
    assert Invitation.objects.filter(sent_at__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs_never_pass_the_cap_nor_mail_anyone_twice(
    threadable_db,
    smtp_recorder,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.INVITATIONS_CAMPAIGN_DAILY_CAP = 0  # everything waits at first
    with django_capture_on_commit_callbacks(execute=True):
        svc.request_invitations(
            volunteer=InviterFactory.create(), addresses=[f"{x}@exemple.fr" for x in "abcdef"]
        )
    assert smtp_recorder.messages == []
    settings.INVITATIONS_CAMPAIGN_DAILY_CAP = 4
    start = threading.Barrier(3)
    sent: list[int] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            start.wait()
            n = svc.send_waiting_invitations()
            with lock:
                sent.append(n)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 4
    mailed = recipients(smtp_recorder)
    assert len(mailed) == len(set(mailed)) == 4
    assert InvitationMailDay.objects.get().sent == 4
    assert Invitation.objects.filter(sent_at__isnull=True).count() == 2


# --- Abuse reports suspend an inviter -----------------------------------------------------------


def report(mail: Any) -> None:
    found = REPORT_RE.search(mail.text)
    assert found is not None
    assert Client().post(found[1]).status_code == 200


@pytest.fixture
def suspended(invite: Any, smtp_recorder: Any, settings: Any, coordinator: Any) -> Any:
    """An inviter of Paris 11e reported twice (the threshold), with one invitation waiting."""
    settings.INVITATIONS_ABUSE_SUSPEND_THRESHOLD = 2
    settings.INVITATIONS_CAMPAIGN_DAILY_CAP = 2
    team = TeamFactory.create(name="Paris 11e", coordinators=[coordinator])
    inviter = InviterFactory.create(email="olympe@exemple.fr", first_name="Olympe", teams=[team])
    invite(inviter, ["ana@exemple.fr", "ben@exemple.fr", "chloe@exemple.fr"])
    report(smtp_recorder.to("ana@exemple.fr")[0])
    assert Volunteer.objects.get(pk=inviter.pk).invitations_suspended_at is None
    report(smtp_recorder.to("ben@exemple.fr")[0])
    inviter.refresh_from_db()
    inviter.team = team  # type: ignore[attr-defined]
    return inviter


def test_reports_past_the_threshold_suspend_the_inviter_once_and_audit_it(suspended):
    assert suspended.invitations_suspended_at is not None
    [event] = AuditEvent.objects.filter(action="army.invitations_suspended")
    assert (event.object_id, event.details["reports"]) == (str(suspended.pk), 2)


def test_a_suspended_inviter_cannot_invite_and_their_waiting_invitation_is_not_sent(
    suspended, invite, smtp_recorder
):
    assert rules.can_invite(suspended.user) is False
    page = client_of(suspended.user).get(PAGE)
    assert "Vos invitations sont suspendues" in page.text
    assert "Envoyer les invitations" not in page.text
    asked = InvitationRequest.objects.count()
    response = invite(suspended, ["dan@exemple.fr"])
    assert response.status_code == 403
    assert InvitationRequest.objects.count() == asked
    assert svc.send_waiting_invitations(now=timezone.now() + timedelta(days=1)) == 0
    assert smtp_recorder.to("chloe@exemple.fr") == []
    assert smtp_recorder.to("dan@exemple.fr") == []


def test_the_teams_coordinator_sees_the_suspension_and_lifts_it_audited(
    suspended, coordinator, smtp_recorder
):
    member = reverse("army:member_detail", args=[suspended.team.pk, suspended.pk])
    client = client_of(coordinator)
    assert 'data-testid="invitations-suspended"' in client.get(member).text
    lift = reverse("army:invitation_lift", args=[suspended.pk])
    assert client.post(lift, {"next": member})["Location"] == member
    suspended.refresh_from_db()
    assert suspended.invitations_suspended_at is None
    event = AuditEvent.objects.get(action="army.invitations_lifted")
    assert (event.actor, event.object_id) == (coordinator, str(suspended.pk))
    # The waiting invitation goes out with the next run, on a day with room.
    assert svc.send_waiting_invitations(now=timezone.now() + timedelta(days=1)) == 1
    assert len(smtp_recorder.to("chloe@exemple.fr")) == 1


def test_reports_before_a_lift_do_not_count_towards_the_next_suspension(
    suspended, coordinator, smtp_recorder
):
    client_of(coordinator).post(reverse("army:invitation_lift", args=[suspended.pk]))
    svc.send_waiting_invitations(now=timezone.now() + timedelta(days=1))
    report(smtp_recorder.to("chloe@exemple.fr")[0])
    suspended.refresh_from_db()
    assert suspended.invitations_suspended_at is None


def test_reports_older_than_the_window_do_not_count(invite, smtp_recorder, settings):
    settings.INVITATIONS_ABUSE_SUSPEND_THRESHOLD = 2
    settings.INVITATIONS_ABUSE_WINDOW_DAYS = 30
    inviter = InviterFactory.create()
    invite(inviter, ["ana@exemple.fr", "ben@exemple.fr"])
    report(smtp_recorder.to("ana@exemple.fr")[0])
    Invitation.objects.filter(status="reported").update(
        reported_at=timezone.now() - timedelta(days=31)
    )
    report(smtp_recorder.to("ben@exemple.fr")[0])
    inviter.refresh_from_db()
    assert inviter.invitations_suspended_at is None


def test_hq_sees_the_suspension_on_the_reports_list_and_may_lift_it(suspended, hq):
    client = client_of(hq)
    page = client.get(reverse("army:invitation_reports"))
    assert f'data-testid="suspended-{suspended.pk}"' in page.text
    client.post(reverse("army:invitation_lift", args=[suspended.pk]))
    suspended.refresh_from_db()
    assert suspended.invitations_suspended_at is None


def test_another_teams_coordinator_or_the_inviter_cannot_lift_it_and_nothing_changes(
    suspended, other_coordinator
):
    TeamFactory.create(name="Lyon 3e", departement="69", coordinators=[other_coordinator])
    lift = reverse("army:invitation_lift", args=[suspended.pk])
    for user in (other_coordinator, suspended.user):
        assert client_of(user).post(lift).status_code == 404
    suspended.refresh_from_db()
    assert suspended.invitations_suspended_at is not None
    assert not AuditEvent.objects.filter(action="army.invitations_lifted").exists()
