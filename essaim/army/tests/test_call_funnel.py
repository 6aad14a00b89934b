"""The funnel of a call over time: reached, page visited, signed up, first mission accepted —
counted in SQL per hour, summed per day beyond three days, drawn as an inline SVG."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.utils import timezone

from essaim.army.models import CallEvent, Claim
from essaim.army.services.calls import call_funnel, funnel_chart, record_signup, record_visit
from essaim.army.tests.call_helpers import launch, paris_segment
from essaim.army.tests.factories import (
    CallFactory,
    MissionFactory,
    VolunteerFactory,
)
from essaim.mailing.models import Delivery
from essaim.mailing.tests.factories import make_audience
from essaim.people.models import Consent, Contact, Segment

T0 = dt.datetime(2027, 3, 6, 9, 0, tzinfo=dt.UTC)  # a Saturday, 10:00 in Paris


def _at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def accepted_at(deliveries: list[Delivery], hours: list[float]) -> None:
    for delivery, h in zip(deliveries, hours, strict=False):
        Delivery.objects.filter(pk=delivery.pk).update(
            status=Delivery.Status.ACCEPTED, last_change_at=_at(h)
        )


@pytest.fixture
def call(hq: Any) -> Any:
    segment = paris_segment(*[(f"p{i}@exemple.fr", f"P{i}") for i in range(5)])
    return CallFactory.create(segment=segment, user=hq)


def test_a_call_not_yet_sent_has_an_empty_funnel_and_no_chart(call):
    funnel = call_funnel(call)
    assert (funnel.audience, funnel.buckets, funnel.totals) == (
        None,
        [],
        {"reached": 0, "visited": 0, "signed_up": 0, "first_mission": 0},
    )
    assert funnel_chart(call, funnel) is None


def test_the_funnel_counts_each_step_per_hour(call, hq):
    deliveries = launch(call)
    accepted_at(deliveries, [0.1, 0.2, 0.5, 1.5])  # the fifth is still pending
    Delivery.objects.filter(pk=deliveries[3].pk).update(status=Delivery.Status.BOUNCED)
    contacts = [Contact.objects.get(delivery=d) for d in deliveries]
    for contact, h in [(contacts[0], 0.3), (contacts[1], 1.2), (contacts[2], 1.7)]:
        record_visit(call, contact)
        CallEvent.objects.filter(contact=contact).update(at=_at(h))
    record_visit(call, contacts[0])  # a refresh
    record_signup(call, contacts[0])
    record_signup(call, contacts[1])
    CallEvent.objects.filter(kind="signup").update(at=_at(1.8))
    # contacts[0] became a volunteer and got a first mission accepted (then a second).
    volunteer = VolunteerFactory.create(email="p0@exemple.fr")
    volunteer.contact = contacts[0]
    volunteer.save()
    for h in (2.5, 2.9):
        Claim.objects.create(
            mission=MissionFactory.create(by=hq, title=f"Mission {h}"),
            volunteer=volunteer,
            status=Claim.Status.ACCEPTED,
            reviewed_at=_at(h),
        )
    # A volunteer of no call, with accepted work, counts nowhere.
    other = VolunteerFactory.create(email="ailleurs@exemple.fr")
    Claim.objects.create(
        mission=MissionFactory.create(by=hq, title="Autre"),
        volunteer=other,
        status="accepted",
        reviewed_at=_at(1),
    )

    funnel = call_funnel(call, now=_at(3.2))

    assert (funnel.audience, funnel.unit) == (5, "hour")
    assert funnel.totals == {"reached": 3, "visited": 3, "signed_up": 2, "first_mission": 1}
    paris = [timezone.localtime(_at(h)).hour for h in range(4)]
    assert [(b.start.hour, b.counts) for b in funnel.buckets] == [
        (paris[0], {"reached": 3, "visited": 1, "signed_up": 0, "first_mission": 0}),
        (paris[1], {"reached": 0, "visited": 2, "signed_up": 2, "first_mission": 0}),
        (paris[2], {"reached": 0, "visited": 0, "signed_up": 0, "first_mission": 1}),
        (paris[3], {"reached": 0, "visited": 0, "signed_up": 0, "first_mission": 0}),
    ]
    assert [b.totals["reached"] for b in funnel.buckets] == [3, 3, 3, 3]
    assert [b.totals["signed_up"] for b in funnel.buckets] == [0, 2, 2, 2]
    assert funnel.buckets[-1].totals == funnel.totals


def test_a_call_longer_than_three_days_is_shown_per_day(call):
    deliveries = launch(call)
    accepted_at(deliveries, [0, 1, 30, 50, 80])
    funnel = call_funnel(call, now=_at(100))
    assert funnel.unit == "day"
    days = [(b.start.date().isoformat(), b.counts["reached"]) for b in funnel.buckets]
    assert days == [
        ("2027-03-06", 2),
        ("2027-03-07", 1),
        ("2027-03-08", 1),
        ("2027-03-09", 1),
        ("2027-03-10", 0),
    ]
    assert all(b.start.hour == 0 for b in funnel.buckets)


def test_the_chart_draws_one_cumulated_line_per_step(call):
    deliveries = launch(call)
    accepted_at(deliveries, [0, 0, 1, 2, 2])
    drawn = funnel_chart(call, call_funnel(call, now=_at(2)))
    assert drawn is not None
    assert (drawn.kind, drawn.id) == ("line", "call-funnel")
    assert [s.label for s in drawn.series] == [
        "Atteints",
        "Page visitée",
        "Inscrits",
        "Première mission acceptée",
    ]
    assert drawn.series[0].values == [2, 3, 5]
    assert drawn.series[1].values == [0, 0, 0]
    assert drawn.labels == ["06/03 10h", "06/03 11h", "06/03 12h"]  # Paris time
    assert drawn.spec["series"][0] == {
        "label": "Atteints",
        "values": [2, 3, 5],
        "color": "chart-1",
    }


def test_a_funnel_within_one_hour_still_draws_a_line_per_step(call):
    deliveries = launch(call)
    accepted_at(deliveries, [0.1, 0.2, 0.3, 0.4, 0.5])
    drawn = funnel_chart(call, call_funnel(call, now=_at(0.6)))
    assert drawn is not None
    # From nothing at the hour's start to the hour's total at its end: two points, a line.
    assert drawn.labels == ["06/03 10h", "06/03 11h"]
    assert [s.values for s in drawn.series] == [[0, 5], [0, 0], [0, 0], [0, 0]]


def test_the_funnel_is_counted_in_a_fixed_number_of_queries_whatever_the_audience(
    hq, django_assert_num_queries
):
    make_audience(300, domain="exemple.fr")
    Consent.objects.update(purpose="mobilization")
    Contact.objects.update(departement="75")
    segment = Segment.objects.create(name="Tous", definition={"departements": ["75"]})
    call = CallFactory.create(segment=segment, user=hq)
    launch(call)
    Delivery.objects.update(status=Delivery.Status.ACCEPTED, last_change_at=_at(0))
    for contact in Contact.objects.all()[:50]:
        record_visit(call, contact)
    with django_assert_num_queries(4):
        funnel = call_funnel(call, now=_at(1))
    assert funnel.totals["reached"] == 300
    assert funnel.totals["visited"] == 50


def test_the_call_page_shows_the_numbers_and_the_chart(call, hq_client):
    deliveries = launch(call)
    accepted_at(deliveries, [0, 0, 1])
    record_visit(call, Contact.objects.get(delivery=deliveries[0]))
    page = hq_client.get(f"/armee/appels/{call.pk}/").content.decode()
    assert re.search(r'id="total-reached">3<', page)
    assert re.search(r'id="total-visited">1<', page)
    assert re.search(r'id="total-audience">5<', page)
    # The chart: a canvas that Chart.js draws from the JSON beside it, described by the table.
    assert '<canvas id="chart-call-funnel" data-chart="chart-call-funnel-data" role="img"' in page
    assert 'aria-describedby="funnel-table"' in page
    data = re.search(
        r'<script id="chart-call-funnel-data" type="application/json">(.*?)</script>', page
    )
    assert data is not None
    assert [s["values"][-1] for s in json.loads(data[1])["series"]] == [3, 1, 0, 0]
    assert 'id="funnel-table"' in page
