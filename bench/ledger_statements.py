"""Benchmark: the PostgreSQL server's CPU per row for the sender's two hot statements, the claim
and the outcome flush, on a frozen ledger (the share of a message's cost that the database adds).

    .venv/bin/python bench/ledger_statements.py [--recipients 200000] [--rows 40000]
        [--claim 200] [--flush 40,100,200] [--pg-db bench_ledger] [--reuse]

Prepares a database as bench/sender.py does (N contacts, a ~5 KB campaign, audience frozen),
then, through the sender's own two connections (essaim.lib.postgres, with their
settings): claims `--rows` rows in claims of `--claim` rows and settles them as accepted in
flushes of K rows as they come, for each K of `--flush`; reads each server backend's own CPU time
(utime + stime, /proc/<backend pid>/stat) and the client's (this process: the sender's share of
the same statements). Each K starts from a fresh campaign frozen from the same contacts.
`--reuse` keeps the database between runs (it is dropped otherwise). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sender import bench_env  # noqa: E402 - after the path is set


def backend_cpu_s(pid: int) -> float:
    values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


async def _pid(conn: Any) -> int:
    return int(conn.info.backend_pid)


async def measure(
    conninfo: str, campaign_id: int, rows: int, claim: int, flush: int
) -> dict[str, float]:
    """Claims and flushes interleaved as in the sender (a claim, then the flushes of K rows it
    allows), each statement on its own connection: each server backend's CPU is its kind's."""
    from essaim.lib.postgres import LoopConnection
    from essaim.mailing.sender import ledger

    sender = "bench:ledger"
    reply = "250 2.0.0 Ok: queued as 4Bx3nT0abcd"
    # The sender's two connections, with their settings.
    claims, outcomes = LoopConnection(conninfo), LoopConnection(conninfo, synchronous_commit=False)
    pids = await claims.run(_pid), await outcomes.run(_pid)
    server = [backend_cpu_s(pid) for pid in pids]
    client = [0.0, 0.0]  # this process's CPU in claims, in flushes
    wall = [0.0, 0.0]
    statements = [0, 0]
    pending: list[ledger.Claimed] = []
    left: dict[int, int] = {}  # per claim, its rows not yet flushed
    done = 0
    while done < rows:
        t, c = time.perf_counter(), time.process_time()
        send, _stopped = await claims.run(
            ledger.claim_async,
            sender_id=sender,
            campaign_id=campaign_id,
            purpose="news",
            limit=claim,
            lease_seconds=600,
        )
        wall[0] += time.perf_counter() - t
        client[0] += time.process_time() - c
        statements[0] += 1
        pending += send
        for row in send:
            left[row.claim] = left.get(row.claim, 0) + 1
        while len(pending) >= flush or (pending and not send):
            chunk, pending = pending[:flush], pending[flush:]
            t, c = time.perf_counter(), time.process_time()
            ended = []
            for row in chunk:
                left[row.claim] -= 1
                if not left[row.claim]:
                    ended.append(row.claim)
            settlements = [ledger.Settlement(row, "accepted", 250, reply) for row in chunk]
            changed = await outcomes.run(ledger.settle_async, sender, settlements, ended)
            wall[1] += time.perf_counter() - t
            client[1] += time.process_time() - c  # with the Settlements' making, as the sender's
            assert changed == len(chunk), (changed, len(chunk))
            statements[1] += 1
            done += len(chunk)
        if not send:
            break
    server = [backend_cpu_s(pid) - before for pid, before in zip(pids, server, strict=True)]
    await claims.close()
    await outcomes.close()
    return {
        "rows": done,
        "claim_rows": claim,
        "claims": statements[0],
        "claim_server_us_per_row": round(server[0] / done * 1e6, 1),
        "claim_client_us_per_row": round(client[0] / done * 1e6, 1),
        "claim_wall_ms_each": round(wall[0] / statements[0] * 1e3, 2),
        "flush_rows": flush,
        "flushes": statements[1],
        "flush_server_us_per_row": round(server[1] / done * 1e6, 1),
        "flush_server_us_per_statement": round(server[1] / statements[1] * 1e6),
        "flush_client_us_per_row": round(client[1] / done * 1e6, 1),
        "flush_wall_ms_each": round(wall[1] / statements[1] * 1e3, 2),
    }


def child(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.db import connection

    from essaim.lib.postgres import postgres_conninfo
    from essaim.mailing.models import Campaign
    from essaim.mailing.services.campaigns import launch_campaign
    from essaim.people.models import Contact

    template = Campaign.objects.order_by("pk").first()
    assert template is not None, "prepare first"
    conninfo = postgres_conninfo()
    assert conninfo is not None, "PostgreSQL only"
    results = []
    for flush in [int(k) for k in args.flush.split(",")]:
        # A fresh campaign for each K, frozen from the same contacts: every K meets the same
        # ledger state (rows still pending, the same claim history).
        campaign = Campaign.objects.get(pk=template.pk)
        campaign.pk = None
        campaign.status = Campaign.Status.DRAFT
        campaign.save()
        launch_campaign(campaign, Contact.objects.all())
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE mailing_delivery")
        results.append(asyncio.run(measure(conninfo, campaign.pk, args.rows, args.claim, flush)))
        print(json.dumps(results[-1]), file=sys.stderr)
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=200_000)
    parser.add_argument("--rows", type=int, default=40_000)
    parser.add_argument("--claim", type=int, default=200)
    parser.add_argument("--flush", default="40,100,200")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="bench_ledger")
    parser.add_argument("--reuse", action="store_true", help="keep the database (and reuse it)")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import psycopg

    env = bench_env(Path("/tmp"))
    base = args.pg_admin_url.rsplit("/", 1)[0]
    env["DATABASE_URL"] = f"{base}/{args.pg_db}"
    admin = psycopg.connect(args.pg_admin_url, autocommit=True)
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.pg_db]).fetchone()
    try:
        if not (args.reuse and exists):
            admin.execute(f"DROP DATABASE IF EXISTS {args.pg_db}")
            admin.execute(f"CREATE DATABASE {args.pg_db}")
            subprocess.run(
                [sys.executable, "bench/sender.py", "--child", "prepare", str(args.recipients)],
                env=env,
                check=True,
                cwd=ROOT,
                capture_output=True,
            )
        subprocess.run(
            [sys.executable, __file__, "--child", *sys.argv[1:]], env=env, check=True, cwd=ROOT
        )
    finally:
        if not args.reuse:
            admin.execute(f"DROP DATABASE IF EXISTS {args.pg_db} WITH (FORCE)")
        admin.close()


if __name__ == "__main__":
    main()
