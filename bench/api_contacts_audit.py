"""Benchmark: what auditing every read of contacts costs the API, SQLite and PostgreSQL.

    .venv/bin/python bench/api_contacts_audit.py [--contacts 100000] [--rounds 15]
        [--pages 20] [--backends sqlite,postgres]
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Issue 14 asks that the contacts list with its audit stay within 10 % of its time without it.
Each backend runs in a subprocess on a fresh database of its own (a SQLite file; PostgreSQL
`bench_api_audit`, or BENCH_PG_DB, dropped before and after), filled with `--contacts` contacts
by bench/segments_and_list.py's filler (consents and tags included), then ANALYZE.

An HQ token with every scope (and a budget that never runs out) reads through Django's test
Client, the whole stack from middleware to JSON. Measured: `--pages` consecutive pages of
GET /api/v1/contacts (walking the cursor from a point spread over the base), at limit=100 (the
default page) and limit=500 (the largest, the dump of the issue), and as many
GET /api/v1/contacts/{id}, each request timed on its own.
"on" is the code as it runs; "off" replaces essaim.people.api.record_people_read (the per-token
count of people read and the audit entry, one UPDATE and one INSERT in a transaction) with a
function that does nothing — a switch that exists only here. Each page is asked in both modes
in ABBA order, `--rounds` rounds after a warm-up round, so that drift, caches and the load of a
shared machine fall on both; reported: the median time per request of each and on/off, and
on/off of the first quartiles (the requests least disturbed by other processes). The token's
rate limit (a million a minute, never reached) is checked in both modes alike.

Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness import db_version, log, machine, pg_url_for, run_backends, save_json, worker_process

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_DB = os.environ.get("BENCH_PG_DB", "bench_api_audit")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--worker", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.contacts, args.rounds, args.pages)))
        return
    results: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/api_contacts_audit.py", *sys.argv[1:]]),
        "machine": machine(),
        "contacts": args.contacts,
        "rounds": args.rounds,
        "pages": args.pages,
        "backends": {},
    }
    worker_args = ["--contacts", str(args.contacts), "--rounds", str(args.rounds)]
    worker_args += ["--pages", str(args.pages)]
    run_backends(
        results,
        args.backends,
        pg_admin_url=args.pg_admin_url,
        pg_db=PG_DB,
        run_worker=lambda backend, tmp: worker_process(
            str(Path(__file__).resolve()),
            backend,
            tmp,
            pg_url_for(args.pg_admin_url, PG_DB),
            worker_args,
        ),
    )
    save_json(OUT, "api_contacts_audit", results)
    print(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"- date: {results['date']}",
        f"- command: `{results['command']}`",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, "
        f"Python {m['python']}, Linux {m['kernel']}, load {m['loadavg'][0]:.1f}",
        f"- {results['contacts']:,} contacts; {results['rounds']} rounds of {results['pages']} "
        "pages, each asked twice per mode (ABBA), after a warm-up round; median per request",
        "",
        "| backend | request | audit off, ms | audit on, ms | on / off | on / off, 1st quartiles |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in results["backends"].values():
        for name, v in r["measures"].items():
            lines.append(
                f"| {r['version']} | {name} | {v['off']:.2f} | {v['on']:.2f} "
                f"| {v['on'] / v['off']:.3f} | {v['on_p25'] / v['off_p25']:.3f} |"
            )
    return "\n".join(lines) + "\n"


# --- Worker: runs inside Django ---------------------------------------------------------------


@contextmanager
def audit_off() -> Iterator[None]:
    import essaim.people.api as people

    real = people.record_people_read
    people.record_people_read = lambda **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        people.record_people_read = real


def worker(contacts: int, rounds: int, pages: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from essaim.accounts.models import AuditEvent, Role, User
    from essaim.api.models import Scope
    from essaim.api.services import create_token
    from essaim.people.models import Contact

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from segments_and_list import fill

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    fill(contacts)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE" if connection.vendor == "sqlite" else "VACUUM ANALYZE")
    user = User.objects.create_user("bench@qg.test", "x", role=Role.HQ_STAFF)
    _, raw = create_token(
        user=user,
        name="bench",
        scopes=Scope.values,
        daily_people_budget=2_000_000_000,
        rate_per_minute=1_000_000,
    )
    client = Client(headers={"Authorization": f"Bearer {raw}"})
    top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    def page(limit: int) -> Callable[[int], None]:
        def run(after: int) -> None:
            response = client.get("/api/v1/contacts", {"limit": limit, "after": after})
            assert response.status_code == 200, response.content

        return run

    def one(pk: int) -> None:
        assert client.get(f"/api/v1/contacts/{pk}").status_code == 200

    scenarios = {
        "GET /contacts?limit=100": (page(100), 100),
        "GET /contacts?limit=500": (page(500), 500),
        "GET /contacts/{id}": (one, 1),
    }
    measures: dict[str, Any] = {}
    for name, (request, step) in scenarios.items():
        log(name)
        times: dict[str, list[float]] = {"on": [], "off": []}
        for rnd in range(rounds + 1):
            # Each round walks `pages` pages from somewhere else in the base; each page is asked
            # in both modes, in ABBA order, so that the load of a shared machine, which changes
            # from one second to the next, falls on both alike.
            start = top - (rnd * 7919 * 13) % max(1, top - pages * step - 1)
            for i in range(pages):
                cursor = start - i * step
                order = ("on", "off", "off", "on") if (rnd + i) % 2 else ("off", "on", "on", "off")
                for mode in order:
                    began = time.perf_counter()
                    if mode == "off":
                        with audit_off():
                            request(cursor)
                    else:
                        request(cursor)
                    if rnd:  # round 0 warms up
                        times[mode].append((time.perf_counter() - began) * 1000)
        measures[name] = {mode: statistics.median(t) for mode, t in times.items()}
        measures[name] |= {
            f"{mode}_p25": statistics.quantiles(t, n=4)[0] for mode, t in times.items()
        }
        measures[name]["samples"] = len(times["on"])
        log(f"  {measures[name]}")
    return {
        "version": db_version(),
        "measures": measures,
        "audit_entries": AuditEvent.objects.count(),
    }


if __name__ == "__main__":
    main()
