"""The watch's part of the demo and of a person's GDPR access report."""

from __future__ import annotations

import pytest
from django.db.models import Sum

from essaim.army.tests.factories import make_volunteer
from essaim.people.services.gdpr import access_report
from essaim.people.tests.factories import make_contact
from essaim.watch.models import FetchLog, Item, Source, Story
from essaim.watch.services.demo import seed_demo_watch
from essaim.watch.tests.factories import SourceFactory

pytestmark = pytest.mark.django_db


def test_the_demo_shows_sources_in_each_state_once() -> None:
    assert seed_demo_watch() == "4 watch sources created"
    assert list(Source.objects.order_by("id").values_list("status", "items_count")) == [
        ("ok", 4),
        ("ok", 3),
        ("failing", 1),
        ("disabled", 0),
    ]
    assert Item.objects.count() == 8
    # Placed in stories, as the watcher would have.
    assert Item.objects.filter(story__isnull=True).count() == 0
    assert Story.objects.aggregate(n=Sum("items_count"))["n"] == 8
    assert FetchLog.objects.count() == 4 * 28
    assert seed_demo_watch() == "0 watch sources created"
    assert Source.objects.count() == 4


def test_the_access_report_lists_the_sources_a_person_added() -> None:
    contact = make_contact("jeanne@exemple.fr")
    volunteer = make_volunteer("jeanne@exemple.fr", contact=contact)
    source = SourceFactory.create(created_by=volunteer.user, title="Mon blog")
    SourceFactory.create()  # someone else's
    assert access_report(contact)["watch_sources"] == [
        {"url": source.url, "title": "Mon blog", "added_at": source.created_at.isoformat()}
    ]
