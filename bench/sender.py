"""Benchmark: the bulk sender against Postfix's smtp-sink, with smtp-source as the reference.

    .venv/bin/python bench/sender.py [--recipients 100000] [--backends sqlite,postgres]
        [--connections 8] [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

For each backend the script makes its own database (a SQLite file in a temporary directory, or
a PostgreSQL database, `bench_sender` or `--pg-db NAME`, dropped first and at the end), migrates
it, writes N contacts with a news consent (provider mix: gmail, orange, free, microsoft, …),
creates a campaign whose personalized message is ~5 KB with every header (List-Unsubscribe with
a signed token, VERP envelope sender, Feedback-ID, RFC 2047 subject, multipart/alternative, QP
bodies), and freezes the audience. Then, pinned with taskset (sender on core 0, sink on core 1):

- `essaim sender --once` delivers the campaign to `smtp-sink` (no dump: the sink must not be
  the bottleneck); wall time, the sender's CPU time and peak RSS come from wait4();
- the reference, in the same run: `smtp-source -d -s <connections> -m N -l <size>` (Postfix's
  C load generator: persistent connections, same message size) to a fresh smtp-sink, once just
  before the sender and once just after; the ratio is taken against the faster of the two.

Results: a Markdown table on stdout and JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import harness

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SINK = "/usr/sbin/smtp-sink"
SOURCE = "/usr/sbin/smtp-source"
# The setup of every run: what sends (our sender, smtp-source) on core 0, the sink on core 1.
SENDER_CORE = ("taskset", "-c", "0")
SINK_CORE = ("taskset", "-c", "1")
DOMAINS = [
    ("gmail.com", 30),
    ("orange.fr", 15),
    ("free.fr", 10),
    ("hotmail.fr", 10),
    ("sfr.fr", 5),
    ("laposte.net", 5),
    ("yahoo.fr", 5),
    ("icloud.com", 2),
    ("exemple.fr", 18),
]
PARAGRAPH = (
    "Le 22 avril, chaque voix comptera. Dans votre quartier, des bénévoles frappent aux portes, "
    "tiennent des tables sur les marchés et appellent celles et ceux qui hésitent encore. "
    "Rejoignez-les ce samedi : une heure suffit pour convaincre trois voisins. "
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int) -> None:
    for _ in range(200):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing on port {port}")


# --- child: prepare the database (runs with the backend's environment) ----------------------


def prepare(n: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from essaim.mailing.message import CompiledMessage, Recipient
    from essaim.mailing.models import Campaign
    from essaim.mailing.services.campaigns import launch_campaign
    from essaim.people.models import Contact, email_hash

    call_command("migrate", verbosity=0, interactive=False)
    now = timezone.now()
    weights = [d for d, w in DOMAINS for _ in range(w)]
    started = time.monotonic()
    batch: list[Contact] = []
    # PostgreSQL: the same rows set-based (a million through bulk_create took ~3 minutes, which
    # kept the 1,000,000 run over the bench's time budget).
    for i in range(0 if connection.vendor == "postgresql" else n):
        key = f"electeur.{i}@{weights[i % len(weights)]}"
        batch.append(
            Contact(
                email=key,
                email_key=key,
                email_hash=email_hash(key),
                first_name=("Camille", "Léa", "Mohamed", "Jean", "")[i % 5],
                last_name=f"Nom{i}",
                source="bench",
                created_at=now,
                updated_at=now,
            )
        )
        if len(batch) == 10_000:
            Contact.objects.bulk_create(batch)
            batch = []
    Contact.objects.bulk_create(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO people_contact (email, email_key, email_hash, first_name, last_name,"
                " phone, postcode, departement, region, source, created_at, updated_at) "
                "SELECT k, k, encode(sha256(convert_to(k, 'UTF8')), 'hex'),"
                " (%s::text[])[i %% 5 + 1], 'Nom' || i, '', '', '', '', 'bench', %s, %s "
                "FROM (SELECT i, 'electeur.' || i || '@' || (%s::text[])[i %% %s + 1] AS k"
                "      FROM generate_series(0, %s - 1) AS i) AS s ORDER BY i",
                [["Camille", "Léa", "Mohamed", "Jean", ""], now, now, weights, len(weights), n],
            )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO people_consent (contact_id, purpose, status, basis, source, source_ref,"
            " user_agent, withdrawn_reason, created_at, updated_at) "
            "SELECT id, 'news', 'granted', 'membership', 'import', 'bench', '', '', %s, %s "
            "FROM people_contact",
            [connection.ops.adapt_datetimefield_value(now)] * 2,
        )
    filled = time.monotonic() - started
    body = (
        'Bonjour {{ first_name|default:"ami·e" }},\n\n'
        + "\n\n".join([PARAGRAPH * 2] * 3)
        + "\n\nPour ne plus recevoir nos messages : {{ unsubscribe_url }}\n"
    )
    campaign = Campaign.objects.create(
        name="Bench",
        from_name="Équipe de campagne",
        from_email="equipe@campagne.example",
        reply_to="contact@campagne.example",
        subject="Quatre jours pour convaincre — on compte sur vous",
        preheader="Une heure ce samedi",
        body_markdown=body,
    )
    started = time.monotonic()
    count = launch_campaign(campaign, Contact.objects.all())
    frozen = time.monotonic() - started
    sample = Contact.objects.order_by("pk").first()
    assert sample is not None
    size = len(
        CompiledMessage(campaign).render(
            Recipient(1, sample.pk, sample.email, sample.email_hash, sample.first_name)
        )
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE mailing_delivery")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {
        "campaign": campaign.pk,
        "audience": count,
        "message_bytes": size,
        "fill_s": round(filled, 2),
        "freeze_s": round(frozen, 2),
    }


def mass_mail(n: int, size: int) -> dict[str, Any]:
    """What a Django user would write instead: send_mass_mail over one connection (the default
    mailer, pointed at the sink), one personalized plain-text message of about `size` bytes per
    contact. No HTML part, no List-Unsubscribe, no VERP, no ledger: a lower bar than ours."""
    import django

    django.setup()
    from django.core.mail import EmailMessage, send_mass_mail

    from essaim.people.models import Contact

    paragraphs = [PARAGRAPH * 2]
    while True:
        body = "Bonjour {name},\n\n" + "\n\n".join(paragraphs) + "\n"
        probe = EmailMessage("x" * 50, body.format(name="Camille"), "a@b.c", ["d@e.f"])
        if len(probe.message().as_bytes()) >= size:
            break
        paragraphs.append(PARAGRAPH)
    subject = "Quatre jours pour convaincre — on compte sur vous"
    sender = "Équipe de campagne <equipe@campagne.example>"
    rows = Contact.objects.order_by("pk").values_list("email", "first_name")[:n]
    sent = send_mass_mail(
        (subject, body.format(name=first or "ami·e"), sender, [email])
        for email, first in rows.iterator(chunk_size=10_000)
    )
    return {"sent": sent, "message_bytes": len(probe.message().as_bytes())}


def counts() -> dict[str, int]:
    import django

    django.setup()
    from django.db.models import Count

    from essaim.mailing.models import Delivery

    return dict(Delivery.objects.values_list("status").annotate(n=Count("id")).order_by())


# --- driver ---------------------------------------------------------------------------------


def write_dkim_key(tmp: Path) -> Path:
    """A fresh RSA-2048 key for the run (the sink does not verify; the tests do, with dkimpy)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def child(env: dict[str, str], *args: str) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    proc = subprocess.Popen([*SINK_CORE, SINK, *user, f"127.0.0.1:{port}", "1024"])
    wait_port(port)
    return proc


def timed(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    output = proc.stdout.read().decode() if proc.stdout else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:4]} failed")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "output": output,  # type: ignore[dict-item]
    }


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by one live process."""
    values = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(values[11]) + int(values[12])) / os.sysconf("SC_CLK_TCK")


def core_jiffies() -> list[tuple[int, int]]:
    """(busy, total) clock ticks so far of each core, from /proc/stat."""
    cores = []
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("cpu") and line[3].isdigit():
            ticks = [int(v) for v in line.split()[1:]]
            idle = ticks[3] + ticks[4]  # idle + iowait
            cores.append((sum(ticks) - idle, sum(ticks)))
    return cores


def core_busy(before: list[tuple[int, int]]) -> list[float]:
    """Share of each core that was busy since `before` (every process, the kernel included)."""
    return [
        round((busy - b0) / max(1, total - t0), 2)
        for (busy, total), (b0, t0) in zip(core_jiffies(), before, strict=True)
    ]


def hot_updates(database_url: str) -> dict[str, int]:
    """Updates of the ledger table and how many were HOT (no index entry written)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname = 'mailing_delivery'"
        ).fetchone()
    return {"updates": row[0], "hot": row[1]} if row else {}


def postgres_cpu_s() -> float:
    """CPU seconds used so far by every PostgreSQL server process of the machine (the server
    shares the two cores: its work per message is part of the cost of a PostgreSQL ledger)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        if fields[0].endswith("(postgres"):
            values = fields[1].split()
            # utime, stime, and those of its exited children (the postmaster reaps the backends
            # of the sender's connections when it exits).
            total += sum(int(v) for v in values[11:15])
    return total / tick


def bench_env(tmp: Path) -> dict[str, str]:
    """The environment of a bench's Django subprocesses (also used by bench/sender_faults.py)."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "essaim.settings",
            "ESSAIM_SKIP_DOTENV": "1",
            # As in production: with DEBUG on, Django logs every statement of the sender.
            "DEBUG": "0",
            "DATA_DIR": str(tmp),
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-" + "k" * 40,
            # The bench launches its own campaign: no second HQ user to approve it.
            "MAILING_APPROVAL_THRESHOLD": str(10**9),
        }
    )
    return env


def reference_run(
    args: argparse.Namespace, message_bytes: int
) -> tuple[dict[str, float], list[float], float]:
    """Postfix's smtp-source on the sender's core against a fresh sink, with the sender's message
    size and connection count: its timing, the cores' busy shares and the sink's CPU."""
    port = free_port()
    sink = start_sink(port)
    try:
        cores = core_jiffies()
        reference = timed(
            [
                *SENDER_CORE,
                SOURCE,
                "-d",
                "-s",
                str(args.connections),
                "-m",
                str(args.recipients),
                "-l",
                str(message_bytes),
                "-f",
                "bench@campagne.example",
                "-t",
                "electeur@exemple.fr",
                f"127.0.0.1:{port}",
            ]
        )
        return reference, core_busy(cores), process_cpu_s(sink.pid)
    finally:
        sink.terminate()
        sink.wait()


def run_backend(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    env = bench_env(tmp)
    if args.dkim:
        env.update(
            {
                "DKIM_PRIVATE_KEY_PATH": str(write_dkim_key(tmp)),
                "DKIM_SELECTOR": "bench",
                "DKIM_DOMAIN": "campagne.example",
            }
        )
    admin = None
    if backend == "sqlite":
        env["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    else:
        import psycopg

        admin = psycopg.connect(args.pg_admin_url, autocommit=True)
        admin.execute(f"DROP DATABASE IF EXISTS {args.pg_db}")
        admin.execute(f"CREATE DATABASE {args.pg_db}")
        base = args.pg_admin_url.rsplit("/", 1)[0]
        env["DATABASE_URL"] = f"{base}/{args.pg_db}"
    try:
        prepared = child(env, "prepare", str(args.recipients))
        before = reference_run(args, prepared["message_bytes"])
        port = free_port()
        sink = start_sink(port)
        try:
            env["BULK_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
            pyspy = str(Path(sys.executable).parent / "py-spy")
            profiler = (
                [
                    pyspy,
                    "record",
                    "--gil",
                    "--format",
                    "raw",
                    "--rate",
                    "250",
                    "-o",
                    args.profile,
                    "--",
                ]
                if args.profile
                else []
            )
            pg_cpu = postgres_cpu_s()
            cores = core_jiffies()
            sender = timed(
                [
                    *SENDER_CORE,
                    *profiler,
                    sys.executable,
                    "-m",
                    "essaim.manage",
                    "sender",
                    "--once",
                    "--stats",
                    "--connections",
                    str(args.connections),
                    "--max-claimed",
                    str(args.max_claimed),
                    *(["--flush-every", str(args.flush_every)] if args.flush_every else []),
                ],
                env,
            )
            pg_cpu = postgres_cpu_s() - pg_cpu
            sender_cores = core_busy(cores)
            sink_cpu = process_cpu_s(sink.pid)
        finally:
            sink.terminate()
            sink.wait()
        ledger = child(env, "counts")
        hot = hot_updates(env["DATABASE_URL"]) if admin is not None else {}
        after = reference_run(args, prepared["message_bytes"])
    finally:
        if admin is not None:
            admin.execute(f"DROP DATABASE IF EXISTS {args.pg_db} WITH (FORCE)")
            admin.close()
    django_run: dict[str, Any] = {}
    if args.django and backend == args.backends.split(",")[0]:  # once per run
        port = free_port()
        sink = start_sink(port)
        try:
            env.update({"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port)})
            mass = timed(
                [
                    *SENDER_CORE,
                    sys.executable,
                    __file__,
                    "--child",
                    "mass_mail",
                    str(args.django),
                    str(prepared["message_bytes"]),
                ],
                env,
            )
        finally:
            sink.terminate()
            sink.wait()
        done = json.loads(str(mass["output"]).strip().splitlines()[-1])
        django_run = {
            "django_recipients": done["sent"],
            "django_message_bytes": done["message_bytes"],
            "django_msgs_per_s": round(done["sent"] / mass["wall_s"]),
            "django_msgs_per_cpu_s": round(done["sent"] / mass["cpu_s"]),
            "django_peak_rss_mb": round(mass["peak_rss_mb"], 1),
        }
    n = args.recipients
    rate = n / sender["wall_s"]
    # The faster of the two references, the one run just before the sender and the one just
    # after: this VM's speed drifts by tens of percent within minutes, and the ratio is then
    # not flattered by a slow reference.
    reference, reference_cores, reference_sink_cpu = min(
        before, after, key=lambda r: r[0]["wall_s"]
    )
    ref_rate = n / reference["wall_s"]
    return {
        "backend": backend + (" + DKIM" if args.dkim else ""),
        **prepared,
        "ledger": ledger,
        "sender_msgs_per_s": round(rate),
        "sender_cpu_s": round(sender["cpu_s"], 2),
        "sender_user_s": round(sender["user_s"], 2),
        "sender_sys_s": round(sender["sys_s"], 2),
        "sender_msgs_per_cpu_s": round(n / sender["cpu_s"]),
        "sender_peak_rss_mb": round(sender["peak_rss_mb"], 1),
        "sender_wall_s": round(sender["wall_s"], 2),
        "smtp_source_msgs_per_s": round(ref_rate),
        "smtp_source_wall_s": round(reference["wall_s"], 2),
        "ratio_vs_smtp_source": round(rate / ref_rate, 3),
        "smtp_source_before_after_msgs_per_s": [round(n / r[0]["wall_s"]) for r in (before, after)],
        # The last JSON line: py-spy, when profiling, writes its own lines after it.
        **django_run,
        "max_claimed": args.max_claimed,
        "flush_every": args.flush_every,
        "server_cpu_s": round(pg_cpu, 2) if backend == "postgres" else None,
        # CPU per message of each party (µs): where the two cores go in each run.
        "cpu_us_per_msg": {
            "sender": round(sender["cpu_s"] / n * 1e6, 1),
            "sink_during_sender": round(sink_cpu / n * 1e6, 1),
            "postgres": round(pg_cpu / n * 1e6, 1) if backend == "postgres" else None,
            "smtp_source": round(reference["cpu_s"] / n * 1e6, 1),
            "sink_during_smtp_source": round(reference_sink_cpu / n * 1e6, 1),
        },
        # Busy share of core 0 (sender or smtp-source) and core 1 (sink), all processes.
        "cores_busy": {"sender_run": sender_cores, "smtp_source_run": reference_cores},
        "ledger_updates": hot,
        "sender_stats": json.loads(
            [line for line in str(sender["output"]).splitlines() if line.startswith("{")][-1]
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument(
        "--pg-db", default="bench_sender", help="database to create, use and drop (PostgreSQL)"
    )
    parser.add_argument(
        "--dkim", action="store_true", help="sign every message (RSA-2048, relaxed/relaxed)"
    )
    parser.add_argument(
        "--profile",
        help="record the sender with py-spy (collapsed stacks of the thread holding the GIL)",
    )
    parser.add_argument(
        "--django",
        type=int,
        default=0,
        help="also time Django's send_mass_mail to this many of the contacts (same sink setup)",
    )
    parser.add_argument(
        "--max-claimed",
        type=int,
        default=1000,
        help="the sender's MAILING_MAX_CLAIMED (rows held at once; bounds the unknowns of a crash)",
    )
    parser.add_argument(
        "--flush-every", type=int, help="the sender's outcomes per statement (its default: 200)"
    )
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, str(ROOT))
        if args.child[0] == "prepare":
            print(json.dumps(prepare(int(args.child[1]))))
        elif args.child[0] == "mass_mail":
            print(json.dumps(mass_mail(int(args.child[1]), int(args.child[2]))))
        else:
            print(json.dumps(counts()))
        return
    results = []
    for backend in args.backends.split(","):
        tmp = Path(tempfile.mkdtemp(prefix="essaim-bench-sender-"))
        try:
            results.append(run_backend(backend, args, tmp))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        print(json.dumps(results[-1]), file=sys.stderr)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    OUT.mkdir(parents=True, exist_ok=True)
    meta = {"machine": harness.machine(), "argv": sys.argv}
    (OUT / f"sender-{stamp}.json").write_text(json.dumps({"meta": meta, "results": results}))
    print(
        "| backend | recipients | msg bytes | sender msg/s | smtp-source msg/s | ratio |"
        " msg per sender CPU-s | peak RSS MB | ledger |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['backend']} | {r['audience']} | {r['message_bytes']} | {r['sender_msgs_per_s']}"
            f" | {r['smtp_source_msgs_per_s']} | {r['ratio_vs_smtp_source']}"
            f" | {r['sender_msgs_per_cpu_s']} | {r['sender_peak_rss_mb']} | {r['ledger']} |"
        )
        if "django_msgs_per_s" in r:
            ratio = r["django_msgs_per_s"] / r["smtp_source_msgs_per_s"]
            print(
                f"| Django send_mass_mail | {r['django_recipients']} | "
                f"{r['django_message_bytes']} | {r['django_msgs_per_s']}"
                f" | {r['smtp_source_msgs_per_s']} | {round(ratio, 3)}"
                f" | {r['django_msgs_per_cpu_s']} | {r['django_peak_rss_mb']} | — |"
            )


if __name__ == "__main__":
    main()
