"""The audit log is append-only and tamper-evident: each entry carries the hash of the previous
one, `essaim audit verify` names the first entry that was edited, back-dated, removed or slipped
in; PostgreSQL refuses UPDATE and DELETE; the Django admin only reads it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.test import RequestFactory

from essaim.accounts.models import AuditEvent, User, chain_hash
from essaim.accounts.services import audit, verify_audit_chain

pytestmark = pytest.mark.django_db
on_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)


def verify() -> str:
    out = StringIO()
    call_command("audit", "verify", stdout=out)
    return out.getvalue()


def write_three(actor: User) -> list[AuditEvent]:
    return [
        audit(action="segment.export", actor=actor, count=509, scope="base", ratio=1.0),
        audit(action="contacts.read", actor=actor, count=2, query={"q": "Curie", "after": 12}),
        audit(action="contact.erase", actor=actor, object_type="people.contact", object_id=7),
    ]


@contextmanager
def trigger_disabled() -> Iterator[None]:
    """What the owner of the table could do on PostgreSQL (nothing to disable on SQLite):
    the chain must reveal what the trigger no longer stops."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE accounts_auditevent DISABLE TRIGGER USER")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE accounts_auditevent ENABLE TRIGGER USER")


def raw(sql: str, params: list[Any]) -> None:
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_each_entry_carries_the_hash_of_the_previous_one(hq):
    first, second, third = write_three(hq)
    assert (first.prev_hash, second.prev_hash, third.prev_hash) == ("", first.hash, second.hash)
    assert len({first.hash, second.hash, third.hash}) == 3
    for event in AuditEvent.objects.all():  # as read back from the database
        assert event.hash == chain_hash(event)
    assert verify() == f"Audit chain intact: 3 entries, last hash {third.hash}.\n"


def test_entries_from_a_request_verify_with_their_address_and_agent(hq):
    request = RequestFactory().get("/", REMOTE_ADDR="2001:DB8:0:0::1", HTTP_USER_AGENT="curl/8")
    request.user = hq
    event = audit(action="contacts.read", request=request, via="web", count=0)
    stored = AuditEvent.objects.get()
    assert (stored.ip, stored.user_agent, stored.actor_id) == ("2001:db8::1", "curl/8", hq.pk)
    assert stored.hash == event.hash == chain_hash(stored)
    assert verify_audit_chain().first_break is None


def test_a_back_dated_entry_is_detected_by_verify(hq):
    _, second, _ = write_three(hq)
    raw("UPDATE accounts_auditevent SET at = %s WHERE id = %s", ["2020-01-01 00:00:00", second.pk])
    with pytest.raises(CommandError, match=f"Audit chain broken at entry {second.pk} ") as exc:
        verify()
    assert "content does not match hash; 1 entries before it are intact" in str(exc.value)


def test_edited_details_are_detected_by_verify(hq):
    first, _, _ = write_three(hq)
    raw("UPDATE accounts_auditevent SET details = %s WHERE id = %s", ['{"count": 5}', first.pk])
    report = verify_audit_chain()
    assert report.first_break is not None
    assert (report.checked, report.first_break.event_id, report.first_break.reason) == (
        0,
        first.pk,
        "content does not match hash",
    )


def test_an_entry_rehashed_after_an_edit_breaks_the_link_of_the_next(hq):
    first, second, _ = write_three(hq)
    first.actor_email = "someone.else@qg.test"
    raw(
        "UPDATE accounts_auditevent SET actor_email = %s, hash = %s WHERE id = %s",
        [first.actor_email, chain_hash(first), first.pk],
    )
    report = verify_audit_chain()
    assert report.first_break is not None
    assert (report.checked, report.first_break.event_id, report.first_break.reason) == (
        1,
        second.pk,
        "does not follow the previous entry",
    )


def test_a_removed_entry_is_detected_by_verify(hq):
    _, second, third = write_three(hq)
    raw("DELETE FROM accounts_auditevent WHERE id = %s", [second.pk])
    report = verify_audit_chain(chunk_size=1)
    assert report.first_break is not None
    assert report.first_break.event_id == third.pk


def test_an_entry_written_outside_audit_is_detected_by_verify(hq):
    write_three(hq)
    slipped = AuditEvent.objects.create(action="contacts.read", actor_email="x@qg.test")
    report = verify_audit_chain()
    assert report.first_break is not None
    assert (report.checked, report.first_break.event_id) == (3, slipped.pk)


def test_an_empty_log_verifies(db):
    assert verify() == "Audit chain intact: 0 entries, last hash -.\n"


@on_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE accounts_auditevent SET at = '2020-01-01' WHERE id = %s",
        "UPDATE accounts_auditevent SET actor_id = NULL WHERE id = %s",
        "DELETE FROM accounts_auditevent WHERE id = %s",
    ],
)
def test_postgresql_refuses_to_update_or_delete_an_entry(hq, sql):
    first, _, _ = write_three(hq)
    before = list(AuditEvent.objects.order_by("id").values())
    with (
        pytest.raises(DatabaseError, match="the audit log is append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [first.pk])
    assert list(AuditEvent.objects.order_by("id").values()) == before


@on_postgres
def test_postgresql_refuses_an_orm_update_too(hq):
    write_three(hq)
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.update(action="nothing")
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(action="nothing").count() == 0
    assert AuditEvent.objects.count() == 3


def test_deleting_a_user_keeps_their_entries_intact(hq):
    write_three(hq)
    hq_id = hq.pk
    hq.delete()
    kept = AuditEvent.objects.order_by().values_list("actor_id", "actor_email").distinct()
    assert list(kept) == [(hq_id, "staff@qg.test")]
    assert verify_audit_chain().first_break is None


def test_the_migration_chains_the_entries_written_before_the_chain(hq):
    if connection.vendor == "postgresql":
        pytest.skip("the trigger, created after the chaining, refuses the UPDATE")
    from importlib import import_module

    migration = import_module("essaim.accounts.migrations.0003_audit_append_only_chain")
    AuditEvent.objects.bulk_create(
        [AuditEvent(action=f"old.{i}", actor=hq, actor_email=hq.email) for i in range(3)]
    )
    assert verify_audit_chain().first_break is not None
    migration.chain_existing(apps, None)
    assert verify_audit_chain().checked == 3
    audit(action="new", actor=hq)
    assert verify_audit_chain().checked == 4


# On SQLite every writer takes the database's write lock at BEGIN (IMMEDIATE) and the chain
# needs nothing more; the test database there is an in-memory one whose threads cannot wait for
# each other's locks, so this runs where the advisory lock does the work.
# serialized_rollback: its flush then leaves the tables empty instead of making content types
# anew under new ids, which the next serialized test (army's concurrency tests) would collide with.
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the advisory lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_writers_keep_one_unbroken_chain(hq):
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(15):
                audit(action="contacts.read", writer=n, i=i)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify_audit_chain()
    assert (report.checked, report.first_break) == (60, None)


# --- The Django admin reads the log and nothing else -------------------------------------------


def test_the_admin_lists_the_log_but_cannot_add_change_or_delete(admin_client_, hq):
    first, _, _ = write_three(hq)
    before = list(AuditEvent.objects.order_by("id").values())
    base = "/admin/accounts/auditevent/"
    assert admin_client_.get(base).status_code == 200
    assert admin_client_.get(f"{base}add/").status_code == 403
    assert admin_client_.post(f"{base}add/", {"action": "forged"}).status_code == 403
    change = admin_client_.post(
        f"{base}{first.pk}/change/", {"action": "forged", "at_0": "2020-01-01", "at_1": "00:00"}
    )
    assert change.status_code == 403
    assert admin_client_.post(f"{base}{first.pk}/delete/", {"post": "yes"}).status_code == 403
    bulk = admin_client_.post(
        base, {"action": "delete_selected", "_selected_action": [first.pk], "post": "yes"}
    )
    assert bulk.status_code in {200, 302}
    assert list(AuditEvent.objects.order_by("id").values()) == before
