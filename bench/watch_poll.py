"""Benchmark: one full polling round of N feed sources through `essaim watcher --once`.

    .venv/bin/python bench/watch_poll.py [--sources 10000] [--hosts 2500] [--items 20]
        [--backends sqlite,postgres] [--concurrency 50] [--host-gap 2]
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres] [--pg-db bench_watch]

A local HTTP server (aiohttp, in a process of its own) serves N RSS feeds spread over `--hosts`
loopback addresses (127.20.x.y, one port), each feed `--items` realistic French items: posts
of its own, and dispatches of a shared pool of wire stories reprinted by several sources with
small edits ("(AFP)", another title, a sentence added), as the watch meets them. Each source is
its own document, generated from its number (the same bytes at every request).

For each backend (a fresh SQLite file, or a fresh PostgreSQL database) the script migrates,
creates the N sources due now, then measures, in the same run:

- the reference: the same N documents fetched with aiohttp alone (same concurrency, no guard,
  no politeness) and parsed with feedparser alone — the floor of fetching and parsing;
- the watcher: `essaim watcher --once --stats` in a process of its own, which fetches through
  the guarded fetcher with per-host politeness, parses, stores items and evidence, and runs
  whatever ingest is wired into the record step; wall time, and its peak RSS from wait4().

Targets (issue 17): under 5 minutes for 10,000 sources, watcher RSS under 400 MB, on SQLite and
PostgreSQL. Benchmarks run alone on the machine. Results: Markdown on stdout, JSON in bench/out/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import harness

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

# --- realistic French items ----------------------------------------------------------------------

PEOPLE = (
    "Jeanne Martin",
    "Karim Benali",
    "Sophie Lefèvre",
    "Marc Dubois",
    "Élodie Garnier",
    "Thomas Rousseau",
    "Nadia Haddad",
    "Pierre-Yves Le Goff",
)
PLACES = (
    "Montreuil",
    "Lyon",
    "Marseille",
    "Lille",
    "Nantes",
    "Toulouse",
    "Strasbourg",
    "Rennes",
    "Bordeaux",
    "Clermont-Ferrand",
)
TOPICS = (
    "les transports",
    "le logement",
    "l'école",
    "la santé",
    "les retraites",
    "l'emploi des jeunes",
    "la sécurité",
    "le climat",
    "l'agriculture",
    "le pouvoir d'achat",
)
VERBS = ("présente", "défend", "critique", "détaille", "annonce", "remet en cause", "précise")
OPENINGS = (
    "Devant plusieurs centaines de personnes,",
    "Lors d'une réunion publique,",
    "Dans un entretien accordé à la presse régionale,",
    "À l'issue du conseil municipal,",
    "Au cours d'un déplacement très suivi,",
)
ENDINGS = (
    "Les associations locales ont salué une démarche attendue.",
    "L'opposition dénonce des promesses impossibles à financer.",
    "Un nouveau rendez-vous est prévu la semaine prochaine.",
    "Les syndicats réservent leur réponse.",
    "Les habitants interrogés restent partagés.",
)


def wire_story(n: int) -> tuple[str, str]:
    """Dispatch n of the shared pool: a title and a summary, as an agency writes them."""
    rng = random.Random(f"wire-{n}")
    who, where, what = rng.choice(PEOPLE), rng.choice(PLACES), rng.choice(TOPICS)
    title = f"{who} {rng.choice(VERBS)} ses propositions sur {what} à {where}"
    summary = (
        f"{where} (AFP) - {rng.choice(OPENINGS)} {who} a exposé mardi ses propositions sur "
        f"{what}, à six mois du scrutin. {rng.choice(ENDINGS)} Dépêche n°{n}."
    )
    return title, summary


def feed_document(source: int, *, items: int, wire_pool: int, base: str) -> bytes:
    """Source `source`'s RSS document: its own posts, and reprints of wire stories (about one
    item in three), each reprint lightly edited by the site."""
    rng = random.Random(f"feed-{source}")
    now = dt.datetime(2027, 3, 10, 12, tzinfo=dt.UTC)
    entries = []
    for k in range(items):
        published = now - dt.timedelta(hours=k * 3 + rng.randint(0, 2))
        if rng.random() < 0.33:
            title, summary = wire_story(rng.randrange(wire_pool))
            if rng.random() < 0.5:
                title = f"{title} (AFP)"
            if rng.random() < 0.3:
                summary += " Avec AFP."
        else:
            who, what = rng.choice(PEOPLE), rng.choice(TOPICS)
            title = f"Notre point de vue sur {what} : ce que {who} oublie ({source}-{k})"
            summary = (
                f"{rng.choice(OPENINGS)} nous revenons sur {what}. {rng.choice(ENDINGS)} "
                f"Billet {k} du site {source}, écrit par un militant de "
                f"{rng.choice(PLACES)}."
            )
        entries.append(
            f"<item><title>{escape(title)}</title>"
            f"<link>{base}/billet/{source}-{k}/</link>"
            f"<guid>{base}/billet/{source}-{k}/</guid>"
            f"<description>{escape(summary)}</description>"
            f"<pubDate>{published.strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Site n°{source}</title><link>{base}/</link><language>fr</language>"
        + "".join(entries)
        + "</channel></rss>"
    ).encode()


def host_address(h: int) -> str:
    return f"127.20.{h // 250}.{h % 250 + 1}"


def source_url(n: int, *, hosts: int, port: int) -> str:
    return f"http://{host_address(n % hosts)}:{port}/feed/{n}.xml"


# --- the server (its own process) ---------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    from aiohttp import web

    # One listening socket per host, and the connections the watcher keeps alive.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    wire_pool = max(1, args.sources // 5)

    async def handler(request: web.Request) -> web.Response:
        name = request.match_info["n"]
        if not name.isdigit():
            raise web.HTTPNotFound()
        n = int(name)
        base = f"http://{request.host}"
        body = feed_document(n, items=args.items, wire_pool=wire_pool, base=base)
        return web.Response(body=body, content_type="application/rss+xml", charset="utf-8")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{n}.xml", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for h in range(args.hosts):
            await web.TCPSite(runner, host_address(h), args.port, backlog=1024).start()
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- the measured part (a fresh process per backend) --------------------------------------------


async def reference_fetch(urls: list[str], concurrency: int) -> tuple[list[bytes], float]:
    import aiohttp

    bodies: list[bytes] = [b""] * len(urls)
    gate = asyncio.Semaphore(concurrency)
    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(i: int, url: str) -> None:
            async with gate, session.get(url) as response:
                bodies[i] = await response.read()

        await asyncio.gather(*(one(i, url) for i, url in enumerate(urls)))
    return bodies, time.perf_counter() - started


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import django

    django.setup()
    import feedparser
    from django.core.management import call_command
    from django.db.models import Count
    from django.utils import timezone

    from essaim.watch.models import Evidence, FetchLog, Item, Source
    from essaim.watch.services.urls import url_key

    call_command("migrate", verbosity=0)
    urls = [source_url(n, hosts=args.hosts, port=args.port) for n in range(args.sources)]
    due = timezone.now() - dt.timedelta(seconds=1)
    Source.objects.bulk_create(
        (Source(url=u, url_key=url_key(u), next_poll_at=due) for u in urls), batch_size=1000
    )
    harness.log(f"{len(urls)} sources; reference fetch")
    bodies, fetch_s = asyncio.run(reference_fetch(urls, args.concurrency))
    started = time.perf_counter()
    entries = sum(len(feedparser.parse(body).entries) for body in bodies)
    parse_s = time.perf_counter() - started
    reference_s = fetch_s + parse_s
    harness.log(f"reference: fetch {fetch_s:.1f} s, feedparser {parse_s:.1f} s; watcher")

    env = {
        **os.environ,
        "FETCH_ALLOW_ADDRESSES": "127.20.0.0/16",
        "FETCH_ALLOWED_PORTS": str(args.port),
        "WATCH_HOST_GAP": str(args.host_gap),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "essaim.manage",
        "watcher",
        "--once",
        "--stats",
        "--concurrency",
        str(args.concurrency),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate()
    watcher_s = time.perf_counter() - started
    # Only one child was waited for since the reference (an in-process fetch): its peak.
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0:
        raise SystemExit(f"watcher exited with {proc.returncode}")
    stats = json.loads(out.strip().splitlines()[-1])
    items = Item.objects.count()
    outcomes = dict(FetchLog.objects.values_list("outcome").annotate(n=Count("id")))
    return {
        "db": harness.db_version(),
        "sources": args.sources,
        "hosts": args.hosts,
        "items_per_feed": args.items,
        "concurrency": args.concurrency,
        "host_gap": args.host_gap,
        "feed_entries": entries,
        "reference_fetch_s": round(fetch_s, 2),
        "reference_parse_s": round(parse_s, 2),
        "reference_s": round(reference_s, 2),
        "watcher_s": round(watcher_s, 2),
        "ratio": round(watcher_s / reference_s, 2) if reference_s else None,
        "items_stored": items,
        "items_per_s": round(items / watcher_s, 1),
        "evidence_rows": Evidence.objects.count(),
        "watcher_peak_rss_mb": round(rss_mb, 1),
        "watcher_stats": stats,
        "outcomes": outcomes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=2500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--host-gap", type=float, default=2.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pg-db", default="bench_watch")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hosts < 1 or args.hosts > 250 * 250 or args.sources < 1:
        raise SystemExit("--sources ≥ 1 and 1 ≤ --hosts ≤ 62500")
    if args.serve:
        serve(args)
        return
    if args.worker:
        print(json.dumps(worker(args)))
        return

    args.port = args.port or free_port()
    common = [
        f"--sources={args.sources}",
        f"--hosts={args.hosts}",
        f"--items={args.items}",
        f"--port={args.port}",
    ]
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", *common], stdout=subprocess.PIPE, text=True
    )
    results: dict[str, Any] = {"machine": harness.machine(), "backends": {}}
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise SystemExit("the feed server did not start")
        harness.log(f"feed server on {args.hosts} loopback hosts, port {args.port}")
        worker_args = [
            *common,
            f"--concurrency={args.concurrency}",
            f"--host-gap={args.host_gap}",
        ]
        harness.run_backends(
            results,
            args.backends,
            pg_admin_url=args.pg_admin_url,
            pg_db=args.pg_db,
            run_worker=lambda backend, tmp: harness.worker_process(
                __file__,
                backend,
                tmp,
                harness.pg_url_for(args.pg_admin_url, args.pg_db),
                worker_args,
            ),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        "| backend | sources | items stored | watcher | items/s | reference (aiohttp + "
        "feedparser) | ratio | watcher peak RSS |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for backend, r in results["backends"].items():
        print(
            f"| {r['db']} | {r['sources']:,} | {r['items_stored']:,} | {r['watcher_s']} s | "
            f"{r['items_per_s']:,} | {r['reference_s']} s | {r['ratio']}× | "
            f"{r['watcher_peak_rss_mb']} MB |"
        )
        harness.log(f"{backend}: {r['outcomes']}")
    harness.save_json(OUT, "watch_poll", results)


if __name__ == "__main__":
    main()
