"""Benchmark of missions at national scale, on SQLite and PostgreSQL.

    .venv/bin/python bench/army.py [--volunteers 100000] [--contacts 1000000]
        [--backends sqlite,postgres] [--pages 50] [--runs 21]
        [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

The script makes its own databases and removes them: a SQLite file in a temporary directory
(SQLITE_PATH) and a PostgreSQL database `bench_missions` (`BENCH_PG_DB` to choose another name on
a shared server; dropped first if left over, dropped at the end). Each backend runs in a
subprocess whose environment is set before Django starts.

Filling, set-based only (INSERT … SELECT over a number series: `generate_series` on PostgreSQL, a
recursive CTE on SQLite): N volunteers with one or two roles (90 % active), 95 local teams (one
per département, every volunteer a member of theirs), 1,000 open missions (a third national, a
third limited to a département, a third a team's; roles 1–7 in turn), about two claims per
volunteer (one accepted; one in twenty submitted with a proof and a link: the review queue), M
contacts (the base sits in the same database, as in production), then ANALYZE.

Measured through Django's test Client (server time: URL resolution, middleware, session, view,
queries, template), each measure after one warm-up:
- reference page: the volunteer's mission settings page (a trivial page: session, one read);
- "Mes missions", first page and the next page (keyset cursor of the first), for `--pages`
  volunteers spread over the base: median, p90 and the set of query counts seen;
- dispatch of three national missions, each targeting three roles (about 60 % of the
  volunteers), to every eligible volunteer (one INSERT … SELECT each); reference: `SELECT
  count(*)` of the same eligible volunteers (dispatch's SELECT without the INSERT), and of the
  volunteers table;
- the review queue page for HQ and for a team's coordinator, `--runs` runs each.

Results: a Markdown table on stdout (ratios to the reference page and query) and JSON in bench/out/.
"""

# The fill statements are assembled from fixed fragments and integers only (no input).
# ruff: noqa: S608

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness import (
    db_version,
    log,
    machine,
    pg_url_for,
    run_backends,
    save_json,
    worker_process,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
PG_DB = os.environ.get("BENCH_PG_DB", "bench_missions")
MISSIONS = 1000
DISPATCH_ROLES = (1, 2, 3)
SITE = "'[\"https://forum.exemple.fr/t/' || i || '\"]'"  # mission i's target site, JSON


# --- Parent: machine, databases, subprocesses ---------------------------------------------------


def run_worker(backend: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    pg_url = pg_url_for(args.pg_admin_url, PG_DB)
    worker_args = [
        *("--volunteers", str(args.volunteers), "--contacts", str(args.contacts)),
        *("--pages", str(args.pages), "--runs", str(args.runs)),
    ]
    return worker_process(str(Path(__file__).resolve()), backend, tmp, pg_url, worker_args)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument(
        "--pg-admin-url",
        default=os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--worker", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args)))
        return
    results: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python", "bench/army.py", *sys.argv[1:]]),
        "machine": machine(),
        "volunteers": args.volunteers,
        "contacts": args.contacts,
        "backends": {},
    }
    run_backends(
        results,
        args.backends,
        pg_admin_url=args.pg_admin_url,
        pg_db=PG_DB,
        run_worker=lambda backend, tmp: run_worker(backend, args, tmp),
    )
    save_json(OUT, "army", results)
    print(markdown(results))


def markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"- date: {results['date']}",
        f"- command: `{results['command']}`",
        f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, "
        f"Python {m['python']}, Linux {m['kernel']}, load average at start "
        f"{m['loadavg'][0]:.2f}",
        f"- volunteers: {results['volunteers']:,}; contacts: {results['contacts']:,}; "
        f"missions: {MISSIONS:,} open",
        "",
    ]
    for backend, r in results["backends"].items():
        ref_page = r["measures"]["reference page: mission settings"]["median"]
        lines += [
            f"### {backend} ({r['version']})",
            "",
            f"Fill: {r['fill_seconds']:.0f} s ({r['fill']}); {r['rows']}",
            "",
            "| measure | median ms | p90 ms | min ms | max ms | × reference page | queries |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for name, v in r["measures"].items():
            lines.append(
                f"| {name} | {v['median']:.1f} | {v['p90']:.1f} | {v['min']:.1f} | "
                f"{v['max']:.1f} | {v['median'] / ref_page:.1f} | "
                f"{', '.join(str(q) for q in v['queries'])} |"
            )
        lines += ["", *[f"- {note}" for note in r["notes"]], ""]
    return "\n".join(lines)


# --- Worker: one backend, Django configured by the environment ---------------------------------


def worker(args: argparse.Namespace) -> dict[str, Any]:
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    # Instruments template rendering, so that the test Client's responses carry their context
    # (the pages' cursors); costs the same on every page, reference included.
    setup_test_environment()

    call_command("migrate", verbosity=0, interactive=False)
    t = time.perf_counter()
    fill = populate(args.volunteers, args.contacts)
    fill_seconds = time.perf_counter() - t
    result = measure(args.pages, args.runs)
    with connection.cursor() as cur:
        counts = {}
        for table in ("army_volunteer", "army_roleassignment", "army_claim", "people_contact"):
            cur.execute(f"SELECT count(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    result |= {
        "version": db_version(),
        "fill": ", ".join(f"{k} {v:.1f} s" for k, v in fill.items()),
        "fill_seconds": fill_seconds,
        "rows": ", ".join(f"{k} {v:,}" for k, v in counts.items()),
    }
    connection.close()
    return result


def populate(volunteers: int, contacts: int) -> dict[str, float]:
    """Set-based fill; returns seconds per step. Ids start at 1 in the fresh database, which
    the statements below rely on (mission i has id i, role k has id k)."""
    from django.db import connection
    from django.utils import timezone

    pg = connection.vendor == "postgresql"
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    steps: dict[str, float] = {}

    def series(n: int) -> str:
        # A CTE `s(i)` of 1..n on both backends.
        if pg:
            return f"WITH s(i) AS (SELECT generate_series(1, {int(n)}))"
        return f"WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {int(n)})"

    def pad2(expr: str) -> str:
        return f"(CASE WHEN ({expr}) < 10 THEN '0' ELSE '' END || CAST(({expr}) AS TEXT))"

    def json_text(expr: str) -> str:
        # A computed text is not an untyped literal: PostgreSQL wants it cast to jsonb.
        return f"CAST({expr} AS jsonb)" if pg else expr

    def plus_days(expr: str) -> str:
        if pg:
            return f"(CAST(%s AS timestamptz) + ({expr}) * interval '1 day')"
        return f"datetime(%s, '+' || ({expr}) || ' days')"

    def run(name: str, sql: str, params: tuple[Any, ...] = ()) -> None:
        # Always with params, so a literal % is always written %% (used for modulo below).
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(sql, params)
        steps[name] = time.perf_counter() - t
        log(f"  {name}: {steps[name]:.1f} s")

    dep = pad2("1 + {id} %% 95")
    run(
        "users",
        f"""INSERT INTO accounts_user (password, email, full_name, role, zones, is_active,
            date_joined)
        {series(volunteers)}
        SELECT '!', 'v' || i || '@bench.test', 'V' || i, 'volunteer', '[]', TRUE, %s
        FROM s""",
        (now,),
    )
    # Départements 01–95 spread evenly; région = a tenth of it, enough for zone targeting.
    run(
        "volunteers",
        f"""INSERT INTO army_volunteer (user_id, first_name, weekly_hours, windows, skills,
            languages, postcode, departement, region, created_at, updated_at)
        SELECT id, full_name, 1 + id %% 10, (id * 2654435761) %% 2097152, '[]', '["fr"]',
            {dep.format(id="id")} || '000', {dep.format(id="id")},
            CAST((1 + id %% 95) / 10 AS TEXT), %s, %s
        FROM accounts_user WHERE role = 'volunteer'""",
        (now, now),
    )
    # Roles 1–7 (seeded by a migration): every volunteer holds role 1 + id % 7, two in three a
    # second one, 1 + (id + 3) % 7; one in ten is still "trained" in the first.
    run(
        "roles",
        """INSERT INTO army_roleassignment (volunteer_id, role_id, stage, stage_changed_at,
            created_at)
        SELECT user_id, 1 + user_id %% 7,
            CASE WHEN user_id %% 10 = 0 THEN 'trained' ELSE 'active' END, %s, %s
        FROM army_volunteer
        UNION ALL
        SELECT user_id, 1 + (user_id + 3) %% 7, 'active', %s, %s
        FROM army_volunteer WHERE user_id %% 3 <> 0""",
        (now, now, now, now),
    )
    run(
        "teams",
        f"""INSERT INTO accounts_team (name, kind, departement, region, description,
            accepts_requests, created_at)
        {series(95)}
        SELECT 'Équipe ' || i, 'local', {pad2("i")}, '', '', TRUE, %s FROM s""",
        (now,),
    )
    run(
        "memberships",
        """INSERT INTO accounts_membership (team_id, user_id, state, is_coordinator, message,
            requested_at, joined_at)
        SELECT t.id, v.user_id, 'member', FALSE, '', %s, %s
        FROM army_volunteer v JOIN accounts_team t ON t.departement = v.departement""",
        (now, now),
    )
    # Mission i: role 1 + i % 7; a team's when i % 3 = 2, limited to a département when
    # i % 3 = 1, national and everywhere when i % 3 = 0; deadlines over the next 30 days.
    run(
        "missions",
        f"""INSERT INTO army_mission (kind, title, brief, role_id, team_id, status, kit_files,
            video_links, embed_codes, target_sites, watch_channels, watch_slots, windows, quota,
            slots_taken, per_volunteer_minutes, points, deadline, published_at, created_at)
        {series(MISSIONS)}
        SELECT 'relay', 'Mission ' || i, 'Consignes de la mission ' || i, 1 + i %% 7,
            CASE WHEN i %% 3 = 2 THEN 1 + i %% 95 END,
            'published', '[]', '[]', '[]', {json_text(SITE)},
            '[]', '[]', 0, 100000, 0, 30, 10, {plus_days("1 + i %% 30")}, %s, %s
        FROM s""",
        (now, now, now),
    )
    run(
        "targets",
        """INSERT INTO army_missiontarget (mission_id, role_id, stage)
        SELECT id, role_id, 'active' FROM army_mission""",
    )
    run(
        "zones",
        f"""INSERT INTO army_missionzone (mission_id, departement, region)
        SELECT id, {dep.format(id="id")}, '' FROM army_mission WHERE id %% 3 = 1""",
    )
    # Two claims per volunteer on national missions of their first role, a = id % 7: the
    # missions i with i % 3 = 0 and i % 7 = a are c + 21 j, c = 15 a % 21 (or 21 when 0), and
    # j = (id + k) % 40 picks one; computed, not joined, so the fill stays linear. The first
    # claim of one volunteer in twenty is submitted (the review queue), the second accepted.
    run(
        "claims",
        """INSERT INTO army_claim (mission_id, volunteer_id, status, claimed_at, submitted_at,
            feedback, points)
        SELECT CASE WHEN (15 * (v.user_id %% 7)) %% 21 = 0 THEN 21
                    ELSE (15 * (v.user_id %% 7)) %% 21 END + 21 * ((v.user_id + k.k) %% 40),
            v.user_id,
            CASE WHEN v.user_id %% 20 = 0 AND k.k = 0 THEN 'submitted'
                 WHEN k.k = 1 THEN 'accepted' ELSE 'claimed' END,
            %s, CASE WHEN v.user_id %% 20 = 0 AND k.k = 0 THEN %s END,
            '', CASE WHEN k.k = 1 THEN 10 ELSE 0 END
        FROM army_volunteer v
        CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1) k""",
        (now, now),
    )
    run(
        "slots",
        """UPDATE army_mission SET slots_taken =
            (SELECT count(*) FROM army_claim c WHERE c.mission_id = army_mission.id)""",
    )
    run(
        "proofs",
        """INSERT INTO army_proof (claim_id, note, screenshot, submitted_at)
        SELECT id, 'Fait', '', %s FROM army_claim WHERE status = 'submitted'""",
        (now,),
    )
    run(
        "links",
        """INSERT INTO army_prooflink (proof_id, url, url_hash, is_duplicate)
        SELECT id, 'https://forum.exemple.fr/t/' || id, 'h' || id, FALSE FROM army_proof""",
    )
    run(
        "contacts",
        f"""INSERT INTO people_contact (email, email_key, email_hash, first_name, last_name,
            phone, postcode, departement, region, source, created_at, updated_at)
        {series(contacts)}
        SELECT 'c' || i || '@bench.test', 'c' || i || '@bench.test', 'h' || i,
            'Prénom', 'Nom' || i %% 1000, '', {dep.format(id="i")} || '000',
            {dep.format(id="i")}, CAST((1 + i %% 95) / 10 AS TEXT), 'bench', %s, %s
        FROM s""",
        (now, now),
    )
    run("analyze", "ANALYZE", ())
    return steps


def stats(samples: list[float], queries: set[int] | None = None) -> dict[str, Any]:
    ordered = sorted(samples)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "min": ordered[0],
        "max": ordered[-1],
        "n": len(ordered),
        "queries": sorted(queries or set()),
    }


def timed(fn: Callable[[], Any], runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def measure(pages: int, runs: int) -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from essaim.accounts.models import Membership, Role, User
    from essaim.army.models import Mission, MissionTarget, Volunteer
    from essaim.army.services.dispatch import dispatch_mission, eligible_volunteers

    measures: dict[str, Any] = {}
    notes: list[str] = []

    def page(client: Client, url: str, expect: int = 200) -> tuple[float, int, Any]:
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get(url)
            ms = (time.perf_counter() - t) * 1000
        assert response.status_code == expect, (url, response.status_code)
        return ms, len(ctx.captured_queries), response

    def query(sql: str) -> Callable[[], Any]:
        def run() -> Any:
            with connection.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()

        return run

    # "Mes missions", first and next page, and the reference page, for volunteers spread over
    # the base; each page is loaded once before being measured.
    total = Volunteer.objects.count()
    step = max(total // pages, 1)
    ids = list(Volunteer.objects.order_by("pk").values_list("pk", flat=True)[::step][:pages])
    samples: dict[str, tuple[list[float], set[int]]] = {
        name: ([], set())
        for name in (
            "reference page: mission settings",
            '"Mes missions", first page',
            '"Mes missions", next page',
        )
    }
    offers_shown: list[int] = []
    my_url = reverse("army:my_missions")
    settings_url = reverse("army:mission_settings")
    for pk in ids:
        client = Client()
        client.force_login(User.objects.get(pk=pk))
        for name, url in (
            ("reference page: mission settings", settings_url),
            ('"Mes missions", first page', my_url),
        ):
            page(client, url)
            ms, n, response = page(client, url)
            samples[name][0].append(ms)
            samples[name][1].add(n)
        offers_shown.append(len(response.context["offers"]))
        next_url = response.context.get("offers_next_url")
        if next_url:
            page(client, next_url)
            ms, n, _response = page(client, next_url)
            samples['"Mes missions", next page'][0].append(ms)
            samples['"Mes missions", next page'][1].add(n)
    for name, (ms_list, queries) in samples.items():
        if ms_list:
            measures[name] = stats(ms_list, queries)
    notes.append(
        f'"Mes missions": {len(ids)} volunteers; offers on the first page: '
        f"{min(offers_shown)}–{max(offers_shown)}; a next page for "
        f"{len(samples[chr(34) + 'Mes missions' + chr(34) + ', next page'][0])} of them"
    )

    # Dispatch: three national missions, everywhere, each retargeted at three roles (active),
    # each dispatched once, as publishing three missions would (a mission is dispatched once:
    # a second run inserts nothing).
    missions = list(
        Mission.objects.filter(team__isnull=True, zones__isnull=True).order_by("pk")[:3]
    )
    MissionTarget.objects.filter(mission__in=missions).delete()
    MissionTarget.objects.bulk_create(
        MissionTarget(mission=m, role_id=r, stage="active")
        for m in missions
        for r in DISPATCH_ROLES
    )
    measures["reference: SELECT count(*) FROM army_volunteer"] = stats(
        timed(query("SELECT count(*) FROM army_volunteer"), runs), {1}
    )
    eligible = eligible_volunteers(missions[0])
    count_ms = timed(lambda: eligible.count(), 3)
    measures["reference: count of the eligible volunteers (dispatch's SELECT)"] = stats(
        count_ms, {1}
    )
    dispatch_ms, written = [], []
    for mission in missions:
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            written.append(dispatch_mission(mission))
        dispatch_ms.append((time.perf_counter() - t) * 1000)
    measures["dispatch to every eligible volunteer"] = stats(
        dispatch_ms, {len(ctx.captured_queries)}
    )
    t = time.perf_counter()
    again = dispatch_mission(missions[0])
    again_ms = (time.perf_counter() - t) * 1000
    notes.append(
        f"dispatch: missions {[m.pk for m in missions]} target roles {DISPATCH_ROLES} (active); "
        f"{eligible.count():,} eligible volunteers for the first; rows written {written}; "
        f"dispatching the first again wrote {again} rows in {again_ms:.0f} ms"
    )

    # The review queue, as HQ and as the coordinator of team 1.
    hq = User.objects.create_user("hq@bench.test", "x", role=Role.HQ_STAFF)
    coordinator = User.objects.create_user("coord@bench.test", "x", role=Role.COORDINATOR)
    Membership.objects.create(team_id=1, user=coordinator, is_coordinator=True)
    for name, user in (
        ("review queue, HQ", hq),
        ("review queue, coordinator of a team", coordinator),
    ):
        client = Client()
        client.force_login(user)
        url = reverse("army:review_queue")
        _ms, n, response = page(client, url)
        measures[name] = stats(timed(lambda c=client, u=url: c.get(u), runs), {n})
        notes.append(f"{name}: {len(response.context['claims'])} proofs shown")
    return {"measures": measures, "notes": notes}


if __name__ == "__main__":
    main()
