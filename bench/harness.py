"""What the benchmark scripts share: the machine's description, PostgreSQL databases of their own,
a log on stderr and the database's version. Imported as `harness` (scripts run from bench/)."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    cpu = ""
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg": os.getloadavg(),
    }


def pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def import_django(name: str, database_url: str) -> Path:
    """Django set up in this process for an import benchmark, on a fresh SQLite file in a new
    temporary folder (also DATA_DIR), or on `database_url` when given. Returns the folder."""
    workdir = Path(tempfile.mkdtemp(prefix=f"essaim-import-{name}-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "essaim.settings",
            "ESSAIM_SKIP_DOTENV": "1",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-used-for-anything",
            "DATA_DIR": str(workdir),
            "DATABASE_URL": database_url,
            "SQLITE_PATH": str(workdir / f"{name}.sqlite3"),
            "REDIS_URL": "",
            "LOG_LEVEL": "WARNING",
        }
    )
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    return workdir


def worker_process(
    script: str, backend: str, tmp: Path, pg_url: str, worker_args: list[str]
) -> dict[str, Any]:
    """Run `script --worker BACKEND *worker_args` in a fresh process on its own database (a
    SQLite file under `tmp`, or `pg_url`); return the JSON of its last output line."""
    import hashlib
    import subprocess

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "essaim.settings",
        "ESSAIM_SKIP_DOTENV": "1",
        "DEBUG": "0",
        "SECRET_KEY": hashlib.sha256(os.urandom(32)).hexdigest(),
        "ALLOWED_HOSTS": "testserver",
        "DATA_DIR": str(tmp / backend),
        "HUEY_IMMEDIATE": "1",
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
        # The pages are asked after force_login, which passes no second factor; staff would be
        # sent to the 2FA page instead of the page measured.
        "STAFF_2FA_REQUIRED": "0",
    }
    (tmp / backend / "static").mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        env["DATABASE_URL"] = ""
        env["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    else:
        env["DATABASE_URL"] = pg_url
        env["DB_CONN_MAX_AGE"] = "600"
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, script, "--worker", backend, *worker_args]
    done = subprocess.run(command, env=env, cwd=root, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def pg_url_for(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def db_version() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT sqlite_version()")
            return f"SQLite {cur.fetchone()[0]}"
        cur.execute("SHOW server_version")
        return f"PostgreSQL {cur.fetchone()[0].split()[0]}"


def run_backends(
    results: dict[str, Any],
    backends: str,
    *,
    pg_admin_url: str,
    pg_db: str,
    run_worker: Callable[[str, Path], dict[str, Any]],
) -> None:
    """Run `run_worker(backend, tmpdir)` for each backend into `results["backends"]`, on a fresh
    PostgreSQL database `pg_db` (dropped before and after) for "postgres"."""
    with tempfile.TemporaryDirectory(prefix="essaim-bench-") as tmpdir:
        for backend in backends.split(","):
            log(f"== {backend}")
            if backend == "postgres":
                pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")
                pg_admin(pg_admin_url, f"CREATE DATABASE {pg_db}")
            try:
                results["backends"][backend] = run_worker(backend, Path(tmpdir))
            finally:
                if backend == "postgres":
                    pg_admin(pg_admin_url, f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")


def save_json(out_dir: Path, name: str, results: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{name}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    log(f"JSON: {out}")


def backend_parser(description: str) -> Any:
    """The options every per-backend script takes: --backends, --pg-admin-url and --worker
    (set by `main_over_backends` for the process it starts)."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--worker", choices=["sqlite", "postgres"])
    return parser


def main_over_backends(
    args: Any,
    *,
    script: str,
    name: str,
    pg_db: str,
    worker_args: list[str],
    worker: Callable[[Any], dict[str, Any]],
    table: Callable[[dict[str, Any]], str],
) -> None:
    """As a worker (--worker), run `worker` and print its JSON; otherwise run `script` as a
    worker on each backend's fresh database, save the results as JSON in bench/out/ and print
    `table` of them."""
    import time

    if args.worker:
        print(json.dumps(worker(args)))
        return
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "backends": {},
    }

    def run_worker(backend: str, tmp: Path) -> dict[str, Any]:
        return worker_process(
            script, backend, tmp, pg_url_for(args.pg_admin_url, pg_db), worker_args
        )

    run_backends(
        results, args.backends, pg_admin_url=args.pg_admin_url, pg_db=pg_db, run_worker=run_worker
    )
    save_json(Path(script).resolve().parent / "out", name, results)
    print(table(results))
