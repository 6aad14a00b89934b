"""Benchmark of the CSV import of contacts, end to end through `essaim import_contacts`.

Generates a CSV of N rows (default 1,000,000) from essaim.people.services.demo.fake_rows with 5%
duplicates (exact copies, other case, other or missing fields) and 1% rows with a bad value (bad
addresses, which are rejected; postcodes that do not exist and bad phone numbers, which are
imported without them, with a warning), then, each against a fresh
database, runs `essaim import_contacts` as a subprocess on SQLite and on PostgreSQL, measuring
wall time and peak RSS (/usr/bin/time), and, as the reference, PostgreSQL `COPY` of the same file
into an unindexed table. Prints a markdown table.

    .venv/bin/python bench/import_contacts.py [--rows 1000000] [--skip-sqlite] [--skip-postgres]
        [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--database bench_import]

The PostgreSQL database (`bench_import` by default) is created and dropped by the script.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ESSAIM = ROOT / ".venv" / "bin" / "essaim"
HEADER = ["email", "prénom", "nom", "code postal", "téléphone", "tags"]
FIELDS = ["email", "first_name", "last_name", "postcode", "phone", "tags"]


def setup_django(data_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "essaim.settings",
            "ESSAIM_SKIP_DOTENV": "1",
            "DEBUG": "1",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": "",
            "REDIS_URL": "",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def generate(path: Path, rows: int, seed: int = 2007) -> dict[str, int]:
    """Write the file; return the expected counters."""
    from essaim.people.services.demo import fake_rows
    from essaim.people.services.imports.rows import fast_phone
    from essaim.people.services.zones import postcode_map

    rng = random.Random(seed + 1)
    invalid = rows // 100
    duplicates = rows * 5 // 100
    unique = rows - invalid - duplicates
    special = rng.sample(range(1000, rows), invalid + duplicates)
    kinds = dict.fromkeys(special[:duplicates], "dup") | dict.fromkeys(special[duplicates:], "bad")
    recent: list[list[str]] = []
    warnings = 0
    fakes = fake_rows(unique, sorted(postcode_map()), seed=seed)
    bad_values = [
        ("email", "pas-une-adresse"),
        ("email", "deux@@arobases.fr"),
        ("email", "sans-domaine@"),
        ("postcode", "99999"),
        ("postcode", "1234567"),
        ("phone", "+33 1 23"),
    ]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for position in range(rows):
            kind = kinds.get(position)
            if kind == "dup":
                row = list(rng.choice(recent))
                variant = rng.randrange(4)
                if variant == 1:
                    row[0] = row[0].upper()
                elif variant == 2:
                    row[1:] = ["", "", "", "", ""]
                elif variant == 3:
                    row[1] = "Autre"
                writer.writerow(row)
                continue
            if kind == "bad":
                base = dict(next(iter(fake_rows(1, ["75011"], seed=position))))
                name, value = rng.choice(bad_values)
                base[name] = value
                if name != "email":
                    # Imported without the bad value: an address of its own, never a duplicate,
                    # and no second bad value (the base row's phone is random).
                    base["email"] = f"avertissement.{position}@exemple.fr"
                    if name != "phone":
                        base["phone"] = ""
                    warnings += 1
                writer.writerow([base[f] for f in FIELDS])
                continue
            fake = next(fakes)
            try:
                fast_phone(fake["phone"])
            except ValueError:
                fake["phone"] = "+3361" + fake["phone"][5:]
            row = [fake[f] for f in FIELDS]
            writer.writerow(row)
            if len(recent) < 100_000:
                recent.append(row)
            else:
                recent[rng.randrange(100_000)] = row
    return {
        "imported": unique + warnings,
        "updated": 0,
        "duplicates": duplicates,
        "invalid": invalid - warnings,
        "warnings": warnings,
    }


def run_import(path: Path, env: dict[str, str], workdir: Path) -> dict[str, Any]:
    subprocess.run([str(ESSAIM), "migrate", "--noinput", "-v0"], env=env, check=True)
    timing = workdir / "time.txt"
    started = time.monotonic()
    process = subprocess.Popen(
        [
            "/usr/bin/time",
            "-f",
            "%e %M",
            "-o",
            str(timing),
            str(ESSAIM),
            "import_contacts",
            str(path),
            "--basis",
            "explicit_consent",
            "--source",
            "bench",
            "--purposes",
            "news",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree_rss = _TreeRss(process.pid)
    tree_rss.start()
    stdout, stderr = process.communicate()
    wall = time.monotonic() - started
    tree_rss.stop()
    done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    if done.returncode:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr[-3000:]}")
    # Progress lines: "import 1: 20000/1000000 lignes (2 %) en 1.9 s, …"
    progress = [
        (int(m.group(1)), float(m.group(2)))
        for m in re.finditer(r": (\d+)/\d+ lignes \(\d+ %\) en ([\d.]+) s", done.stderr)
    ]
    last = done.stdout.strip().splitlines()[-1]
    counters = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", last)}
    _elapsed, max_rss_kb = timing.read_text().split()[-2:]
    return {
        "wall": wall,
        "rss_mb": int(max_rss_kb) / 1024,
        "tree_rss_mb": tree_rss.peak / 1024 / 1024,
        "line": last,
        "first_tenth": _rate(progress, 0.0, 0.1),
        "last_tenth": _rate(progress, 0.9, 1.0),
        **counters,
    }


class _TreeRss(threading.Thread):
    """Peak of the summed RSS of a process and its descendants (the import may read the file in
    a process of its own), sampled every 50 ms; /usr/bin/time only gives the largest one."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop_event.wait(0.05):
            total = 0
            try:
                for process in [root, *root.children(recursive=True)]:
                    total += process.memory_info().rss
            except psutil.NoSuchProcess:
                continue
            self.peak = max(self.peak, total)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _rate(progress: list[tuple[int, float]], start: float, end: float) -> float:
    """Rows per second between two fractions of the file, from the progress lines."""
    if len(progress) < 3:
        return 0.0
    total = progress[-1][0]
    inside = [(rows, t) for rows, t in progress if start * total <= rows <= end * total]
    if len(inside) < 2:
        return 0.0
    (rows0, t0), (rows1, t1) = inside[0], inside[-1]
    return (rows1 - rows0) / (t1 - t0) if t1 > t0 else 0.0


def parse_only(path: Path) -> dict[str, float]:
    """The Python side alone (read, normalize, de-duplicate; no database): its ceiling."""
    from essaim.people.services.imports import inspect_file
    from essaim.people.services.imports.rows import RowReader
    from essaim.people.services.zones import postcode_map

    postcode_map()
    started = time.monotonic()
    cpu = time.process_time()
    info = inspect_file(path)
    reader = RowReader(
        path=path,
        encoding=info.encoding,
        delimiter=info.delimiter,
        mapping=info.mapping,
        columns=len(info.header),
        chunk_rows=20_000,
    )
    from essaim.people.services.imports.runner import fewer_collections

    with fewer_collections():  # as run_batch does
        staged = sum(len(chunk.staged) for chunk in reader.chunks())
    return {
        "seconds": time.monotonic() - started,
        "cpu": time.process_time() - cpu,
        "staged": staged,
    }


def base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        {
            "ESSAIM_SKIP_DOTENV": "1",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-used-for-anything",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


def bench_sqlite(path: Path, workdir: Path) -> dict[str, Any]:
    data_dir = workdir / "sqlite"
    data_dir.mkdir()
    env = base_env(data_dir) | {"SQLITE_PATH": str(data_dir / "bench.sqlite3")}
    return run_import(path, env, data_dir)


def _admin_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def bench_postgres(path: Path, workdir: Path, admin_url: str, name: str) -> dict[str, Any]:
    import psycopg
    from psycopg import sql

    database_url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    with _admin_connect(admin_url) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        data_dir = workdir / "postgres"
        data_dir.mkdir()
        env = base_env(data_dir) | {"DATABASE_URL": database_url}
        result = run_import(path, env, data_dir)
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE copy_reference (email text, first_name text, last_name text, "
                "postcode text, phone text, tags text)"
            )
            started = time.monotonic()
            with (
                conn.cursor() as cursor,
                cursor.copy(
                    "COPY copy_reference FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
                path.open("rb") as handle,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            result["copy_seconds"] = time.monotonic() - started
            row = conn.execute("SELECT count(*) FROM copy_reference").fetchone()
            result["copy_rows"] = row[0] if row else 0
            result["server"] = conn.info.server_version
        return result
    finally:
        with _admin_connect(admin_url) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def machine() -> str:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kb = int(line.split()[1])
    import sqlite3

    return (
        f"{os.cpu_count()} CPUs (nproc {os.sched_getaffinity(0).__len__()}), {cpu}, "
        f"{mem_kb / 1024 / 1024:.1f} GiB RAM; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_import")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="essaim-bench-import-"))
    try:
        setup_django(workdir / "gen")
        path = workdir / "contacts.csv"
        started = time.monotonic()
        expected = generate(path, args.rows)
        print(
            f"generated {path} ({path.stat().st_size / 1e6:.1f} MB, {args.rows} rows) in "
            f"{time.monotonic() - started:.1f} s; expected {expected}",
            file=sys.stderr,
        )
        results: dict[str, dict[str, Any]] = {}
        python_only = parse_only(path)
        print(f"parse only: {python_only}", file=sys.stderr)
        if not args.skip_sqlite:
            results["SQLite"] = bench_sqlite(path, workdir)
            print(f"SQLite: {results['SQLite']}", file=sys.stderr)
        if not args.skip_postgres:
            results["PostgreSQL"] = bench_postgres(path, workdir, args.postgres, args.database)
            print(f"PostgreSQL: {results['PostgreSQL']}", file=sys.stderr)

        print(f"Machine: {machine()}\n")
        print(
            "| Run | Rows | Wall time (s) | Rows/s | Rows/s, first 10 % | Rows/s, last 10 % "
            "| Peak RSS (MB), largest process / all processes | imported | updated | duplicates "
            "| invalid | warnings | Counters as expected |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        for name, r in results.items():
            ok = all(int(r[k]) == v for k, v in expected.items())
            print(
                f"| `import_contacts`, {name} | {args.rows:,} | {r['wall']:.1f} "
                f"| {args.rows / r['wall']:,.0f} | {r['first_tenth']:,.0f} "
                f"| {r['last_tenth']:,.0f} | {r['rss_mb']:.0f} / {r['tree_rss_mb']:.0f} "
                f"| {int(r['imported']):,} "
                f"| {int(r['updated']):,} | {int(r['duplicates']):,} | {int(r['invalid']):,} "
                f"| {int(r.get('warnings', 0)):,} | {'yes' if ok else 'NO'} |"
            )
        print(
            f"| Python side only, no database (read, normalize, de-duplicate; in-process) "
            f"| {args.rows:,} | {python_only['seconds']:.1f} "
            f"| {args.rows / python_only['seconds']:,.0f} | — | — | — | — | — | — | — | — | — |"
        )
        pg = results.get("PostgreSQL")
        if pg:
            print(
                f"| PostgreSQL `COPY` into an unindexed table (reference) | {pg['copy_rows']:,} "
                f"| {pg['copy_seconds']:.1f} | {pg['copy_rows'] / pg['copy_seconds']:,.0f} "
                "| — | — | — | — | — | — | — | — | — |"
            )
            print(
                f"\nRatio import_contacts (PostgreSQL) / COPY: "
                f"{pg['wall'] / pg['copy_seconds']:.1f}× the time of COPY."
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
