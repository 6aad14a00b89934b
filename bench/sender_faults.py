"""Fault run: a sender killed with SIGKILL mid-send, then restarted, audited with smtp-sink -D.

    .venv/bin/python bench/sender_faults.py [--recipients 100000] [--backends postgres,sqlite]
        [--kill-at 0.4] [--max-claimed 1000] [--lease 5]

For each backend: the audience of bench/sender.py (its own database, dropped at the end), then
`essaim sender --once` to an `smtp-sink -D` that records every transaction. When `--kill-at` of
the audience is accepted in the ledger, the sender gets SIGKILL; a new one is started (its janitor
settles the dead one's claims as `unknown` once their lease ran out) and runs to the end. The
audit reads the sink's dump and the ledger:

- duplicates: recipients that the sink received more than once (must be 0);
- every ledger row accepted or unknown; unknown ≤ rows the killed sender held (≤ max claimed);
- every accepted row was received; received − accepted ≤ unknown (in doubt, never sent again).

Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sender as base  # bench/sender.py: database, audience, campaign

ROOT = base.ROOT
PG_DB = "bench_sender_faults_shaping"
RCPT = re.compile(rb"^X-Rcpt-Args: <([^>]*)>", re.MULTILINE)


def audit_dump(path: Path) -> Counter[str]:
    """Recipients of every transaction recorded in the dump (read in chunks: it is large)."""
    seen: Counter[str] = Counter()
    tail = b""
    with path.open("rb") as dump:
        while chunk := dump.read(1 << 24):
            data = tail + chunk
            cut = data.rfind(b"\n")
            seen.update(m.decode() for m in RCPT.findall(data[: cut + 1]))
            tail = data[cut + 1 :]
    seen.update(m.decode() for m in RCPT.findall(tail))
    return seen


def ledger_child(what: str) -> dict[str, Any]:
    """The ledger's counts as the campaign page gives them (rows held by a live claim count as
    `claimed`), and with `what` = "ledger" the accepted addresses too."""
    import django

    django.setup()
    from essaim.mailing.models import Campaign, Delivery
    from essaim.mailing.services.progress import delivery_counts

    counts: Counter[str] = Counter()
    for campaign in Campaign.objects.all():
        counts.update(delivery_counts(campaign))
    result: dict[str, Any] = {"counts": {k: n for k, n in counts.items() if n}}
    if what == "ledger":
        result["accepted"] = list(
            Delivery.objects.filter(status="accepted").values_list("email", flat=True)
        )
    return result


def count_status(env: dict[str, str], status: str) -> int:
    """Ledger rows in `status`, read straight from the database (cheap enough to poll)."""
    query = "SELECT count(*) FROM mailing_delivery WHERE status = %s"
    if "DATABASE_URL" in env:
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as conn:
            row = conn.execute(query, [status]).fetchone()
    else:
        import sqlite3

        with sqlite3.connect(env["SQLITE_PATH"], timeout=30) as conn:
            row = conn.execute(query.replace("%s", "?"), [status]).fetchone()
    return int(row[0]) if row else 0


def sender_cmd(args: argparse.Namespace) -> list[str]:
    return [
        *base.SENDER_CORE,
        sys.executable,
        "-m",
        "essaim.manage",
        "sender",
        "--once",
        "--stats",
        "--max-claimed",
        str(args.max_claimed),
        "--lease",
        str(args.lease),
    ]


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    env = base.bench_env(tmp)
    admin = None
    if backend == "sqlite":
        env["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    else:
        import psycopg

        admin = psycopg.connect(args.pg_admin_url, autocommit=True)
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DB}")
        admin.execute(f"CREATE DATABASE {PG_DB}")
        env["DATABASE_URL"] = f"{args.pg_admin_url.rsplit('/', 1)[0]}/{PG_DB}"
    # smtp-sink drops to `nobody` when started as root: its folder must be writable by nobody.
    sink_dir = Path(tempfile.mkdtemp(prefix="essaim-fault-sink-"))
    sink_dir.chmod(0o777)
    dump = sink_dir / "dump"
    try:
        prepared = base.child(env, "prepare", str(args.recipients))
        port = base.free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        sink = subprocess.Popen(
            [*base.SINK_CORE, base.SINK, *user, "-D", str(dump), f"127.0.0.1:{port}", "1024"]
        )
        base.wait_port(port)
        env["BULK_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
        try:
            started = time.monotonic()
            first = subprocess.Popen(sender_cmd(args), env=env, cwd=ROOT, stdout=subprocess.PIPE)
            target = int(args.recipients * args.kill_at)
            while count_status(env, "accepted") < target:
                if first.poll() is not None:
                    raise RuntimeError("the sender ended before the kill")
                time.sleep(0.05)
            first.send_signal(signal.SIGKILL)
            first.wait()
            killed_after = time.monotonic() - started
            held = base_ledger(env, "held")["counts"].get("claimed", 0)
            accepted_at_kill = count_status(env, "accepted")
            second = subprocess.run(
                sender_cmd(args), env=env, cwd=ROOT, stdout=subprocess.PIPE, check=True
            )
            total = time.monotonic() - started
        finally:
            sink.terminate()
            sink.wait()
        received = audit_dump(dump)
        ledger = base_ledger(env, "ledger")
    finally:
        shutil.rmtree(sink_dir, ignore_errors=True)
        if admin is not None:
            admin.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
            admin.close()
    counts = ledger["counts"]
    accepted = set(ledger["accepted"])
    duplicates = sum(1 for n in received.values() if n > 1)
    unknown = counts.get("unknown", 0)
    missing = accepted - set(received)
    result = {
        "backend": backend,
        "audience": prepared["audience"],
        "message_bytes": prepared["message_bytes"],
        "killed_after_s": round(killed_after, 2),
        "accepted_at_kill": accepted_at_kill,
        "claimed_at_kill": held,
        "max_claimed": args.max_claimed,
        "total_s": round(total, 2),
        "sink_transactions": sum(received.values()),
        "sink_recipients": len(received),
        "duplicates": duplicates,
        "ledger": counts,
        "accepted_not_received": len(missing),
        "received_not_accepted": len(set(received) - accepted),
        "restart_stats": json.loads(second.stdout.decode().strip().splitlines()[-1]),
    }
    result["ok"] = (
        duplicates == 0
        and set(counts) <= {"accepted", "unknown"}
        and sum(counts.values()) == prepared["audience"]
        and unknown <= held <= args.max_claimed
        and not missing
        and result["received_not_accepted"] <= unknown
    )
    return result


def base_ledger(env: dict[str, str], what: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", what],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--kill-at", type=float, default=0.4, help="share accepted at the kill")
    parser.add_argument("--max-claimed", type=int, default=1000)
    parser.add_argument("--lease", type=float, default=5.0, help="seconds before the janitor")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        print(json.dumps(ledger_child(args.child[0])))
        return
    results = []
    for backend in args.backends.split(","):
        tmp = Path(tempfile.mkdtemp(prefix="essaim-bench-faults-"))
        try:
            results.append(run_backend(backend, args, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(results[-1]), file=sys.stderr)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base.OUT.mkdir(parents=True, exist_ok=True)
    (base.OUT / f"sender-faults-{stamp}.json").write_text(
        json.dumps({"argv": sys.argv, "results": results})
    )
    print(
        "| backend | recipients | killed at (accepted) | claimed at kill | sink transactions |"
        " duplicates | ledger after restart | accepted not received | received not accepted |"
        " audit |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['audience']} | {r['accepted_at_kill']} | {r['claimed_at_kill']}"
            f" | {r['sink_transactions']} | {r['duplicates']} | {r['ledger']}"
            f" | {r['accepted_not_received']} | {r['received_not_accepted']}"
            f" | {'ok' if r['ok'] else 'FAILED'} |"
        )
    if not all(r["ok"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
