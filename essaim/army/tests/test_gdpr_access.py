"""A contact who volunteered: the GDPR access report holds the account, profile, roles, teams and
work of their volunteer account, and nothing of other volunteers'."""

from __future__ import annotations

import pytest

from essaim.army.models import Volunteer
from essaim.army.services.missions import accept_claim, claim_mission
from essaim.army.services.proofs import submit_proof
from essaim.army.tests.factories import (
    MissionFactory,
    TeamFactory,
    VolunteerFactory,
    seed_roles,
)
from essaim.people.services.gdpr import access_report
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.django_db


def test_access_report_holds_the_volunteer_account_and_work(hq):
    seed_roles()
    contact = make_contact("camille@exemple.fr")
    team = TeamFactory.create(name="Paris 11e")
    volunteer = VolunteerFactory.create(
        email="camille@exemple.fr", roles={"tchatcheur": "active"}, teams=[team], windows=1
    )
    Volunteer.objects.filter(pk=volunteer.pk).update(contact=contact)
    someone_else = VolunteerFactory.create(email="autre@exemple.fr", roles={"tchatcheur": "active"})
    mission = MissionFactory.create(quota=2)
    claim = claim_mission(volunteer=volunteer, mission_id=mission.pk)
    submit_proof(claim=claim, urls=["https://forum.exemple.fr/fil/42"], note="Fait avec mes mots")
    accept_claim(claim=claim, by=hq)
    claim_mission(volunteer=someone_else, mission_id=mission.pk)

    [entry] = access_report(contact)["volunteering"]

    assert entry["account"]["email"] == "camille@exemple.fr"
    assert entry["profile"]["time_windows"] and entry["profile"]["postcode"] == "75011"
    assert [(r["role"], r["stage"], len(r["history"])) for r in entry["roles"]] == [
        ("Tchatcheur", "active", 1)
    ]
    assert [(t["team"], t["state"]) for t in entry["teams"]] == [("Paris 11e", "member")]
    [work] = entry["missions"]
    assert (work["mission"], work["status"], work["points"]) == (mission.title, "accepted", 10)
    assert work["proofs"][0]["urls"] == ["https://forum.exemple.fr/fil/42"]
    assert work["proofs"][0]["note"] == "Fait avec mes mots"
    assert entry["mission_settings"]["total_points"] == 10
    assert "autre@exemple.fr" not in str(entry)


def test_the_report_lists_the_accounts_notifications_and_erasure_deletes_them(hq):
    from essaim.accounts.models import Notification, NotificationSettings
    from essaim.accounts.services.notifications import set_digest
    from essaim.people.services.gdpr import erase_contact

    seed_roles()
    contact = make_contact("camille@exemple.fr")
    volunteer = VolunteerFactory.create(email="camille@exemple.fr", roles={"tchatcheur": "active"})
    Volunteer.objects.filter(pk=volunteer.pk).update(contact=contact)
    other = VolunteerFactory.create(email="autre@exemple.fr", roles={"tchatcheur": "active"})
    mission = MissionFactory.create(title="Relayer le discours")
    set_digest(user=volunteer.user, digest="weekly")
    set_digest(user=other.user, digest="none")

    [entry] = access_report(contact)["notifications"]

    assert (entry["account"], entry["digest"]) == ("camille@exemple.fr", "weekly")
    assert [(n["kind"], n["object_id"], n["read_at"]) for n in entry["notifications"]] == [
        ("mission_offered", mission.pk, None)
    ]
    erase_contact(contact)
    assert list(Notification.objects.values_list("recipient_id", flat=True)) == [other.pk]
    assert list(NotificationSettings.objects.values_list("user_id", flat=True)) == [other.pk]
