"""The watch's triage decisions and alert choices in a person's GDPR access report."""

from __future__ import annotations

import pytest

from essaim.army.tests.factories import make_volunteer
from essaim.people.services.gdpr import access_report
from essaim.people.tests.factories import make_contact
from essaim.watch.models import AlertPreference, Story, TriageDecision

pytestmark = pytest.mark.django_db


def test_the_report_lists_the_decisions_a_person_took_or_was_given_and_no_one_elses() -> None:
    contact = make_contact("ines@exemple.fr")
    ines = make_volunteer("ines@exemple.fr", contact=contact).user
    other = make_volunteer("paul@exemple.fr").user
    story = Story.objects.create(title="Fermeture de la maternité")
    took = TriageDecision.objects.create(
        story=story, user=ines, decision="urgent", note="À suivre ce soir"
    )
    given = TriageDecision.objects.create(
        story=story, user=other, decision="assigned", assigned_to=ines
    )
    TriageDecision.objects.create(story=story, user=other, decision="pertinent", note="rien")
    assert access_report(contact)["watch_triage_decisions"] == [
        {
            "story": "Fermeture de la maternité",
            "decision": "urgent",
            "note": "À suivre ce soir",
            "taken_by_this_person": True,
            "given_to_this_person": False,
            "decided_at": took.created_at.isoformat(),
        },
        {
            "story": "Fermeture de la maternité",
            "decision": "assigned",
            "note": "",
            "taken_by_this_person": False,
            "given_to_this_person": True,
            "decided_at": given.created_at.isoformat(),
        },
    ]


def test_the_report_gives_the_alerts_a_person_chose_and_how() -> None:
    contact = make_contact("ines@exemple.fr")
    ines = make_volunteer("ines@exemple.fr", contact=contact).user
    assert access_report(contact)["watch_alert_preferences"] == []
    AlertPreference.objects.create(user=ines, urgent=True, spike=False, in_app=True, email=True)
    AlertPreference.objects.create(user=make_volunteer("paul@exemple.fr").user)
    assert access_report(contact)["watch_alert_preferences"] == [
        {"urgent": True, "spike": False, "in_app": True, "email": True}
    ]
