"""The base's figures on the home page (people.services.dashboard): exact counts per local day,
source, purpose and reason, one query each whatever the size of the base, and a coordinator's
figures limited to their zones."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from essaim.people import dashboard as panels
from essaim.people.models import Consent, Suppression, email_hash
from essaim.people.services.dashboard import OTHERS, consents, exits, growth
from essaim.people.tests.factories import ContactFactory, make_contact

pytestmark = pytest.mark.django_db

UTC = dt.UTC
NOW = dt.datetime(2027, 3, 10, 11, 0, tzinfo=UTC)  # noon in Paris (UTC+1)


def at(year: int, month: int, day: int, hour: int, minute: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def days(*isodates: str) -> list[dt.date]:
    return [dt.date.fromisoformat(d) for d in isodates]


def test_growth_counts_new_contacts_per_local_day_and_source() -> None:
    ContactFactory.create(source="signup", created_at=at(2027, 3, 7, 22, 30))  # 23:30, before
    ContactFactory.create(source="signup", created_at=at(2027, 3, 7, 23, 10))  # 00:10 on the 8th
    ContactFactory.create(source="pétition", created_at=at(2027, 3, 9, 22, 59))  # 23:59 the 9th
    ContactFactory.create(source="signup", created_at=at(2027, 3, 9, 23, 0))  # midnight the 10th
    ContactFactory.create(source="signup", postcode="69003", created_at=at(2027, 3, 10, 10, 0))

    grown = growth(None, days=3, now=NOW)

    assert grown.days == days("2027-03-08", "2027-03-09", "2027-03-10")
    assert grown.sources == ["signup", "pétition"]
    assert grown.per_day == {"signup": [1, 0, 2], "pétition": [0, 1, 0]}
    assert grown.totals == {"signup": 3, "pétition": 1}
    # A coordinator of Paris: the Lyon contact is not theirs.
    paris = growth(["75"], days=3, now=NOW)
    assert paris.per_day == {"signup": [1, 0, 1], "pétition": [0, 1, 0]}
    assert growth(["13"], days=3, now=NOW).per_day == {}


def test_growth_follows_the_change_to_summer_time() -> None:
    # Sunday 28 March 2027: Paris goes from UTC+1 to UTC+2 at 02:00.
    ContactFactory.create(created_at=at(2027, 3, 27, 23, 30))  # 00:30 on the 28th (UTC+1)
    ContactFactory.create(created_at=at(2027, 3, 28, 21, 30))  # 23:30 on the 28th (UTC+2)
    ContactFactory.create(created_at=at(2027, 3, 28, 22, 30))  # 00:30 on the 29th (UTC+2)
    grown = growth(None, days=3, now=at(2027, 3, 29, 12, 0))
    assert grown.days == days("2027-03-27", "2027-03-28", "2027-03-29")
    assert grown.per_day == {"test": [0, 2, 1]}


def test_growth_shows_the_largest_sources_and_sums_the_others() -> None:
    for rank, source in enumerate(["a", "b", "c", "d", "e", "f", "g"]):
        for _ in range(7 - rank):
            ContactFactory.create(source=source, created_at=at(2027, 3, 10, 9, 0))
    grown = growth(None, days=2, now=NOW)
    assert grown.sources == ["a", "b", "c", "d", "e", OTHERS]
    assert grown.totals == {"a": 7, "b": 6, "c": 5, "d": 4, "e": 3, OTHERS: 3}
    assert grown.per_day[OTHERS] == [0, 3]
    assert panels.source_label(OTHERS) == "Autres sources"
    assert panels.source_label("signup") == "Formulaire d'inscription"
    assert panels.source_label("") == "Sans source"


def test_consents_per_purpose_and_status() -> None:
    make_contact(consents={"news": "granted", "mobilization": "pending"})
    make_contact(consents={"news": "withdrawn", "volunteering": "granted"})
    make_contact(consents={"news": "granted"}, postcode="69003")
    zero = dict.fromkeys(Consent.Status.values, 0)
    assert consents(None) == {
        "news": zero | {"granted": 2, "withdrawn": 1},
        "mobilization": zero | {"pending": 1},
        "volunteering": zero | {"granted": 1},
    }
    assert consents(["75"])["news"] == zero | {"granted": 1, "withdrawn": 1}
    assert consents(["13"]) == {
        purpose: zero for purpose in ("news", "mobilization", "volunteering")
    }


def test_exits_per_local_day_and_reason() -> None:
    def suppressed(n: int, reason: str, when: dt.datetime) -> None:
        Suppression.objects.create(
            email_hash=email_hash(f"x{n}@e.fr"), reason=reason, created_at=when
        )

    suppressed(1, "unsubscribe", at(2027, 3, 9, 8, 0))
    suppressed(2, "unsubscribe", at(2027, 3, 10, 8, 0))
    suppressed(3, "hard_bounce", at(2027, 3, 10, 9, 0))
    suppressed(4, "complaint", at(2027, 3, 8, 22, 59))  # the 8th in Paris: outside
    left = exits(days=2, now=NOW)
    assert left.days == days("2027-03-09", "2027-03-10")
    assert left.per_day["unsubscribe"] == [1, 1]
    assert left.per_day["hard_bounce"] == [0, 1]
    assert left.per_day["complaint"] == [0, 0]
    assert left.totals == {
        "unsubscribe": 2,
        "erasure": 0,
        "hard_bounce": 1,
        "complaint": 0,
        "abuse_report": 0,
        "staff": 0,
    }


def test_each_figure_is_one_query_whatever_the_size_of_the_base(
    django_assert_num_queries: Any,
) -> None:
    for i in range(30):
        make_contact(
            source=f"source-{i % 9}", consents={"news": "granted", "mobilization": "pending"}
        )
        Suppression.objects.create(email_hash=email_hash(f"s{i}@e.fr"), reason="unsubscribe")
    with django_assert_num_queries(1):
        growth(None)
    with django_assert_num_queries(1):
        consents(["75"])
    with django_assert_num_queries(1):
        exits()


def test_the_panel_shows_the_base_to_hq_their_zones_to_a_coordinator_and_nothing_to_others(
    hq: Any, coordinator: Any, volunteer: Any
) -> None:
    make_contact()
    make_contact(postcode="69003")
    whole = panels.panel(hq)
    assert whole is not None
    assert (whole["whole_base"], whole["size"], whole["new"]) == (True, 2, 2)
    assert "exits_chart" in whole and "imports" in whole
    zone = panels.panel(coordinator)
    assert zone is not None
    assert (zone["whole_base"], zone["size"], zone["new"]) == (False, 1, 1)
    # Exits are counted on hashes, which know no zone: HQ's only.
    assert "exits_chart" not in zone and "imports" not in zone
    assert panels.panel(volunteer) is None
