"""Where the CSV import's time goes: `run_batch` in-process against a fresh database, every SQL
statement timed with `connection.execute_wrapper` (grouped by its text with numbers removed),
plus the commits and the COPY loads, which the wrapper does not see.

    .venv/bin/python bench/import_profile.py --rows 200000 [--postgres URL] [--file PATH]

Without --postgres it runs on a fresh SQLite file; with it, the database named in URL is emptied
(its public schema dropped) and migrated. The generated file is kept under the system temp
directory and reused by the next run with the same --rows. For iterating on the import's code,
not a benchmark of record (bench/import_contacts.py is that).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--postgres", default="", help="database URL; SQLite when empty")
    parser.add_argument("--file", default="", help="CSV to import instead of a generated one")
    parser.add_argument("--chunk-rows", type=int, default=0, help="0: the import's default")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT / "bench"))
    from harness import import_django  # type: ignore[import-not-found]

    import_django("profile", args.postgres)
    from django.core.management import call_command
    from django.db import connection
    from import_contacts import generate  # type: ignore[import-not-found]

    path = (
        Path(args.file)
        if args.file
        else Path(tempfile.gettempdir()) / f"essaim-import-{args.rows}.csv"
    )
    if not path.is_file():
        generate(path, args.rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    call_command("migrate", verbosity=0)

    from essaim.people.services import imports
    from essaim.people.services.imports import writer as writer_module

    times: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    digits = re.compile(r"\b\d+\b|%s(, %s)*")

    def timed(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = digits.sub("?", " ".join(sql.split()))[:110]
            times[key] += time.perf_counter() - started
            counts[key] += 1

    original_commit = connection._commit

    def commit() -> None:
        started = time.perf_counter()
        try:
            original_commit()
        finally:
            times["COMMIT"] += time.perf_counter() - started
            counts["COMMIT"] += 1

    connection._commit = commit  # type: ignore[method-assign]
    for name in ("_copy", "_load"):
        method = getattr(writer_module.ChunkWriter, name, None)
        if method is None:
            continue

        def wrapped(
            self: Any, cursor: Any, table: str, *rest: Any, _m: Any = method, _n: str = name
        ) -> Any:
            started = time.perf_counter()
            try:
                return _m(self, cursor, table, *rest)
            finally:
                # SQLite's executemany is already timed by the execute wrapper: not twice.
                if connection.vendor == "postgresql":
                    key = f"{_n} {table} (COPY)"
                    times[key] += time.perf_counter() - started
                    counts[key] += 1

        setattr(writer_module.ChunkWriter, name, wrapped)

    batch = imports.create_batch(
        path=path.resolve(),
        filename=path.name,
        basis="explicit_consent",
        purposes=["news"],
        source="bench",
    )
    started = time.monotonic()
    with connection.execute_wrapper(timed):
        done = imports.run_batch(
            batch_id=batch.pk, chunk_rows=args.chunk_rows or imports.CHUNK_ROWS
        )
    wall = time.monotonic() - started
    print(
        f"{connection.vendor}: {args.rows} rows in {wall:.1f} s = {args.rows / wall:,.0f} rows/s; "
        f"status={done.status} imported={done.imported} updated={done.updated} "
        f"duplicates={done.duplicates} invalid={done.invalid} {done.error}"
    )
    total = sum(times.values())
    print(f"database time seen: {total:.1f} s")
    for key, seconds in sorted(times.items(), key=lambda item: -item[1])[: args.top]:
        print(f"{seconds:7.2f} s {counts[key]:6d}x  {key}")


if __name__ == "__main__":
    main()
