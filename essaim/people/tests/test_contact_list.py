"""Contact list: who sees what, masking, search, segment filter, keyset pagination, and a query
count that does not depend on the page."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from essaim.people.models import Contact
from essaim.people.services.masking import mask_email, mask_phone
from essaim.people.tests.factories import SegmentFactory, TagFactory, make_contact

pytestmark = pytest.mark.django_db
URL = reverse("people:contact_list")


def listed(response) -> list[str]:
    """The contact page links of a list page, in order: one per row."""
    return re.findall(r'href="/base/contacts/(\d+)/"', response.content.decode())


def test_masks_keep_only_what_identifies_for_someone_who_knows():
    assert mask_email("marie.dupont@gmail.com") == "m•••@g•••.com"
    assert mask_email("x@orange.fr") == "x•••@o•••.fr"
    assert mask_email("") == ""
    assert mask_phone("+33612345678") == "+33 6 •• •• •• 78"
    assert mask_phone("+4915123456789") == "+49 ••• 89"
    assert mask_phone("") == ""


def test_hq_sees_every_contact_in_clear_with_tags(hq_client):
    tag = TagFactory.create(name="jeunes")
    paris = make_contact(
        "marie@gmail.com", postcode="75011", phone="+33612345678", last_name="Dupont", tags=[tag]
    )
    lyon = make_contact("jean@orange.fr", postcode="69003")
    response = hq_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(response) == [str(lyon.pk), str(paris.pk)]  # newest first
    assert "marie@gmail.com" in html and "+33612345678" in html and "jean@orange.fr" in html
    assert '<span class="badge">jeunes</span>' in html


def test_coordinator_sees_only_their_zone_masked(coordinator_client):
    paris = make_contact("marie@gmail.com", postcode="75011", phone="+33612345678")
    make_contact("jean@orange.fr", postcode="69003")
    response = coordinator_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert listed(response) == [str(paris.pk)]
    assert "m•••@g•••.com" in html and "+33 6 •• •• •• 78" in html
    assert "marie@gmail.com" not in html and "+33612345678" not in html
    assert "jean@orange.fr" not in html and "j•••@o•••.fr" not in html


def test_volunteer_gets_403_and_no_contact(volunteer_client):
    make_contact("marie@gmail.com")
    response = volunteer_client.get(URL)
    assert response.status_code == 403
    assert "marie" not in response.content.decode()


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_names_are_escaped(hq_client):
    make_contact("x@exemple.fr", first_name="<script>alert(1)</script>", last_name="<b>Nom</b>")
    html = hq_client.get(URL).content.decode()
    assert "<script>alert(1)</script>" not in html and "<b>Nom</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;Nom&lt;/b&gt;" in html


# --- Search -----------------------------------------------------------------------------------


@pytest.fixture
def people() -> dict[str, Contact]:
    return {
        "dupont": make_contact("marie.dupont@gmail.com", last_name="Dupont", postcode="75011"),
        "dupuis": make_contact("jean.dupuis@orange.fr", last_name="Dupuis", postcode="75020"),
        "durand": make_contact(
            "paul@free.fr", last_name="Durand", postcode="75011", phone="+33612345678"
        ),
        "lyon": make_contact("dupond@lyon.fr", last_name="Dupond", postcode="69003"),
    }


def ids(*contacts: Contact) -> list[str]:
    return [str(c.pk) for c in sorted(contacts, key=lambda c: -c.pk)]


def test_hq_searches_by_last_name_prefix_whatever_the_case(hq_client, people):
    response = hq_client.get(URL, {"q": "dUP"})
    assert listed(response) == ids(people["dupont"], people["dupuis"], people["lyon"])


def test_hq_searches_by_address_prefix(hq_client, people):
    assert listed(hq_client.get(URL, {"q": "Jean.Dup"})) == ids(people["dupuis"])
    assert listed(hq_client.get(URL, {"q": "marie@"})) == []
    assert listed(hq_client.get(URL, {"q": "marie.dupont@g"})) == ids(people["dupont"])


def test_name_search_also_matches_address_prefixes_for_hq(hq_client, people):
    assert listed(hq_client.get(URL, {"q": "paul"})) == ids(people["durand"])


def test_phone_search_is_exact_in_any_usual_format(hq_client, people):
    assert listed(hq_client.get(URL, {"q": "06 12 34 56 78"})) == ids(people["durand"])
    assert listed(hq_client.get(URL, {"q": "+33612345678"})) == ids(people["durand"])
    assert listed(hq_client.get(URL, {"q": "06 12 34 56"})) == []


def test_search_does_not_scan_with_a_leading_wildcard(hq_client, people, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        hq_client.get(URL, {"q": "dup"})
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    assert "'%dup" not in sql.lower() and "%%dup" not in sql.lower()


def test_coordinator_search_stays_in_their_zone(coordinator_client, people):
    response = coordinator_client.get(URL, {"q": "dup"})
    assert listed(response) == ids(people["dupont"], people["dupuis"])


def test_coordinator_cannot_spell_out_a_masked_address_by_prefix(coordinator_client, people):
    assert listed(coordinator_client.get(URL, {"q": "marie.dupont@g"})) == []
    assert listed(coordinator_client.get(URL, {"q": "paul"})) == []
    # Not even the whole address: it would confirm a guess (test_contact_search_masked.py).
    full = coordinator_client.get(URL, {"q": "Marie.Dupont@gmail.com"})
    assert full.status_code == 400
    assert listed(full) == []


# --- Segment filter ---------------------------------------------------------------------------


def test_hq_filters_the_list_by_segment(hq_client, people):
    segment = SegmentFactory.create(name="Lyon", definition={"departements": ["69"]})
    response = hq_client.get(URL, {"segment": segment.pk})
    assert listed(response) == ids(people["lyon"])
    assert "Lyon" in response.content.decode()


def test_segment_filter_combines_with_search(hq_client, people):
    segment = SegmentFactory.create(name="Paris 11e", definition={"postcode_prefixes": ["75011"]})
    assert listed(hq_client.get(URL, {"segment": segment.pk, "q": "du"})) == ids(
        people["dupont"], people["durand"]
    )


def test_coordinator_cannot_filter_by_segment(coordinator_client, people):
    segment = SegmentFactory.create(name="Paris", definition={"departements": ["75"]})
    response = coordinator_client.get(URL, {"segment": segment.pk})
    assert response.status_code == 403
    assert listed(response) == []


def test_unknown_segment_is_404(hq_client):
    assert hq_client.get(URL, {"segment": "999999"}).status_code == 404
    assert hq_client.get(URL, {"segment": "abc"}).status_code == 404
    assert hq_client.get(URL, {"segment": "²"}).status_code == 404  # a digit to str.isdigit()


# --- Pagination and query count ---------------------------------------------------------------


def test_keyset_pages_cover_every_contact_once(hq_client):
    contacts = [make_contact(f"c{i}@x.fr") for i in range(120)]
    first = hq_client.get(URL)
    page1 = listed(first)
    assert len(page1) == 50
    after = re.search(r'rel="next" href="\?after=(\d+)"', first.content.decode())
    assert after is not None
    page2 = listed(hq_client.get(URL, {"after": after.group(1)}))
    page3 = listed(hq_client.get(URL, {"after": page2[-1]}))
    assert page1 + page2 + page3 == ids(*contacts)


def test_query_count_is_the_same_on_every_page(hq_client, django_assert_num_queries):
    tags = [TagFactory.create(name=f"t{i}") for i in range(3)]
    for i in range(120):
        make_contact(f"c{i}@x.fr", tags=tags[: i % 4], phone="+33612345678")
    segment = SegmentFactory.create(definition={})
    # session, user, segments of the filter menu (and of the bulk actions), the tags of the bulk
    # actions, the page, the tags of its rows, the total, the menu's counts, and the audit entry
    # of a page read in clear (the chain's last hash and the INSERT; on PostgreSQL one call doing
    # both under the chain's lock)
    audit = 1 if connection.vendor == "postgresql" else 2
    with django_assert_num_queries(8 + audit):
        first = hq_client.get(URL)
    last_id = listed(first)[-1]
    with django_assert_num_queries(8 + audit):
        deep = hq_client.get(URL, {"after": int(last_id) - 20})
    assert len(listed(deep)) == 50
    # …plus the segment itself when filtering by one, whose stored count stands for the total
    with django_assert_num_queries(8 + audit):
        hq_client.get(URL, {"segment": segment.pk, "after": last_id, "q": "c1"})


def test_coordinator_query_count_is_fixed_too(coordinator_client, django_assert_num_queries):
    for i in range(60):
        make_contact(f"c{i}@x.fr", postcode="75011", tags=["jeunes"])
    with django_assert_num_queries(6):
        first = coordinator_client.get(URL)
    with django_assert_num_queries(6):
        coordinator_client.get(URL, {"after": listed(first)[-1]})


def test_search_and_count_indexes_exist_on_this_database():
    from django.db import connection

    with connection.cursor() as cursor:
        contact = connection.introspection.get_constraints(cursor, "people_contact")
        consent = connection.introspection.get_constraints(cursor, "people_consent")
    assert {
        "people_contact_phone_idx",
        "people_contact_name_key_idx",
        "people_contact_reg_id_idx",
        "people_contact_dep_id_idx",
    } <= set(contact)
    # Nothing looks a contact up by its hash alone (people 0006): each import row paid for it.
    assert "people_contact_hash_idx" not in contact
    # Only two prefix searches keep a `_like` twin on PostgreSQL (email_key, postcode); the
    # name key's one index is itself the pattern one.
    like_twins = sorted(name for name in contact if name.endswith("_like"))
    assert len(like_twins) == (2 if connection.vendor == "postgresql" else 0), like_twins
    assert ("people_consent_granted_idx" in consent) == (connection.vendor == "postgresql")


def test_the_list_says_how_many_contacts_match(hq_client, coordinator_client, people):
    def count(client, **params) -> str:
        html = client.get(URL, params).content.decode()
        found = re.search(r'<p class="result-count"[^>]*>([^<]*)</p>', html)
        assert found is not None
        return found.group(1)

    assert count(hq_client) == "4 contacts"
    assert count(hq_client, q="dupon") == "2 contacts"
    assert count(hq_client, q="durand") == "1 contact"
    assert count(coordinator_client, q="dup") == "2 contacts"
    for i in range(1200):
        Contact.objects.create(email=f"n{i}@x.fr", email_key=f"n{i}@x.fr", email_hash=str(i))
    assert count(hq_client) == "1\u202f204 contacts"
    segment = SegmentFactory.create(definition={}, last_count=3, last_counted_at=timezone.now())
    assert count(hq_client, segment=segment.pk).startswith(
        "3 contacts dans ce segment au dernier comptage ("
    )


def test_a_search_is_counted_up_to_the_cap_and_says_more_than(hq_client, people, monkeypatch):
    from essaim.people.services import contact_search

    monkeypatch.setattr(contact_search, "SEARCH_COUNT_CAP", 3)
    Contact.objects.bulk_create(
        Contact(email=f"dupuis{i}@x.fr", email_key=f"dupuis{i}@x.fr", email_hash=f"h{i}")
        for i in range(5)
    )

    def count(**params) -> str:
        html = hq_client.get(URL, params).content.decode()
        found = re.search(r'<p class="result-count"[^>]*>([^<]*)</p>', html)
        assert found is not None
        return found.group(1)

    assert count(q="dupuis") == "Plus de 3 contacts"
    assert count(q="dupon") == "2 contacts"
    # The whole base is counted exactly whatever its size.
    assert count() == "9 contacts"
