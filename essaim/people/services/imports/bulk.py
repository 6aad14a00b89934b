"""The bulk-load path: for an import as large as the base (a first load, typically), the
non-unique secondary indexes of the contact tables are dropped before the rows go in and rebuilt
after, as pg_restore does (SQLite keeps those the load only appends to: _KEPT_ON_SQLITE).
Building an index over sorted keys once costs a fraction of inserting a million random keys
into it one by one (docs/benchmarks.md, "CSV import of contacts"). On
PostgreSQL the foreign keys from consents, tag links and timeline events to contacts go too and
come back checked in one pass, instead of one locking look-up per row at each commit.

What stays true throughout:
- Uniqueness is always enforced: primary keys and unique indexes (the address key, one consent
  per contact and purpose, one link per contact and tag) are never dropped, so concurrent
  sign-ups, API upserts and other imports stay correct.
- Every dropped index or key is first recorded, in the same transaction as the DROP, with the
  database's own statement to rebuild it (DeferredSchema). They are rebuilt when the import
  ends, whether it succeeded or failed; if the process was killed, the next import rebuilds
  them before doing anything else (`restore_interrupted`). Only one bulk load runs at a time
  (a PostgreSQL advisory lock, a file lock next to the SQLite file), and leftovers are rebuilt
  only by whoever holds it.
- A foreign key comes back NOT VALID first (enforced at once for new rows), then is validated;
  rows left pointing to a contact deleted during the load (their contact was erased) are deleted
  with it, as the cascade would have.
- Meanwhile readers get correct answers, only slower for what the dropped indexes served
  (segment counts by zone or tag, searches by phone or name). On PostgreSQL, DROP INDEX waits at
  most a few seconds for its brief exclusive lock (else the import takes the normal path), and
  the rebuild blocks writers to those tables, not readers, for its duration (seconds at a
  million contacts). SQLite's WAL readers are never blocked; writers wait for each chunk as
  always.
"""

# Table and index names come from the database's catalog and Model._meta.
# ruff: noqa: S608

from __future__ import annotations

import fcntl
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from essaim.people.models import Consent, Contact, ContactEvent, ContactTag, DeferredSchema

logger = logging.getLogger(__name__)

# The tables whose secondary indexes a bulk load defers. Not the timeline: the import reads it
# (one event per contact and batch) through its (contact, at) index.
BULK_TABLES = tuple(model._meta.db_table for model in (Contact, Consent, ContactTag))
# An import takes the bulk path from this many rows, when the file is at least as large as the
# base: below, rebuilding the whole base's indexes would cost more than it saves.
BULK_MIN_ROWS = 100_000
_PG_LOCK_KEY = 0x6573_7361_696D  # "essaim": pg_try_advisory_lock's key for bulk loads
_PG_DROP_LOCK_TIMEOUT = "5s"


def secondary_indexes() -> list[tuple[str, str, str]]:
    """(name, table, CREATE statement) of the non-unique indexes of BULK_TABLES, by name."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname, t.relname, pg_get_indexdef(i.indexrelid) FROM pg_index AS i "
                "JOIN pg_class AS c ON c.oid = i.indexrelid "
                "JOIN pg_class AS t ON t.oid = i.indrelid "
                "WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace "
                "AND NOT i.indisunique AND NOT i.indisprimary ORDER BY c.relname",
                [list(BULK_TABLES)],
            )
        else:
            cursor.execute(
                "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' "
                f"AND tbl_name IN ({', '.join(['%s'] * len(BULK_TABLES))}) AND sql IS NOT NULL "
                "ORDER BY name",
                list(BULK_TABLES),
            )
        rows = [(name, table, sql) for name, table, sql in cursor.fetchall()]
        if connection.vendor == "sqlite":
            rows = [row for row in rows if _columns(cursor, row[0], row[1]) not in _KEPT_ON_SQLITE]
    # SQLite keeps UNIQUE indexes made by CREATE UNIQUE INDEX in sqlite_master too.
    return [row for row in rows if not _UNIQUE.match(row[2])]


# Indexes whose entries a load appends at their end (keys that grow with the contact id, or
# lead with a value shared by the whole batch): SQLite keeps them during a bulk load, which
# costs it less than rebuilding them (docs/benchmarks-history.md, "CSV import of contacts").
_KEPT_ON_SQLITE = {
    (Contact._meta.db_table, ("source",)),
    (Contact._meta.db_table, ("created_at",)),
    (Consent._meta.db_table, ("purpose", "status", "contact_id")),
    (ContactTag._meta.db_table, ("tag_id", "contact_id")),
}


def _columns(cursor: Any, index: str, table: str) -> tuple[str, tuple[str, ...]]:
    cursor.execute(f"PRAGMA index_info({connection.ops.quote_name(index)})")
    return table, tuple(str(row[2]) for row in cursor.fetchall())


# The tables whose foreign keys to contacts a bulk load defers (PostgreSQL).
FK_TABLES = tuple(model._meta.db_table for model in (Consent, ContactTag, ContactEvent))


def contact_foreign_keys() -> list[tuple[str, str, str, str]]:
    """(name, table, ADD CONSTRAINT statement, column) of the foreign keys from FK_TABLES to
    contacts, on PostgreSQL; none on SQLite, whose checks are plain index probes."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conname, t.relname, pg_get_constraintdef(c.oid), a.attname "
            "FROM pg_constraint AS c JOIN pg_class AS t ON t.oid = c.conrelid "
            "JOIN pg_attribute AS a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.confrelid = %s::regclass AND t.relname = ANY(%s) "
            "AND array_length(c.conkey, 1) = 1 ORDER BY c.conname",
            [Contact._meta.db_table, list(FK_TABLES)],
        )
        quote = connection.ops.quote_name
        return [
            (
                name,
                table,
                f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}",
                column,
            )
            for name, table, definition, column in cursor.fetchall()
        ]


_UNIQUE = re.compile(r"\s*CREATE\s+UNIQUE\s", re.IGNORECASE)
_CREATE_INDEX = re.compile(r"\s*CREATE\s+INDEX\s+(?!IF\s+NOT\s+EXISTS\s)", re.IGNORECASE)


def _if_not_exists(sql: str) -> str:
    return _CREATE_INDEX.sub("CREATE INDEX IF NOT EXISTS ", sql, count=1)


class _Lock:
    """The bulk-load lock, held for the whole load; released when the process dies."""

    def __init__(self) -> None:
        self._file: IO[bytes] | None = None
        self._pg = False

    def acquire(self) -> bool:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [_PG_LOCK_KEY])
                self._pg = bool(cursor.fetchone()[0])
            return self._pg
        database = Path(str(connection.settings_dict["NAME"]))
        path = (
            database.with_name(database.name + ".bulk-lock")
            if database.is_absolute()
            else Path(settings.DATA_DIR) / "import-bulk.lock"  # in-memory test databases
        )
        handle = path.open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._file = handle
        return True

    def release(self) -> None:
        if self._pg:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_PG_LOCK_KEY])
            self._pg = False
        if self._file is not None:
            self._file.close()  # releases the flock
            self._file = None


def _check_deferred_constraints(cursor: Any) -> None:
    """PostgreSQL refuses to create or drop an index of a table with foreign-key checks still
    deferred in the transaction (an enclosing transaction that wrote to it): run them now. A
    no-op when each chunk has committed."""
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def restore_indexes() -> list[str]:
    """Rebuild every deferred index and foreign key (one transaction); return their names. The
    caller holds the bulk-load lock."""
    names: list[str] = []
    with transaction.atomic(), connection.cursor() as cursor:
        pg = connection.vendor == "postgresql"
        if pg:
            _check_deferred_constraints(cursor)
            # For the sorts and joins of the builds; this transaction only.
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        deferred = list(DeferredSchema.objects.order_by("pk"))
        for item in deferred:
            if item.kind == DeferredSchema.Kind.INDEX:
                cursor.execute(_if_not_exists(item.sql))
        for item in deferred:
            if item.kind == DeferredSchema.Kind.FOREIGN_KEY:
                _restore_foreign_key(cursor, item)
        names = [item.name for item in deferred]
        DeferredSchema.objects.filter(name__in=names).delete()
        if names and pg:
            # Fresh statistics for the planner after a load as large as the base.
            for table in BULK_TABLES:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return names


def _restore_foreign_key(cursor: Any, item: DeferredSchema) -> None:
    quote = connection.ops.quote_name
    cursor.execute(
        "SELECT 1 FROM pg_constraint WHERE conname = %s AND conrelid = %s::regclass",
        [item.name, item.table],
    )
    if cursor.fetchone():
        return
    # Enforced for new rows from now on; then the existing rows are checked in one pass.
    cursor.execute(f"{item.sql} NOT VALID")
    table, column, contact = quote(item.table), quote(item.column), quote(Contact._meta.db_table)
    validate = f"ALTER TABLE {table} VALIDATE CONSTRAINT {quote(item.name)}"
    try:
        # Almost always right at once: the orphan search below costs as much as the check, so
        # it only runs when the check fails (a savepoint keeps the transaction usable).
        with transaction.atomic():
            cursor.execute(validate)
        return
    except IntegrityError:
        pass
    cursor.execute(
        f"DELETE FROM {table} AS child WHERE child.{column} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {contact} AS c WHERE c.id = child.{column})"
    )
    logger.warning(
        "bulk load: %s rows of %s pointed to contacts deleted meanwhile; removed as the "
        "cascade would have",
        cursor.rowcount,
        item.table,
    )
    cursor.execute(validate)


def restore_interrupted() -> list[str]:
    """Rebuild the indexes a killed bulk load left dropped, unless a bulk load is running."""
    if not DeferredSchema.objects.exists():
        return []
    lock = _Lock()
    if not lock.acquire():
        return []
    try:
        names = restore_indexes()
    finally:
        lock.release()
    if names:
        logger.warning("rebuilt indexes left dropped by an interrupted bulk load: %s", names)
    return names


def _drop_indexes() -> bool:
    """Record then drop the secondary indexes, in one transaction; False if PostgreSQL could not
    get the tables' lock quickly (a long reader): then nothing is dropped."""
    from django.db import OperationalError

    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                _check_deferred_constraints(cursor)
                cursor.execute(f"SET LOCAL lock_timeout = '{_PG_DROP_LOCK_TIMEOUT}'")
            quote = connection.ops.quote_name
            for name, table, sql in secondary_indexes():
                DeferredSchema.objects.create(
                    name=name, table=table, kind=DeferredSchema.Kind.INDEX, sql=sql
                )
                cursor.execute(f"DROP INDEX {quote(name)}")
            for name, table, sql, column in contact_foreign_keys():
                DeferredSchema.objects.create(
                    name=name,
                    table=table,
                    kind=DeferredSchema.Kind.FOREIGN_KEY,
                    sql=sql,
                    column=column,
                )
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
    except OperationalError:
        logger.warning("bulk load: the contact tables are busy, indexes kept")
        return False
    return True


@contextmanager
def deferred_indexes(wanted: bool) -> Iterator[bool]:
    """Run the body with the secondary indexes dropped if `wanted` and possible; yields whether
    they were. They are rebuilt on the way out, whatever happened in the body."""
    if not wanted:
        yield False
        return
    lock = _Lock()
    if not lock.acquire():
        yield False  # another bulk load is running: this one takes the normal path
        return
    try:
        restore_indexes()  # leftovers of a killed load first
        dropped = _drop_indexes()
        try:
            yield dropped
        finally:
            if dropped:
                restore_indexes()
    finally:
        lock.release()


def wants_bulk(total_rows: int | None, forced: bool | None) -> bool:
    """The bulk path if forced, or for a file of BULK_MIN_ROWS rows or more at least as large as
    the base."""
    if forced is not None:
        return forced
    rows = total_rows or 0
    return rows >= BULK_MIN_ROWS and rows >= Contact.objects.count()


def index_definitions() -> dict[str, str]:
    """name → statement of every secondary index of BULK_TABLES and foreign key to contacts
    that a bulk load defers (for tests and checks)."""
    return {name: sql for name, _table, sql in secondary_indexes()} | {
        name: sql for name, _table, sql, _column in contact_foreign_keys()
    }


__all__ = [
    "BULK_MIN_ROWS",
    "deferred_indexes",
    "index_definitions",
    "restore_interrupted",
    "wants_bulk",
]
