"""Issue 14, item 1, written as the attack was made: an HQ token paged through the whole base with
`?limit=500&after=…` and left no trace. Every read of contacts now needs the contacts:read scope,
writes one audit entry per request (who, which token, the query, how many people), counts
against the token's daily budget of people (429 beyond, HQ admins mailed once), and a token
restricted to networks is refused elsewhere."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

import pytest
from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction

from essaim.accounts.models import AuditEvent, Role, User
from essaim.accounts.services import audit, verify_audit_chain
from essaim.accounts.tests.factories import UserFactory
from essaim.api.models import ApiToken
from essaim.api.services import create_token, seconds_to_midnight
from essaim.api.testing import Api, api_for
from essaim.people.models import Contact
from essaim.people.services.segments import save_segment
from essaim.people.tests.factories import make_contact

pytestmark = pytest.mark.usefixtures("fresh_rate_limits")

CONTACTS = "/api/v1/contacts"


def reads() -> list[tuple[Any, ...]]:
    return list(
        AuditEvent.objects.filter(action="contacts.read")
        .order_by("id")
        .values_list("actor_email", "details")
    )


def token_of(api: Api) -> ApiToken:
    assert api.token is not None
    return ApiToken.objects.get(prefix=api.token[4:12])


@pytest.fixture
def twelve(db: Any) -> list[Contact]:
    return [make_contact(f"p{i}@exemple.fr", postcode="75011") for i in range(12)]


# --- Audited reads ------------------------------------------------------------------------------


def test_an_hq_token_paging_through_the_base_leaves_one_entry_per_page_with_counts(hq_api, twelve):
    pages, after = [], None
    while True:
        response = hq_api.get(CONTACTS, limit=5, **({"after": after} if after else {}))
        assert response.status_code == 200
        pages.append(len(response.json()["items"]))
        after = response.json()["next"]
        if after is None:
            break
    assert pages == [5, 5, 2]
    prefix = token_of(hq_api).prefix
    cursors = [twelve[7].pk, twelve[2].pk]
    assert reads() == [
        (
            "staff@qg.test",
            {"via": "api", "token": prefix, "count": 5, "masked": False, "query": {"limit": 5}},
        ),
        *[
            (
                "staff@qg.test",
                {
                    "via": "api",
                    "token": prefix,
                    "count": n,
                    "masked": False,
                    "query": {"after": cursor, "limit": 5},
                },
            )
            for n, cursor in zip((5, 2), cursors, strict=True)
        ],
    ]
    assert token_of(hq_api).people_read == 12
    assert verify_audit_chain().first_break is None


def test_a_search_records_its_filters(hq, hq_api, twelve):
    segment = save_segment(name="Paris", description="", definition={}, user=hq)
    hq_api.get(CONTACTS, q=" p1 ", tag="jeunes", segment=segment.pk, limit=3)
    [(_, details)] = reads()
    assert details["query"] == {"q": "p1", "tag": "jeunes", "segment": segment.pk, "limit": 3}
    assert details["count"] == 0


def test_reading_one_contact_is_audited_with_its_id(hq_api, paris_contact):
    assert hq_api.get(f"{CONTACTS}/{paris_contact.pk}").status_code == 200
    event = AuditEvent.objects.get(action="contacts.read")
    assert (event.object_type, event.object_id, event.details["count"], event.ip) == (
        "people.contact",
        str(paris_contact.pk),
        1,
        "127.0.0.1",
    )
    assert hq_api.get(f"{CONTACTS}/999999").status_code == 404
    assert AuditEvent.objects.filter(action="contacts.read").count() == 1  # nothing read


def test_a_coordinators_masked_reads_are_counted_and_audited_as_masked(
    coordinator_api, paris_contact, lyon_contact
):
    coordinator_api.get(CONTACTS)
    [(email, details)] = reads()
    assert (email, details["count"], details["masked"]) == ("coord.paris@equipe.test", 1, True)


def test_the_gdpr_report_needs_the_scope_and_is_counted(hq, paris_contact):
    full = api_for(hq)
    without = api_for(hq, scopes=["read", "write"])
    assert without.get(f"{CONTACTS}/{paris_contact.pk}/gdpr").status_code == 403
    assert full.get(f"{CONTACTS}/{paris_contact.pk}/gdpr").status_code == 200
    event = AuditEvent.objects.get(action="contact.access_export")
    assert (event.details["count"], event.details["token"]) == (1, token_of(full).prefix)
    assert token_of(full).people_read == 1


# --- The contacts:read scope --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/{id}", "/{id}/gdpr"])
def test_a_token_without_the_contacts_scope_gets_403_and_reads_nothing(hq, paris_contact, path):
    api = api_for(hq, scopes=["read", "write"])
    before = AuditEvent.objects.count()
    response = api.get(CONTACTS + path.format(id=paris_contact.pk))
    assert (response.status_code, response.json()["error"]["message"]) == (
        403,
        "This token lacks the 'contacts:read' scope.",
    )
    assert "Curie" not in response.content.decode()
    assert AuditEvent.objects.count() == before
    assert token_of(api).people_read == 0


def test_tokens_that_had_every_scope_lose_contact_reads_in_the_migration(hq, paris_contact):
    migration = import_module("essaim.api.migrations.0002_token_scopes_limits_networks")
    old, raw = create_token(user=hq, name="old CRM")
    ApiToken.objects.filter(pk=old.pk).update(scopes=[])  # as every token made before
    kept = api_for(hq, scopes=["read"])
    migration.explicit_scopes(apps, None)
    assert ApiToken.objects.get(pk=old.pk).scopes == ["read", "write"]
    assert token_of(kept).scopes == ["read"]
    assert Api(raw).get(CONTACTS).status_code == 403
    assert Api(raw).get("/api/v1/tags").status_code == 200


def test_a_token_needs_at_least_one_scope(hq):
    with pytest.raises(ValueError, match="at least one scope"):
        create_token(user=hq, name="x", scopes=[])
    assert ApiToken.objects.count() == 0


# --- The daily budget of people read ---------------------------------------------------------


@pytest.fixture
def admins(db: Any) -> list[User]:
    second = UserFactory.create(email="admin2@qg.test", role=Role.HQ_ADMIN)
    gone = UserFactory.create(email="ancien@qg.test", role=Role.HQ_ADMIN)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    return [UserFactory.create(email="admin@qg.test", role=Role.HQ_ADMIN), second]


def test_budget_exhaustion_is_429_and_mails_each_hq_admin_once(
    settings, hq_api, twelve, admins, smtp_recorder, django_capture_on_commit_callbacks
):
    settings.API_DAILY_PEOPLE_BUDGET = 7
    assert len(hq_api.get(CONTACTS, limit=5).json()["items"]) == 5
    # The page is cut to what the budget leaves, with a cursor to go on tomorrow.
    second = hq_api.get(CONTACTS, limit=5, after=twelve[7].pk).json()
    assert (len(second["items"]), second["next"]) == (2, twelve[5].pk)
    with django_capture_on_commit_callbacks(execute=True):
        refused = hq_api.get(CONTACTS, limit=5, after=twelve[5].pk)
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert (body["code"], body["details"]["budget"]) == ("people_budget_exhausted", 7)
    retry_after = int(refused["Retry-After"])
    assert body["message"] == (
        "This token has read its daily budget of 7 people; "
        f"retry after midnight ({settings.TIME_ZONE}), in {retry_after} s."
    )
    assert body["details"]["retry_after"] == retry_after
    assert 0 < retry_after <= 25 * 3600
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):  # refused again, without telling anyone again
            assert hq_api.get(CONTACTS).status_code == 429
            assert hq_api.get(f"{CONTACTS}/{twelve[0].pk}").status_code == 429
    assert sorted(r for m in smtp_recorder.messages for r in m.rcpt_to) == [
        "admin2@qg.test",
        "admin@qg.test",
    ]
    prefix = token_of(hq_api).prefix
    assert f"Le jeton d'API {prefix}" in smtp_recorder.messages[0].text
    assert AuditEvent.objects.filter(action="api_token.budget_exhausted").count() == 1
    assert [d["count"] for _, d in reads()] == [5, 2]
    assert token_of(hq_api).people_read == 7


def test_the_budget_starts_again_the_next_day(settings, hq_api, twelve):
    settings.API_DAILY_PEOPLE_BUDGET = 3
    hq_api.get(CONTACTS, limit=3)
    assert hq_api.get(CONTACTS).status_code == 429
    yesterday = token_of(hq_api).people_read_on - timedelta(days=1)  # type: ignore[operator]
    ApiToken.objects.update(people_read_on=yesterday, budget_alerted_on=yesterday)
    assert len(hq_api.get(CONTACTS, limit=2).json()["items"]) == 2
    assert (token_of(hq_api).people_read, token_of(hq_api).budget_alerted_on) == (2, yesterday)


def test_a_token_may_have_its_own_budget(hq, twelve):
    api = api_for(hq, daily_people_budget=1)
    assert len(api.get(CONTACTS).json()["items"]) == 1
    assert api.get(CONTACTS).status_code == 429


def test_seconds_to_midnight_count_the_days_the_clocks_change(settings):
    settings.TIME_ZONE = "Europe/Paris"
    # 29 March 2026: 23 hours; at 22:00 UTC (midnight local) the next midnight is 23 h away.
    assert seconds_to_midnight(datetime(2026, 3, 28, 23, 0, tzinfo=UTC)) == 23 * 3600
    assert seconds_to_midnight(datetime(2026, 10, 24, 22, 0, tzinfo=UTC)) == 25 * 3600
    assert seconds_to_midnight(datetime(2026, 6, 1, 21, 59, 59, 500000, tzinfo=UTC)) == 1


# --- Per-token rate limit ---------------------------------------------------------------------


def test_a_token_may_have_its_own_rate_per_minute(hq, hq_api, paris_contact):
    cache.clear()
    slow = api_for(hq, rate_per_minute=2)
    assert [slow.get("/api/v1/tags").status_code for _ in range(3)] == [200, 200, 429]
    assert [hq_api.get("/api/v1/tags").status_code for _ in range(3)] == [200, 200, 200]


# --- Networks -------------------------------------------------------------------------------


def test_a_token_used_outside_its_networks_is_403_audited_and_reads_nothing(hq, paris_contact):
    api = api_for(hq, networks=["192.0.2.0/24", "2001:db8::/32"])
    response = api.request("get", CONTACTS, REMOTE_ADDR="198.51.100.7")
    assert (response.status_code, response.json()["error"]["code"]) == (403, "address_refused")
    assert "Curie" not in response.content.decode()
    event = AuditEvent.objects.get(action="api_token.refused_address")
    assert (event.ip, event.details["networks"]) == (
        "198.51.100.7",
        ["192.0.2.0/24", "2001:db8::/32"],
    )
    assert reads() == [] and token_of(api).last_used_at is None
    assert api.request("get", CONTACTS, REMOTE_ADDR="192.0.2.44").status_code == 200
    assert api.request("get", CONTACTS, REMOTE_ADDR="2001:db8:1::9").status_code == 200
    assert token_of(api).last_used_ip == "192.0.2.44"


@pytest.mark.parametrize("bad", ["10.0.0.300/8", "2001:db8::/129", "anywhere", "10.0.0.0/-1"])
def test_a_network_that_is_not_one_is_refused(hq, bad):
    with pytest.raises(ValueError, match="is not an IPv4 or IPv6 network"):
        create_token(user=hq, name="x", networks=[bad])
    assert ApiToken.objects.count() == 0


def test_networks_are_normalized(hq):
    token, _ = create_token(
        user=hq, name="x", networks=[" 10.1.2.3/8", "2001:DB8::1", "10.0.0.0/8"]
    )
    assert token.networks == ["10.0.0.0/8", "2001:db8::1/128"]


# --- Item 8: segment ids cannot be probed ----------------------------------------------------


def test_a_coordinator_probing_segment_ids_gets_the_same_404_for_each(
    hq, coordinator_api, paris_contact
):
    existing = save_segment(name="Paris", description="", definition={}, user=hq)
    answers = [
        coordinator_api.get(CONTACTS, segment=segment_id)
        for segment_id in (existing.pk, existing.pk + 1000)
    ]
    assert [(r.status_code, r.json()) for r in answers] == [
        (404, {"error": {"code": "not_found", "message": "No such segment.", "details": None}})
    ] * 2
    assert reads() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's commit setting")
def test_only_the_entries_of_reads_skip_the_wait_for_the_wal_flush(hq, hq_api, paris_contact):
    def synchronous_commit() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return str(cursor.fetchone()[0])

    with transaction.atomic():
        audit(action="contact.erase", actor=hq)
        assert synchronous_commit() == "on"
    with transaction.atomic():
        assert hq_api.get(CONTACTS).status_code == 200
        assert synchronous_commit() == "off"
