"""Issue 16: the demo tells the campaign's story. The demo runs as `make run` runs it (twice: it
runs at every start), then the story is checked number by number, and the pages of each printed
login that show it answer 200 with those numbers.

The numbers are exact: the story is counted from midnight (people.services.demo.story_day) and
its random choices are seeded, so it is the same whatever the hour and the database."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db.models import Count
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.accounts.services import DEMO_COORDINATOR, DEMO_HQ_ADMIN, DEMO_VOLUNTEER
from essaim.army.models import Call, CallEvent, Claim, Invitation, Proof, Volunteer
from essaim.army.services import demo as army_demo
from essaim.army.services.calls import call_funnel
from essaim.army.services.missions import leaderboard
from essaim.army.tests.demo_support import demo_twice, logged_in
from essaim.mailing.models import BounceReport, Campaign, Delivery
from essaim.mailing.services import demo as mailing_demo
from essaim.mailing.services.progress import campaign_results
from essaim.people.models import Consent, Contact, ImportBatch, Purpose, Suppression
from essaim.people.services import demo as people_demo

pytestmark = pytest.mark.django_db

CONTACTS = 300
# Arrivals per week, eight weeks ago first: the demo's contacts ever faster, the adherents' file
# five weeks ago, the petition's two weeks ago, this week the demo's people and invitees.
WEEKS = [11, 25, 155, 45, 49, 140, 62, 62]
D = Delivery.Status


@pytest.fixture
def demo(settings: object) -> dict[str, str]:
    return demo_twice(settings, CONTACTS)


def page(client: Client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def figure(html: str, element_id: str) -> int:
    match = re.search(rf'id="{element_id}"><span class="figure">(\d+)</span>', html)
    assert match is not None, element_id
    return int(match.group(1))


# --- The base ---------------------------------------------------------------------------------


def test_the_base_grew_over_eight_weeks_from_every_source(demo: dict[str, str]) -> None:
    today = timezone.localdate()
    assert Contact.objects.filter(source="démo").count() == CONTACTS
    weeks = Counter(
        (today - timezone.localtime(at).date()).days // 7
        for at in Contact.objects.values_list("created_at", flat=True)
    )
    assert [weeks[w] for w in range(7, -1, -1)] == WEEKS
    # The imported files, through the import service, on their days.
    batches = {b.filename: b for b in ImportBatch.objects.all()}
    assert {name: (b.status, b.imported) for name, b in batches.items()} == {
        name: (ImportBatch.Status.DONE, rows) for name, rows, *_ in people_demo.IMPORTS
    }
    for name, rows, basis, purposes, _source, _tag, days_ago in people_demo.IMPORTS:
        contacts = Contact.objects.filter(import_batch=batches[name])
        days = {(today - timezone.localtime(c.created_at).date()).days for c in contacts}
        assert days == {days_ago}
        consents = Consent.objects.filter(contact__in=contacts, source=Consent.Source.IMPORT)
        assert Counter(consents.values_list("purpose", "basis")) == {
            (p, basis): rows for p in purposes
        }
    # The public form's double opt-in.
    form = Consent.objects.filter(source=Consent.Source.SIGNUP_FORM, purpose=Purpose.NEWS)
    assert form.filter(contact__email__contains=".formulaire@").count() == people_demo.SIGNUPS
    assert form.filter(confirmed_at__isnull=True).count() == 0
    # Who left: unsubscribes, hard bounces, complaints (after each campaign), one abuse report.
    reasons = Counter(Suppression.objects.values_list("reason", flat=True))
    assert reasons == {
        Suppression.Reason.UNSUBSCRIBE: sum(p.unsubscribed for p in mailing_demo.PAST),
        Suppression.Reason.HARD_BOUNCE: sum(p.bounced for p in mailing_demo.PAST),
        Suppression.Reason.COMPLAINT: sum(p.complained for p in mailing_demo.PAST),
        Suppression.Reason.ABUSE_REPORT: 1,
    }


# --- Campaigns --------------------------------------------------------------------------------


def test_campaigns_were_sent_over_the_weeks_with_their_results(demo: dict[str, str]) -> None:
    states = Counter(Campaign.objects.values_list("status", flat=True))
    # Three letters and the call's mail sent, one draft, one scheduled.
    assert states == {
        Campaign.Status.DONE: 4,
        Campaign.Status.DRAFT: 1,
        Campaign.Status.SCHEDULED: 1,
    }
    audiences = {}
    for past in mailing_demo.PAST:
        campaign = Campaign.objects.get(name=past.name)
        ledger = Delivery.objects.filter(campaign=campaign)
        audiences[past.name] = campaign.audience_count
        assert campaign.audience_count == ledger.count()
        # Its audience was who was in the base on the day.
        assert not ledger.filter(contact__created_at__gte=campaign.started_at).exists()
        assert campaign.started_at == people_demo.story_day(
            timezone.now(), past.days_ago, past.hour
        )
        expected = Counter(
            {
                D.ACCEPTED: campaign.audience_count - past.bounced - past.complained,
                D.BOUNCED: past.bounced,
                D.COMPLAINED: past.complained,
            }
        )
        statuses = Counter(dict(ledger.values_list("status").annotate(n=Count("id"))))
        assert statuses == expected - Counter()  # the zeros dropped
        assert campaign_results(campaign) == {
            "accepted": campaign.audience_count - past.bounced - past.complained,
            "rejected": 0,
            "bounced": past.bounced,
            "complained": past.complained,
            "unsubscribed": past.unsubscribed,
            "unknown": 0,
            "soft_bounces": 0,
            "unparsed_reports": 0,
        }
        reports = Counter(
            BounceReport.objects.filter(campaign=campaign).values_list("kind", flat=True)
        )
        assert (
            reports
            == Counter(
                {
                    BounceReport.Kind.HARD_BOUNCE: past.bounced,
                    BounceReport.Kind.COMPLAINT: past.complained,
                }
            )
            - Counter()
        )
    # The base grew between the letters.
    assert audiences == {
        "Lettre n°1 — la campagne est lancée": 36,
        "Réunion publique du 11e": 227,
        "Lettre n°2 — nos propositions pour l'école": 434,
    }
    scheduled = Campaign.objects.get(status=Campaign.Status.SCHEDULED)
    assert scheduled.scheduled_at is not None and scheduled.scheduled_at > timezone.now()
    assert Delivery.objects.filter(campaign=scheduled, status=D.PENDING).count() == (
        scheduled.audience_count
    )


# --- The call and its funnel -------------------------------------------------------------------


def test_the_call_has_a_funnel_over_three_days(demo: dict[str, str]) -> None:
    call = Call.objects.select_related("campaign").get()
    funnel = call_funnel(call)
    assert funnel.totals == {"reached": 303, "visited": 33, "signed_up": 18, "first_mission": 2}
    assert funnel.audience == 303
    assert funnel.unit == "hour"
    sent_at = people_demo.story_day(timezone.now(), army_demo.CALL_DAYS, army_demo.CALL_HOUR)
    assert funnel.buckets[0].start == sent_at
    # Spread over hours and days, not in one hour: the mail over three hours, the visits over
    # the three days, most of them on the first.
    reached_hours = [b.start.hour for b in funnel.buckets if b.counts["reached"]]
    assert reached_hours == [9, 10, 11]
    days = Counter(
        (timezone.localtime(at).date() - sent_at.date()).days
        for at in CallEvent.objects.filter(kind=CallEvent.Kind.VISIT).values_list("at", flat=True)
    )
    assert days == {0: 20, 1: 11, 2: 2}
    # The team's members answered it, and two of them did their first mission.
    answered = {p.email for p in army_demo.PEOPLE if p.answered_call is not None}
    signed = set(
        Volunteer.objects.filter(
            contact__in=CallEvent.objects.filter(kind=CallEvent.Kind.SIGNUP).values("contact")
        ).values_list("user__email", flat=True)
    )
    assert answered <= signed
    assert len(signed) == 18
    consents = Consent.objects.filter(purpose=Purpose.VOLUNTEERING, source=Consent.Source.CALL)
    assert consents.filter(source_ref=f"call:{call.pk}").count() == 18


# --- Missions, proofs, invitations, points ----------------------------------------------------


def test_proofs_were_accepted_returned_and_wait_for_review(demo: dict[str, str]) -> None:
    claims = Counter(Claim.objects.values_list("status", flat=True))
    assert claims == {Claim.Status.ACCEPTED: 2, Claim.Status.RETURNED: 1, Claim.Status.SUBMITTED: 2}
    assert Proof.objects.count() == 5
    returned = Claim.objects.get(status=Claim.Status.RETURNED)
    assert returned.volunteer.user.email == DEMO_VOLUNTEER
    assert returned.feedback == army_demo.RETURN_NOTE
    for claim in Claim.objects.all():
        assert claim.claimed_at < claim.submitted_at  # type: ignore[operator]
        if claim.reviewed_at is not None:
            assert claim.submitted_at < claim.reviewed_at  # type: ignore[operator]
            assert claim.reviewed_at < timezone.now()


def test_the_mondain_invited_some_confirmed_one_reported(demo: dict[str, str]) -> None:
    assert Counter(Invitation.objects.values_list("status", flat=True)) == {
        Invitation.Status.CONFIRMED: 4,
        Invitation.Status.SENT: 3,
        Invitation.Status.REPORTED: 1,
    }
    assert set(Invitation.objects.values_list("inviter__user__email", flat=True)) == {
        DEMO_VOLUNTEER
    }
    assert [(s.name, s.points, s.missions) for s in leaderboard()] == [
        ("Volontaire", 20, 0),
        ("Camille", 10, 1),
        ("Karim", 10, 1),
    ]


# --- The pages of each login ------------------------------------------------------------------


def test_hq_sees_the_campaigns_results_and_the_call_funnel(demo: dict[str, str]) -> None:
    client = logged_in(DEMO_HQ_ADMIN, demo[DEMO_HQ_ADMIN])
    listing = page(client, reverse("mailing:campaign_list"))
    for campaign in Campaign.objects.all():
        assert campaign.name.replace("'", "&#x27;") in listing
    for past in mailing_demo.PAST:
        campaign = Campaign.objects.get(name=past.name)
        html = page(client, reverse("mailing:campaign_detail", args=[campaign.pk]))
        audience = campaign.audience_count or 0
        assert figure(html, "result-accepted") == audience - past.bounced - past.complained
        assert figure(html, "result-bounced") == past.bounced
        assert figure(html, "result-complained") == past.complained
        assert figure(html, "result-unsubscribed") == past.unsubscribed
    call = Call.objects.get()
    html = page(client, reverse("army:call_detail", args=[call.pk]))
    shown = dict(re.findall(r'<dd id="total-([a-z_]+)">(\d+)</dd>', html))
    assert shown == {
        "reached": "303",
        "visited": "33",
        "signed_up": "18",
        "first_mission": "2",
        "audience": "303",
    }
    assert '<canvas id="chart-call-funnel"' in html
    queue = page(client, reverse("army:review_queue"))
    assert sorted(map(int, re.findall(r'data-claim="(\d+)"', queue))) == sorted(
        Claim.objects.filter(status=Claim.Status.SUBMITTED).values_list("pk", flat=True)
    )


def test_the_coordinator_has_proofs_to_review_and_a_leaderboard(demo: dict[str, str]) -> None:
    client = logged_in(DEMO_COORDINATOR, demo[DEMO_COORDINATOR])
    queue = page(client, reverse("army:review_queue"))
    waiting = Claim.objects.filter(status=Claim.Status.SUBMITTED).values_list("pk", flat=True)
    assert len(waiting) == 2
    assert sorted(map(int, re.findall(r'data-claim="(\d+)"', queue))) == sorted(waiting)
    board = page(client, reverse("army:leaderboard"))
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>(\d+)</td><td>(\d+)</td></tr>", board)
    assert rows == [
        ("1", "Volontaire", "20", "0"),
        ("2", "Camille", "10", "1"),
        ("3", "Karim", "10", "1"),
    ]


def test_the_volunteer_sees_the_returned_proof_and_the_invitations(demo: dict[str, str]) -> None:
    client = logged_in(DEMO_VOLUNTEER, demo[DEMO_VOLUNTEER])
    missions = page(client, reverse("army:my_missions"))
    assert army_demo.RETURN_NOTE.replace("'", "&#x27;") in missions
    invitations = page(client, reverse("army:invitations"))
    shown = dict(re.findall(r'<dd data-testid="(sent|confirmed|points)">(\d+)</dd>', invitations))
    assert shown == {"sent": "8", "confirmed": "4", "points": "20"}
    board = page(client, reverse("army:leaderboard"))
    assert "<td>Volontaire</td><td>20</td>" in board
