"""The floor of the CSV import's database writes on this machine, against the import itself.

Imports a generated file of N rows (`run_batch` in-process, bulk path, as `essaim
import_contacts` runs it), then writes the very rows it left in the base again with plain SQL
from copies already inside the database: no parsing, no Python per row, no staging table, no
look-up of known addresses, the deferred indexes and foreign keys dropped first and rebuilt after
by the import's own code (`imports.bulk`). One transaction per CHUNK_ROWS contacts, as the import
commits them: contacts (in address order, as the import inserts them), their consents, tag links
and timeline events. What is left is what the schema itself costs the database: the time no
import of these rows can beat on this machine, whatever its Python side does.

    .venv/bin/python bench/import_floor.py --rows 1000000 [--postgres URL]

Without --postgres, a fresh SQLite file; with it, the database named in URL is emptied (its
public schema dropped). The generated file is shared with bench/import_profile.py.
"""

# Table names come from Model._meta.
# ruff: noqa: S608

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="", help="database URL; SQLite when empty")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    from harness import import_django, machine  # type: ignore[import-not-found]

    workdir = import_django("floor", args.postgres)
    from django.core.management import call_command
    from django.db import connection, transaction
    from import_contacts import generate  # type: ignore[import-not-found]

    from essaim.people.models import Consent, Contact, ContactEvent, ContactTag
    from essaim.people.services import imports
    from essaim.people.services.imports import bulk
    from essaim.people.services.imports.writer import bulk_session

    path = Path(tempfile.gettempdir()) / f"essaim-import-{args.rows}.csv"
    if not path.is_file():
        generate(path, args.rows)
    pg = connection.vendor == "postgresql"
    if pg:
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)

    # 1. The import itself, the reference of this run.
    batch = imports.create_batch(
        path=path, filename=path.name, basis="explicit_consent", purposes=["news"], source="bench"
    )
    started = time.monotonic()
    done = imports.run_batch(batch_id=batch.pk, bulk=True)
    import_seconds = time.monotonic() - started
    assert done.status == done.Status.DONE, done.error

    # 2. Copies of what it wrote, then the tables emptied and the deferred schema dropped.
    quote = connection.ops.quote_name
    tables = {
        "contact": Contact._meta.db_table,
        "consent": Consent._meta.db_table,
        "tag": ContactTag._meta.db_table,
        "event": ContactEvent._meta.db_table,
    }
    scratch = "" if pg else "floor."
    with connection.cursor() as cursor:
        if not pg:
            cursor.execute("ATTACH DATABASE %s AS floor", [str(workdir / "scratch.sqlite3")])
        unlogged = "UNLOGGED " if pg else ""
        for name, table in tables.items():
            cursor.execute(
                f"CREATE {unlogged}TABLE {scratch}floor_{name} AS SELECT * FROM {quote(table)}"
            )
            key = "id" if name == "contact" else "contact_id"
            cursor.execute(f"CREATE INDEX {scratch}floor_{name}_key ON floor_{name} ({key})")
        cursor.execute(f"SELECT min(id), max(id), count(*) FROM {scratch}floor_contact")
        low, high, contacts = cursor.fetchone()
        if pg:
            cursor.execute(f"TRUNCATE {', '.join(quote(t) for t in tables.values())} CASCADE")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in (tables["tag"], tables["consent"], tables["event"], tables["contact"]):
                cursor.execute(f"DELETE FROM {quote(table)}")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert bulk._drop_indexes()

    # 3. The same rows written again, chunk by chunk, then the schema rebuilt.
    columns = {
        name: ", ".join(quote(f.column) for f in model._meta.local_concrete_fields)
        for name, model in (
            ("contact", Contact),
            ("consent", Consent),
            ("tag", ContactTag),
            ("event", ContactEvent),
        )
    }
    spent = dict.fromkeys([*tables, "commit"], 0.0)
    # The import's connection settings (SQLite: one WAL checkpoint, at the end).
    with bulk_session():
        started = time.monotonic()
        for start in range(low, high + 1, imports.CHUNK_ROWS):
            end = start + imports.CHUNK_ROWS
            with transaction.atomic(), connection.cursor() as cursor:
                for name, table in tables.items():
                    key, order = ("id", "email_key") if name == "contact" else ("contact_id", "id")
                    tick = time.monotonic()
                    cursor.execute(
                        f"INSERT INTO {quote(table)} ({columns[name]}) SELECT {columns[name]} "
                        f"FROM {scratch}floor_{name} WHERE {key} >= %s AND {key} < %s "
                        f"ORDER BY {order}",
                        [start, end],
                    )
                    spent[name] += time.monotonic() - tick
                tick = time.monotonic()
            spent["commit"] += time.monotonic() - tick
        load_seconds = time.monotonic() - started
        started = time.monotonic()
        bulk.restore_indexes()
    rebuild_seconds = time.monotonic() - started  # with the final WAL checkpoint on SQLite
    floor_seconds = load_seconds + rebuild_seconds
    print(
        json.dumps(
            {
                "backend": connection.vendor,
                "machine": machine(),
                "rows": args.rows,
                "contacts": contacts,
                "import_seconds": round(import_seconds, 2),
                "import_rows_per_s": round(args.rows / import_seconds),
                "floor_load_seconds": round(load_seconds, 2),
                "floor_load_by_table": {k: round(v, 2) for k, v in spent.items()},
                "floor_rebuild_seconds": round(rebuild_seconds, 2),
                "floor_seconds": round(floor_seconds, 2),
                "floor_rows_per_s": round(args.rows / floor_seconds),
                "import_over_floor": round(import_seconds / floor_seconds, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
