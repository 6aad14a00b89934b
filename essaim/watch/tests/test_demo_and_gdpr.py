"""The watch's part of the demo and of a person's GDPR access report."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from essaim.army.tests.factories import make_volunteer
from essaim.people.services.gdpr import access_report
from essaim.people.tests.factories import make_contact
from essaim.watch.models import FetchLog, Item, Source, Story, Watchlist
from essaim.watch.services.demo import seed_demo_watch
from essaim.watch.tests.factories import SourceFactory
from essaim.watch.watcher import claims

pytestmark = pytest.mark.django_db


def test_the_demo_shows_sources_in_each_state_once() -> None:
    assert seed_demo_watch() == (
        "7 watch sources created, 23 items, 4 watchlists, 0 tracer reports, "
        "3 triage decisions, 2 syntheses"
    )
    assert list(Source.objects.order_by("id").values_list("status", "items_count")) == [
        ("ok", 5),
        ("ok", 5),
        ("failing", 2),
        ("disabled", 0),
        ("ok", 4),
        ("ok", 3),
        ("ok", 4),
    ]
    assert Item.objects.count() == 23
    # Placed in stories, as the watcher would have.
    assert Item.objects.filter(story__isnull=True).count() == 0
    assert Story.objects.aggregate(n=Sum("items_count"))["n"] == 23
    assert FetchLog.objects.count() == 7 * 28
    assert seed_demo_watch() == (
        "0 watch sources created, 0 items, 0 watchlists, 0 tracer reports, "
        "0 triage decisions, 0 syntheses"
    )
    assert Source.objects.count() == 7
    assert Source.objects.filter(is_demo=True).count() == 7
    assert Item.objects.count() == 23


def test_a_demo_source_made_by_an_earlier_demo_gets_the_items_it_lacks() -> None:
    seed_demo_watch()
    blog = Source.objects.get(title="Le carnet de Marianne Dupuis")
    blog.items.filter(title__startswith="Budget participatif").delete()
    Source.objects.filter(pk=blog.pk).update(items_count=4)
    assert seed_demo_watch().startswith("0 watch sources created, 1 items,")
    assert blog.items.count() == 5
    blog.refresh_from_db()
    assert blog.items_count == 5


def test_the_demo_sources_are_never_claimed_and_say_they_are_a_demonstration(
    hq_client: Client,
) -> None:
    seed_demo_watch()
    real = SourceFactory.create(next_poll_at=timezone.now())
    Source.objects.update(next_poll_at=timezone.now() - dt.timedelta(minutes=1))
    claimed = claims.claim(watcher_id="w", limit=50, lease_seconds=60)
    assert [source.id for source in claimed] == [real.pk]
    demo = Source.objects.filter(is_demo=True).first()
    assert demo is not None
    page = hq_client.get(reverse("watch:source_detail", args=[demo.pk])).content.decode()
    assert "Source de démonstration : son adresse est fictive" in page


def test_the_access_report_lists_the_sources_a_person_added() -> None:
    contact = make_contact("jeanne@exemple.fr")
    volunteer = make_volunteer("jeanne@exemple.fr", contact=contact)
    source = SourceFactory.create(created_by=volunteer.user, title="Mon blog")
    SourceFactory.create()  # someone else's
    assert access_report(contact)["watch_sources"] == [
        {"url": source.url, "title": "Mon blog", "added_at": source.created_at.isoformat()}
    ]


def test_the_access_report_lists_the_watchlists_a_person_created() -> None:
    contact = make_contact("jeanne@exemple.fr")
    volunteer = make_volunteer("jeanne@exemple.fr", contact=contact)
    mine = Watchlist.objects.create(
        name="Mes sujets", kind="topics", query="retraites", created_by=volunteer.user
    )
    Watchlist.objects.create(name="Autre", kind="names", query="Dupont")  # no one's
    assert access_report(contact)["watch_watchlists"] == [
        {"name": "Mes sujets", "query": "retraites", "added_at": mine.created_at.isoformat()}
    ]


def test_the_access_report_says_whether_a_person_asked_for_the_syntheses_and_which_they_got() -> (
    None
):
    import datetime as dt

    from essaim.watch.models import Synthesis, SynthesisDelivery, SynthesisSubscription

    contact = make_contact("lea@exemple.fr")
    volunteer = make_volunteer("lea@exemple.fr", contact=contact)
    assert access_report(contact)["watch_syntheses"] == {"subscribed_since": [], "received": []}
    subscription = SynthesisSubscription.objects.create(user=volunteer.user)
    synthesis = Synthesis.objects.create(date=dt.date(2027, 3, 1), state="published")
    SynthesisDelivery.objects.create(synthesis=synthesis, user=volunteer.user)
    assert access_report(contact)["watch_syntheses"] == {
        "subscribed_since": [subscription.created_at.isoformat()],
        "received": ["2027-03-01"],
    }


def test_the_access_report_lists_the_alerts_mailed_to_a_person() -> None:
    from essaim.watch.models import Alert, AlertEmail

    contact = make_contact("lea@exemple.fr")
    volunteer = make_volunteer("lea@exemple.fr", contact=contact)
    other = make_volunteer("autre@exemple.fr")
    assert access_report(contact)["watch_alert_mails"] == []
    alert = Alert.objects.create(kind="spike", title="Candidats")
    at = timezone.now()
    AlertEmail.objects.create(alert=alert, user=volunteer.user, status="sent", sent_at=at)
    AlertEmail.objects.create(alert=alert, user=other.user, status="sent", sent_at=at)
    assert access_report(contact)["watch_alert_mails"] == [
        {"alert": "Candidats", "status": "sent", "sent_at": at.isoformat()}
    ]
