"""The bulk-load path of the CSV import: secondary indexes of the contact tables dropped before
the rows and rebuilt after (people.services.imports.bulk).

Every test runs on SQLite and on PostgreSQL (DATABASE_URL) with the same expectations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction

from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactTag,
    DeferredSchema,
    ImportBatch,
    Suppression,
    email_hash,
)
from essaim.people.services.imports import bulk, run_batch
from essaim.people.services.imports.writer import ChunkWriter
from essaim.people.tests.factories import ContactFactory, ImportBatchFactory

pytestmark = pytest.mark.django_db

HEADER = "email;prénom;nom;code postal;téléphone;tags\n"
ROWS = (
    "a@exemple.fr;Ana;Lopez;75011;06 12 34 56 78;sympathisant\n"
    "b@exemple.fr;Bob;;13001;;adhérent,jeunes\n"
    "A@exemple.fr;Anita;;;;jeunes\n"  # duplicate in another case: fills nothing, adds a tag
    "pas-une-adresse;X;;;;\n"
    "connu@exemple.fr;Coco;;69003;;\n"  # known contact: fills its empty fields
    "banni@exemple.fr;;;;;\n"  # suppressed: reported, never added
    "c@exemple.fr;Chloé;Martin;99999;;\n"  # postcode that does not exist: left out, a warning
    + "".join(f"p{i}@exemple.fr;P{i};Nom{i % 5};{75001 + i % 20};;t{i % 3}\n" for i in range(40))
)


@pytest.fixture(autouse=True)
def data_dir(settings: Any, tmp_path: Path) -> Path:
    settings.DATA_DIR = tmp_path / "data"
    return settings.DATA_DIR


def run(path: Path, *, bulk_load: bool | None, chunk_rows: int = 7) -> ImportBatch:
    batch = ImportBatchFactory.create(
        path=path, purposes=["news", "mobilization"], source="fichier", tags=["import-2026"]
    )
    return run_batch(batch_id=batch.pk, chunk_rows=chunk_rows, bulk=bulk_load)


def base_state(batch: ImportBatch) -> dict[str, Any]:
    """Everything an import writes, without ids and times, the batch's id replaced by 'B'."""
    ref = str(batch.pk)
    return {
        "contacts": list(
            Contact.objects.order_by("email_key").values_list(
                "email",
                "email_key",
                "email_hash",
                "first_name",
                "last_name",
                "phone",
                "postcode",
                "departement",
                "region",
                "source",
            )
        ),
        "consents": [
            (*row[:-1], "B" if row[-1] == ref else row[-1])
            for row in Consent.objects.order_by("contact__email_key", "purpose").values_list(
                "contact__email_key", "purpose", "status", "basis", "source", "source_ref"
            )
        ],
        "tags": sorted(ContactTag.objects.values_list("contact__email_key", "tag__name")),
        "created_by": sorted(
            (key, "B" if ref == batch.pk else ref)
            for key, ref in Contact.objects.values_list("email_key", "import_batch")
        ),
        "events": sorted(
            (key, kind, "B" if data == {"batch": batch.pk} else data)
            for key, kind, data in ContactEvent.objects.values_list(
                "contact__email_key", "kind", "data"
            )
        ),
        "counters": (
            batch.imported,
            batch.updated,
            batch.duplicates,
            batch.invalid,
            batch.warnings,
        ),
    }


def fresh_base() -> None:
    Contact.objects.all().delete()
    ImportBatch.objects.all().delete()
    ContactFactory.create(email="connu@exemple.fr", first_name="", last_name="Connu", postcode="")
    Suppression.objects.get_or_create(
        email_hash=email_hash("banni@exemple.fr"), reason=Suppression.Reason.UNSUBSCRIBE
    )


def test_the_bulk_path_writes_exactly_what_the_normal_path_writes(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    indexes = bulk.index_definitions()

    fresh_base()
    normal = run(path, bulk_load=False)
    normal_state = base_state(normal)
    fresh_base()
    bulk_loaded = run(path, bulk_load=True)

    assert normal.status == bulk_loaded.status == ImportBatch.Status.DONE
    assert normal_state["counters"] == (43, 1, 1, 2, 1)
    assert base_state(bulk_loaded) == normal_state
    assert bulk.index_definitions() == indexes
    assert not DeferredSchema.objects.exists()


def test_the_bulk_path_drops_only_non_unique_indexes_and_foreign_keys_while_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    indexes = bulk.index_definitions()
    seen: list[tuple[dict[str, str], list[str]]] = []
    original = ChunkWriter.write

    def watching(self: ChunkWriter, chunk: Any) -> Any:
        seen.append(
            (bulk.index_definitions(), list(DeferredSchema.objects.values_list("name", flat=True)))
        )
        return original(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", watching)
    run(path, bulk_load=True)

    during, deferred = seen[0]
    assert during == {}
    assert sorted(deferred) == sorted(indexes)
    assert bulk.index_definitions() == indexes


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite keeps its appended indexes")
def test_sqlite_keeps_the_indexes_a_load_appends_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    seen: list[set[tuple[str, str]]] = []
    original = ChunkWriter.write

    def watching(self: ChunkWriter, chunk: Any) -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tbl_name, sql FROM sqlite_master WHERE type = 'index'")
            seen.append({(table, sql) for table, sql in cursor.fetchall() if sql})
        return original(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", watching)
    run(path, bulk_load=True)

    kept = {(table, sql.split(" ON ")[1]) for table, sql in seen[0] if " ON " in sql}
    assert {
        ("people_contact", '"people_contact" ("source")'),
        ("people_contact", '"people_contact" ("created_at")'),
        ("people_consent", '"people_consent" ("purpose", "status", "contact_id")'),
        ("people_contacttag", '"people_contacttag" ("tag_id", "contact_id")'),
    } <= kept
    assert not any("phone" in sql or "postcode" in sql for _table, sql in kept)


def test_the_address_stays_unique_during_a_bulk_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    refused: list[bool] = []
    original = ChunkWriter.write

    def adding_a_twin(self: ChunkWriter, chunk: Any) -> Any:
        if not refused:
            try:
                with transaction.atomic():
                    ContactFactory.create(email="CONNU@exemple.fr")
            except IntegrityError:
                refused.append(True)
        return original(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", adding_a_twin)
    run(path, bulk_load=True)

    assert refused == [True]


def test_indexes_are_rebuilt_when_a_bulk_import_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    indexes = bulk.index_definitions()
    original = ChunkWriter.write
    calls: list[int] = []

    def failing_on_the_second_chunk(self: ChunkWriter, chunk: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disque plein")
        return original(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", failing_on_the_second_chunk)
    failed = run(path, bulk_load=True)

    assert failed.status == ImportBatch.Status.FAILED
    assert failed.error == (
        "Erreur inattendue après la ligne 8 : RuntimeError: disque plein. "
        "Les lignes précédentes sont importées ; relancez l'import du même fichier pour le "
        "terminer."
    )
    assert bulk.index_definitions() == indexes
    assert not DeferredSchema.objects.exists()


def test_indexes_left_dropped_by_a_killed_bulk_load_are_rebuilt_by_the_next_import(
    tmp_path: Path,
) -> None:
    indexes = bulk.index_definitions()
    # What a bulk load killed between its drop and its rebuild leaves behind.
    assert bulk._drop_indexes()
    assert bulk.index_definitions() == {}
    assert DeferredSchema.objects.count() == len(indexes)

    path = tmp_path / "small.csv"
    path.write_text(HEADER + "z@exemple.fr;Zoé;;;;\n", encoding="utf-8")
    batch = run(path, bulk_load=False)

    assert batch.status == ImportBatch.Status.DONE
    assert bulk.index_definitions() == indexes
    assert not DeferredSchema.objects.exists()


def test_the_bulk_path_is_chosen_for_a_large_file_at_least_as_large_as_the_base() -> None:
    ContactFactory.create_batch(3)

    assert bulk.wants_bulk(bulk.BULK_MIN_ROWS, None) is True
    assert bulk.wants_bulk(bulk.BULK_MIN_ROWS - 1, None) is False
    assert bulk.wants_bulk(None, None) is False
    assert bulk.wants_bulk(10, True) is True
    assert bulk.wants_bulk(10**9, False) is False


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's foreign keys stay during a bulk load"
)
def test_rows_left_pointing_to_a_contact_deleted_during_a_bulk_load_go_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + ROWS, encoding="utf-8")
    indexes = bulk.index_definitions()
    gone = ContactFactory.create(email="efface@exemple.fr")
    original = ChunkWriter.write

    def erasing_meanwhile(self: ChunkWriter, chunk: Any) -> Any:
        if Contact.objects.filter(pk=gone.pk).exists():
            # What an erasure racing with the import's own writes can leave while the foreign
            # keys are off: a consent written for a contact deleted at the same time.
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM people_contact WHERE id = %s", [gone.pk])
                cursor.execute(
                    "INSERT INTO people_consent (contact_id, purpose, status, basis, source, "
                    "source_ref, user_agent, withdrawn_reason, created_at, updated_at) "
                    "VALUES (%s, 'news', 'granted', 'membership', 'import', '', '', '', "
                    "now(), now())",
                    [gone.pk],
                )
        return original(self, chunk)

    monkeypatch.setattr(ChunkWriter, "write", erasing_meanwhile)
    batch = run(path, bulk_load=True)

    assert batch.status == ImportBatch.Status.DONE
    assert not Consent.objects.filter(contact_id=gone.pk).exists()
    assert bulk.index_definitions() == indexes
