"""Set-based writes of one chunk of an import: a TEMP staging table, then a handful of
INSERT … SELECT and UPDATE … FROM statements, whatever the number of rows.

PostgreSQL loads the staging table with COPY, SQLite with executemany; every other statement is
the same SQL on both (SQLite ≥ 3.35 has UPDATE … FROM, RETURNING and ON CONFLICT).
"""

# Table names come from Model._meta and this module; every value is a query parameter.
# ruff: noqa: S608

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import OperationalError, connection
from django.utils import timezone

from essaim.lib.text import name_key
from essaim.people.models import (
    Consent,
    Contact,
    ContactEvent,
    ContactTag,
    ImportBatch,
    Suppression,
    Tag,
)
from essaim.people.services.imports.rows import STAGE_COLUMNS, SUPPRESSED_REASON, Chunk

logger = logging.getLogger(__name__)

STAGE = "essaim_import_stage"
STAGE_TAG = "essaim_import_stage_tag"
_IN_LIST = 500  # values per IN (…) list
WAL_PAGES = 250_000  # SQLite's WAL checkpoint threshold during an import (pages of 4 KiB)
# The contact of a staged row: the existing one, else the one created with the reserved id.
CONTACT_OF_S = "coalesce(s.contact_id, s.new_id)"


@dataclass
class ChunkResult:
    imported: int
    updated: int
    duplicates: int
    invalid: list[tuple[int, str, list[str]]]  # (line, reason, cells), suppressed rows included
    # (line, field, value, reason) of the values left out of imported rows
    warnings: list[tuple[int, str, str, str]] = field(default_factory=list)


@contextmanager
def bulk_session() -> Iterator[None]:
    """Connection settings for the length of an import, restored after. On SQLite: no
    memory-mapped reads, since a mapped database counts in the process's memory as it is read
    (up to mmap_size, 256 MB) on top of the page cache, and an import reads all of its indexes;
    and one WAL checkpoint at the end instead of one per chunk."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA mmap_size")
        row = cursor.fetchone()
        mmap_size = int(row[0]) if row else 0
        cursor.execute("PRAGMA mmap_size = 0")
        cursor.execute("PRAGMA journal_mode")
        row = cursor.fetchone()
        wal = bool(row) and str(row[0]).lower() == "wal"  # not an in-memory test database
        autocheckpoint = 1000
        if wal:
            cursor.execute("PRAGMA wal_autocheckpoint")
            row = cursor.fetchone()
            autocheckpoint = int(row[0]) if row else autocheckpoint
            # Each chunk's commit would otherwise copy the WAL back into the database (a
            # checkpoint) as soon as the WAL passes 1,000 pages, i.e. at every commit, writing
            # the same index pages again and again. The WAL grows instead (up to about 1 GB)
            # and is checkpointed once at the end.
            cursor.execute(f"PRAGMA wal_autocheckpoint = {WAL_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA mmap_size = {mmap_size}")
            if wal:
                cursor.execute(f"PRAGMA wal_autocheckpoint = {autocheckpoint}")
                if not connection.in_atomic_block:  # SQLite refuses it inside a transaction
                    try:
                        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    except OperationalError:
                        # Only an optimization: the next commits' autocheckpoint does it.
                        logger.warning("import: WAL checkpoint refused, left to autocheckpoint")


def _placeholders(count: int) -> str:
    return ", ".join(["%s"] * count)


# A staged row as the reader made it, then the searched forms of its names (Contact.*_name_key).
WRITTEN_COLUMNS = (*STAGE_COLUMNS, "first_name_key", "last_name_key")
_FIRST_NAME = STAGE_COLUMNS.index("first_name")
_NEW_ID = STAGE_COLUMNS.index("new_id")
_KEYS_MAX = 200_000  # searched names kept per import, at most


class ChunkWriter:
    """Writes chunks of one import batch. Call `create_tables()` once (outside a transaction),
    `write()` inside one transaction per chunk, and `drop_tables()` at the end."""

    def __init__(self, batch: ImportBatch) -> None:
        self.batch = batch
        self.pg = connection.vendor == "postgresql"
        quote = connection.ops.quote_name
        self.contact = quote(Contact._meta.db_table)
        self.consent = quote(Consent._meta.db_table)
        self.event = quote(ContactEvent._meta.db_table)
        self.tag = quote(Tag._meta.db_table)
        self.contact_tag = quote(ContactTag._meta.db_table)
        self.suppression = quote(Suppression._meta.db_table)
        self.tag_ids: dict[str, int] = {}
        self._sequence: str | None = None
        self.event_data = json.dumps({"batch": batch.pk})
        self._keys: dict[str, str] = {}

    # --- Staging tables -----------------------------------------------------------------------

    def create_tables(self) -> None:
        with connection.cursor() as cursor:
            self._drop(cursor)
            cursor.execute(
                f"CREATE TEMP TABLE {STAGE} ("
                "id INTEGER PRIMARY KEY, dup SMALLINT NOT NULL, email TEXT NOT NULL, "
                "email_key TEXT NOT NULL, email_hash TEXT NOT NULL, first_name TEXT NOT NULL, "
                "last_name TEXT NOT NULL, phone TEXT NOT NULL, postcode TEXT NOT NULL, "
                "departement TEXT NOT NULL, region TEXT NOT NULL, new_id BIGINT NOT NULL, "
                "first_name_key TEXT NOT NULL, last_name_key TEXT NOT NULL, contact_id BIGINT, "
                "action CHAR(1) NOT NULL DEFAULT '')"
            )
            cursor.execute(
                f"CREATE TEMP TABLE {STAGE_TAG} (stage_id INTEGER NOT NULL, tag_id BIGINT NOT NULL)"
            )

    def drop_tables(self) -> None:
        with connection.cursor() as cursor:
            self._drop(cursor)

    @staticmethod
    def _drop(cursor: Any) -> None:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TAG}")

    def _load(self, cursor: Any, table: str, columns: Sequence[str], rows: list[Any]) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        if self.pg:
            # COPY goes through psycopg's own cursor: its errors are turned into Django's here.
            with (
                connection.wrap_database_errors,
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({_placeholders(len(columns))})", rows
            )

    # --- Tags ---------------------------------------------------------------------------------

    def forget_tags(self) -> None:
        self.tag_ids.clear()

    def _ensure_tags(self, cursor: Any, names: Iterable[str], now: Any) -> None:
        missing = sorted({name for name in names if name not in self.tag_ids})
        if not missing:
            return
        cursor.executemany(
            f"INSERT INTO {self.tag} (name, created_at) VALUES (%s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            [(name, now) for name in missing],
        )
        for start in range(0, len(missing), _IN_LIST):
            part = missing[start : start + _IN_LIST]
            cursor.execute(
                f"SELECT name, id FROM {self.tag} WHERE name IN ({_placeholders(len(part))})",
                part,
            )
            self.tag_ids.update(cursor.fetchall())

    # --- One chunk ----------------------------------------------------------------------------

    def write(self, chunk: Chunk) -> ChunkResult:
        """Write one chunk; the caller holds the transaction."""
        now = connection.ops.adapt_datetimefield_value(timezone.now())
        with connection.cursor() as cursor:
            # PostgreSQL's DELETE would leave the dead rows for VACUUM; SQLite's unqualified
            # DELETE is its truncate.
            empty = "TRUNCATE" if self.pg else "DELETE FROM"
            cursor.execute(f"{empty} {STAGE}")
            cursor.execute(f"{empty} {STAGE_TAG}")
            keys = self._keys
            if len(keys) > _KEYS_MAX:
                keys.clear()
            for row, new_id in zip(
                chunk.staged, self._reserve_ids(cursor, len(chunk.staged)), strict=True
            ):
                row[_NEW_ID] = new_id
                del row[_NEW_ID + 1 :]  # a retried chunk has its keys already
                # Names repeat across a file: each is folded once.
                for name in row[_FIRST_NAME : _FIRST_NAME + 2]:
                    key = keys.get(name)
                    if key is None:
                        key = keys[name] = name_key(name)
                    row.append(key)
            self._load(cursor, STAGE, WRITTEN_COLUMNS, chunk.staged)

            # Suppressed addresses are never (re-)added: their rows become invalid.
            cursor.execute(
                f"SELECT DISTINCT s.email_hash FROM {STAGE} AS s "
                f"JOIN {self.suppression} AS x ON x.email_hash = s.email_hash"
            )
            suppressed = {row[0] for row in cursor.fetchall()}
            dropped: set[int] = set()
            if suppressed:
                hashes = sorted(suppressed)
                for start in range(0, len(hashes), _IN_LIST):
                    part = hashes[start : start + _IN_LIST]
                    cursor.execute(
                        f"DELETE FROM {STAGE} WHERE email_hash IN ({_placeholders(len(part))})",
                        part,
                    )
                dropped = {row[0] for row in chunk.staged if row[4] in suppressed}

            self._ensure_tags(cursor, [*self.batch.tags, *(n for _, n in chunk.tag_links)], now)
            # The batch's own tags go to every contact below: not twice.
            batch_tags = set(self.batch.tags)
            links = sorted(
                {
                    (staged_id, self.tag_ids[name])
                    for staged_id, name in chunk.tag_links
                    if staged_id not in dropped and name not in batch_tags
                }
            )
            self._load(cursor, STAGE_TAG, ("stage_id", "tag_id"), links)
            imported, updated = self._apply(cursor, dup=0, now=now)
            self._apply(cursor, dup=1, now=now)
            self._consents(cursor, now)
            self._tags(cursor)

        invalid = list(chunk.invalid)
        duplicates = 0
        for line, hash_, is_dup, cells in chunk.valid_lines:
            if hash_ in suppressed:
                invalid.append((line, SUPPRESSED_REASON, cells))
            elif is_dup:
                duplicates += 1
        invalid.sort(key=lambda item: item[0])
        warnings = chunk.warnings
        if suppressed and warnings:
            # A rejected row has its reason in the report; its other values need no warning.
            rejected = {
                line for line, hash_, _dup, _cells in chunk.valid_lines if hash_ in suppressed
            }
            warnings = [warning for warning in warnings if warning[0] not in rejected]
        return ChunkResult(imported, updated, duplicates, invalid, warnings)

    def _apply(self, cursor: Any, *, dup: int, now: Any) -> tuple[int, int]:
        """Create or fill the contacts of one kind of staged row (first occurrences, then later
        occurrences); returns (created, filled). Fields are only ever filled when empty.

        After this, a staged row's contact is `coalesce(contact_id, new_id)`: contact_id is the
        existing contact, NULL for a contact this statement created with the reserved new_id."""
        s, c = STAGE, self.contact
        fills = (
            f"(c.first_name = '' AND {s}.first_name <> '') "
            f"OR (c.last_name = '' AND {s}.last_name <> '') "
            f"OR (c.phone = '' AND {s}.phone <> '') "
            f"OR (c.postcode = '' AND {s}.postcode <> '')"
        )
        cursor.execute(
            f"UPDATE {s} SET contact_id = c.id, "
            f"action = CASE WHEN {fills} THEN 'U' ELSE '' END FROM {c} AS c "
            f"WHERE {s}.dup = %s AND c.email_key = {s}.email_key",
            [dup],
        )

        def keep(column: str, when: str = "") -> str:
            condition = when or f"{c}.{column} = ''"
            return f"{column} = CASE WHEN {condition} THEN s.{column} ELSE {c}.{column} END"

        zone = f"{c}.postcode = '' AND s.postcode <> ''"
        empty = "''"
        cursor.execute(
            f"UPDATE {c} SET "
            f"{keep('first_name')}, {keep('last_name')}, {keep('phone')}, "
            f"{keep('first_name_key', f'{c}.first_name = {empty}')}, "
            f"{keep('last_name_key', f'{c}.last_name = {empty}')}, "
            f"{keep('postcode', zone)}, {keep('departement', zone)}, {keep('region', zone)}, "
            f"updated_at = %s "
            f"FROM {s} AS s WHERE s.dup = %s AND s.action = 'U' AND s.contact_id = {c}.id",
            [now, dup],
        )
        filled = cursor.rowcount
        # No ON CONFLICT: the addresses were looked up in this transaction. On PostgreSQL a
        # concurrent insert of the same address raises IntegrityError and the chunk is retried.
        cursor.execute(
            f"INSERT INTO {c} (id, email, email_key, email_hash, first_name, last_name, phone, "
            "postcode, departement, region, first_name_key, last_name_key, source, "
            "import_batch_id, created_at, updated_at) "
            "SELECT new_id, email, email_key, email_hash, first_name, last_name, phone, "
            "postcode, departement, region, first_name_key, last_name_key, %s, %s, %s, %s "
            f"FROM {s} "
            # In key order: the unique address index is then filled page after page instead of
            # at random (the other indexes are dropped during a bulk load).
            "WHERE dup = %s AND contact_id IS NULL ORDER BY email_key",
            [self.batch.source, self.batch.pk, now, now, dup],
        )
        created = cursor.rowcount
        self._events(cursor, dup=dup, now=now)
        return created, filled

    def _reserve_ids(self, cursor: Any, count: int) -> Sequence[int]:
        """Ids for the chunk's rows in case their contact is new, taken before the rows are
        staged, so that no statement has to look new contacts up again. PostgreSQL takes them
        from the table's sequence (the ids of rows that turn out to exist are simply unused);
        SQLite, where this transaction holds the only write lock, counts on from the highest id
        ever used (AUTOINCREMENT never reuses the id of a deleted contact)."""
        if not count:
            return ()
        if self.pg:
            if self._sequence is None:
                cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Contact._meta.db_table])
                self._sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self._sequence, count]
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT max(coalesce((SELECT max(id) FROM {self.contact}), 0), "
            "coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0))",
            [Contact._meta.db_table],
        )
        base = cursor.fetchone()[0]
        return range(base + 1, base + count + 1)

    def _events(self, cursor: Any, *, dup: int, now: Any) -> None:
        """One "import" event per existing contact this batch filled. A contact the batch
        created has none: its `import_batch` says so (see Contact.import_batch), and a later
        occurrence filling one of its fields is still part of that creation."""
        data = "CAST(%s AS jsonb)" if self.pg else "%s"
        distinct = "IS DISTINCT FROM" if self.pg else "IS NOT"  # NULL-safe "<>"
        params: list[Any] = [now, self.batch.created_by_id, self.event_data, dup, self.batch.pk]
        once = ""
        if dup:
            # A later occurrence that filled a field: one event per contact and batch all the same.
            same_batch = (
                "e.data ->> 'batch' = %s" if self.pg else "json_extract(e.data, '$.batch') = %s"
            )
            once = (
                f" AND NOT EXISTS (SELECT 1 FROM {self.event} AS e WHERE e.contact_id = "
                f"s.contact_id AND e.kind = 'import' AND {same_batch})"
            )
            params.append(str(self.batch.pk) if self.pg else self.batch.pk)
        cursor.execute(
            f"INSERT INTO {self.event} (contact_id, at, kind, actor_id, data) "
            f"SELECT s.contact_id, %s, 'import', %s, {data} FROM {STAGE} AS s "
            f"JOIN {self.contact} AS c ON c.id = s.contact_id "
            "WHERE s.dup = %s AND s.action = 'U' "
            f"AND c.import_batch_id {distinct} %s{once} ORDER BY s.id",
            params,
        )

    def _consents(self, cursor: Any, now: Any) -> None:
        """Missing consents only: an existing row (granted, pending or withdrawn) is never
        touched, so an import never lowers nor overrides what the person decided."""
        purposes = list(self.batch.purposes)
        if not purposes:
            return
        union = " UNION ALL ".join(["SELECT %s AS purpose"] * len(purposes))
        params = [
            Consent.Status.GRANTED,
            self.batch.basis,
            Consent.Source.IMPORT,
            str(self.batch.pk),
            now,
            now,
            *purposes,
        ]
        insert = (
            f"INSERT INTO {self.consent} (contact_id, purpose, status, basis, source, "
            "source_ref, ip, user_agent, confirmed_at, withdrawn_at, withdrawn_reason, "
            "created_at, updated_at) "
            f"SELECT {CONTACT_OF_S}, p.purpose, %s, %s, %s, %s, NULL, '', NULL, NULL, '', %s, %s "
            f"FROM {STAGE} AS s CROSS JOIN ({union}) AS p "
        )
        # New contacts have no consent yet: a plain insert, cheaper than ON CONFLICT.
        cursor.execute(insert + "WHERE s.contact_id IS NULL ORDER BY s.id", params)
        cursor.execute(
            insert + "WHERE s.dup = 0 AND s.contact_id IS NOT NULL "
            "ON CONFLICT (contact_id, purpose) DO NOTHING",
            params,
        )

    def _tags(self, cursor: Any) -> None:
        insert = f"INSERT INTO {self.contact_tag} (contact_id, tag_id) "
        new = "s.contact_id IS NULL"  # a contact created by this chunk
        links = (
            f"SELECT {CONTACT_OF_S}, st.tag_id FROM {STAGE_TAG} AS st "
            f"JOIN {STAGE} AS s ON s.id = st.stage_id "
        )
        cursor.execute(insert + links + f"WHERE {new} ORDER BY st.stage_id")
        cursor.execute(
            insert + links + f"WHERE NOT ({new}) ON CONFLICT (contact_id, tag_id) DO NOTHING"
        )
        batch_tags = [self.tag_ids[name] for name in self.batch.tags]
        if batch_tags:
            cross = (
                f"SELECT {CONTACT_OF_S}, t.id FROM {STAGE} AS s CROSS JOIN {self.tag} AS t "
                f"WHERE t.id IN ({_placeholders(len(batch_tags))}) "
            )
            cursor.execute(insert + cross + "AND s.contact_id IS NULL", batch_tags)
            cursor.execute(
                insert + cross + "AND s.dup = 0 AND s.contact_id IS NOT NULL "
                "ON CONFLICT (contact_id, tag_id) DO NOTHING",
                batch_tags,
            )
