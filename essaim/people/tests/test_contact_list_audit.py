"""The contact list shown to HQ is the base in clear: every page shown leaves one audit entry
(who, the query, how many people), as every API read does; a coordinator's masked list does not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from essaim.accounts.models import AuditEvent
from essaim.people.tests.factories import SegmentFactory, make_contact

pytestmark = pytest.mark.django_db
URL = reverse("people:contact_list")


def reads() -> list[tuple[str, dict]]:
    return list(
        AuditEvent.objects.filter(action="contacts.read")
        .order_by("id")
        .values_list("actor_email", "details")
    )


def test_each_page_hq_sees_is_audited_with_its_query_and_count(hq_client):
    contacts = [make_contact(f"c{i}@x.fr", postcode="75011") for i in range(55)]
    segment = SegmentFactory.create(definition={})
    hq_client.get(URL)
    hq_client.get(URL, {"after": contacts[10].pk, "q": "c1", "segment": segment.pk})
    hq_client.get(URL, {"before": "x<script>"})  # a junk cursor is not recorded
    assert reads() == [
        ("staff@qg.test", {"via": "web", "count": 50, "masked": False, "query": {}}),
        (
            "staff@qg.test",
            {
                "via": "web",
                "count": 1,  # c1, among the ten older than contacts[10]
                "masked": False,
                "query": {"q": "c1", "segment": segment.pk, "after": contacts[10].pk},
            },
        ),
        ("staff@qg.test", {"via": "web", "count": 50, "masked": False, "query": {}}),
    ]


def test_a_coordinators_masked_list_is_not_a_read_in_clear(coordinator_client):
    make_contact("c@x.fr", postcode="75011")
    assert coordinator_client.get(URL).status_code == 200
    assert reads() == []
