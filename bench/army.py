"""Benchmark of missions at national scale, on PostgreSQL.

Builds, in a fresh database (created and dropped by the script), N volunteers (default 100,000)
with one to three roles each (mostly active), 100 teams, 1,000 open missions targeting roles,
zones and teams, M contacts (default 1,000,000), ~2 claims per volunteer and 5,000 proofs
awaiting review — all with set-based SQL (generate_series) — then measures, through Django's
test client (server time: URL resolution, middleware, view, template):

- "Mes missions" for 50 volunteers (median, p90, queries per page);
- dispatching one mission to every eligible volunteer (one INSERT … SELECT), 3 runs;
- the review queue page for HQ, 20 runs;
- references in the same run: `SELECT count(*)` of the volunteers, and of the rows dispatch
  selects (the same predicate without the INSERT).

    .venv/bin/python bench/army.py [--volunteers 100000] [--contacts 1000000]
        [--postgres postgres://postgres@127.0.0.1:5432/postgres] [--database bench_missions]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], check=True)


def setup_django(url: str, data_dir: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "essaim.settings",
            "ESSAIM_SKIP_DOTENV": "1",
            "DEBUG": "1",
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": url,
            "REDIS_URL": "",
            "ALLOWED_HOSTS": "testserver,127.0.0.1",
        }
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def populate(volunteers: int, contacts: int) -> dict[str, float]:
    """Set-based fill; returns seconds per step."""
    from django.db import connection

    steps: dict[str, float] = {}

    def run(name: str, sql: str, params: tuple[int, ...] | None = None) -> None:
        # With params, a literal % is written %% (the SQL below uses % for modulo).
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(sql, params)
        steps[name] = time.perf_counter() - t

    run(
        "users",
        """INSERT INTO accounts_user (password, email, full_name, role, zones, is_active,
            date_joined)
        SELECT '!', 'v' || i || '@bench.test', 'V' || i, 'volunteer', '[]', true, now()
        FROM generate_series(1, %s) i""",
        (volunteers,),
    )
    # Départements 01-95 spread evenly; région = a tenth of it, enough for zone targeting.
    run(
        "volunteers",
        """INSERT INTO army_volunteer (user_id, first_name, weekly_hours, windows, skills,
            languages, postcode, departement, region, created_at, updated_at)
        SELECT id, full_name, 1 + id % 10, (id * 2654435761) % 2097152, '[]', '["fr"]',
            lpad((1 + id % 95)::text, 2, '0') || '000', lpad((1 + id % 95)::text, 2, '0'),
            ((1 + id % 95) / 10)::text, now(), now()
        FROM accounts_user WHERE role = 'volunteer'""",
    )
    # Roles 1-7 (seeded): every volunteer holds role 1 + id % 7, two in three a second one.
    run(
        "roles",
        """INSERT INTO army_roleassignment (volunteer_id, role_id, stage, stage_changed_at,
            created_at)
        SELECT user_id, r, CASE WHEN user_id % 10 = 0 THEN 'trained' ELSE 'active' END, now(), now()
        FROM army_volunteer, LATERAL (VALUES (1 + user_id % 7), (1 + (user_id + 3) % 7)) v(r)
        WHERE r = 1 + user_id % 7 OR user_id % 3 <> 0""",
    )
    run(
        "teams",
        """INSERT INTO accounts_team (name, kind, departement, region, description,
            accepts_requests, created_at)
        SELECT 'Équipe ' || i, 'local', lpad(i::text, 2, '0'), '', '', true, now()
        FROM generate_series(1, 95) i""",
    )
    run(
        "memberships",
        """INSERT INTO accounts_membership (team_id, user_id, state, is_coordinator, message,
            requested_at, joined_at)
        SELECT t.id, v.user_id, 'member', false, '', now(), now()
        FROM army_volunteer v JOIN accounts_team t ON t.departement = v.departement""",
    )
    # 1,000 open missions: role 1 + i % 7; a third national, a third for a département, a
    # third for a team; deadlines over the next 30 days.
    run(
        "missions",
        """INSERT INTO army_mission (kind, title, brief, role_id, team_id, status, kit_files,
            video_links, embed_codes, target_sites, watch_channels, watch_slots, windows, quota,
            slots_taken, per_volunteer_minutes, points, deadline, published_at, created_at)
        SELECT 'relay', 'Mission ' || i, 'Consignes de la mission ' || i, 1 + i % 7,
            CASE WHEN i % 3 = 2 THEN (SELECT min(id) FROM accounts_team) + i % 95 END,
            'published', '[]', '[]', '[]', '["https://forum.exemple.fr/t/' || i || '"]', '[]',
            '[]', 0, 100000, 0, 30, 10, now() + (1 + i % 30) * interval '1 day', now(), now()
        FROM generate_series(1, 1000) i""",
    )
    run(
        "targets",
        """INSERT INTO army_missiontarget (mission_id, role_id, stage)
        SELECT id, role_id, 'active' FROM army_mission""",
    )
    run(
        "zones",
        """INSERT INTO army_missionzone (mission_id, departement, region)
        SELECT id, lpad((1 + id % 95)::text, 2, '0'), '' FROM army_mission WHERE id % 3 = 1""",
    )
    # ~2 claims per volunteer on missions they are targeted by; 5,000 submitted.
    run(
        "claims",
        """INSERT INTO army_claim (mission_id, volunteer_id, status, claimed_at, submitted_at,
            feedback, points)
        SELECT m.id, v.user_id,
            CASE WHEN v.user_id % 20 = 0 AND k = 0 THEN 'submitted'
                 WHEN k = 1 THEN 'accepted' ELSE 'claimed' END,
            now() - interval '2 days', CASE WHEN v.user_id % 20 = 0 AND k = 0 THEN now() END,
            '', CASE WHEN k = 1 THEN 10 ELSE 0 END
        FROM army_volunteer v, generate_series(0, 1) k,
        LATERAL (SELECT id FROM army_mission
                 WHERE role_id = 1 + v.user_id % 7 AND team_id IS NULL
                 AND NOT EXISTS (SELECT 1 FROM army_missionzone z
                                 WHERE z.mission_id = army_mission.id)
                 ORDER BY id OFFSET (v.user_id + k) % 40 LIMIT 1) m""",
    )
    run(
        "slots",
        """UPDATE army_mission m SET slots_taken = c.n FROM
        (SELECT mission_id, count(*) n FROM army_claim GROUP BY mission_id) c
        WHERE c.mission_id = m.id""",
    )
    run(
        "proofs",
        """INSERT INTO army_proof (claim_id, note, screenshot, submitted_at)
        SELECT id, 'Fait', '', now() FROM army_claim WHERE status = 'submitted'""",
    )
    run(
        "links",
        """INSERT INTO army_prooflink (proof_id, url, url_hash, is_duplicate)
        SELECT id, 'https://forum.exemple.fr/t/' || id, md5(id::text) || md5(id::text), false
        FROM army_proof""",
    )
    run(
        "contacts",
        """INSERT INTO people_contact (email, email_key, email_hash, first_name, last_name,
            phone, postcode, departement, region, source, created_at, updated_at)
        SELECT 'c' || i || '@bench.test', 'c' || i || '@bench.test', md5(i::text) || md5(i::text),
            'Prénom', 'Nom' || i %% 1000, '', lpad((1 + i %% 95)::text, 2, '0') || '000',
            lpad((1 + i %% 95)::text, 2, '0'), ((1 + i %% 95) / 10)::text, 'bench', now(), now()
        FROM generate_series(1, %s) i""",
        (contacts,),
    )
    run("analyze", "ANALYZE")
    return steps


def timed(fn: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def measure() -> dict[str, Any]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from essaim.accounts.models import Role, User
    from essaim.army.models import Mission, Notification, Volunteer
    from essaim.army.services.dispatch import dispatch_mission, eligible_volunteers

    results: dict[str, Any] = {}
    with connection.cursor() as cur:
        t = time.perf_counter()
        cur.execute("SELECT count(*) FROM army_volunteer")
        results["ref_count_volunteers_ms"] = (time.perf_counter() - t) * 1000

    # "Mes missions": 50 volunteers spread over the base, each page loaded twice (cold, warm).
    ids = list(Volunteer.objects.order_by("pk").values_list("pk", flat=True)[::2000][:50])
    page_ms, queries = [], set()
    for pk in ids:
        client = Client()
        client.force_login(User.objects.get(pk=pk))
        url = reverse("army:my_missions")
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            t = time.perf_counter()
            response = client.get(url)
            page_ms.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
        queries.add(len(ctx.captured_queries))
        results.setdefault("offers_on_first_page", len(response.context["offers"]))
    results["my_missions_ms"] = page_ms
    results["my_missions_queries"] = sorted(queries)

    # Dispatch: a national mission for role 1 + 0 (every volunteer holding it, active).
    mission = (
        Mission.objects.filter(team__isnull=True, role_id=1).exclude(zones__isnull=False).first()
    )
    assert mission is not None
    base = eligible_volunteers(mission)
    t = time.perf_counter()
    results["eligible"] = base.count()
    results["ref_count_eligible_ms"] = (time.perf_counter() - t) * 1000
    dispatch_runs, written = [], []
    for _ in range(3):
        Notification.objects.filter(mission=mission).delete()
        t = time.perf_counter()
        written.append(dispatch_mission(mission))
        dispatch_runs.append((time.perf_counter() - t) * 1000)
    results["dispatch_ms"] = dispatch_runs
    results["dispatch_rows"] = written

    hq = User.objects.create_user("hq@bench.test", "x", role=Role.HQ_STAFF)
    client = Client()
    client.force_login(hq)
    url = reverse("army:review_queue")
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    results["queue_queries"] = len(ctx.captured_queries)
    results["queue_ms"] = timed(lambda: client.get(url), 20)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volunteers", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="bench_missions")
    args = parser.parse_args()
    admin = args.postgres
    url = admin.rsplit("/", 1)[0] + "/" + args.database
    psql(admin, f"DROP DATABASE IF EXISTS {args.database}")
    psql(admin, f"CREATE DATABASE {args.database}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-missions-") as data_dir:
            setup_django(url, Path(data_dir))
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            steps = populate(args.volunteers, args.contacts)
            results = measure()
            from django.db import connection

            connection.close()
    finally:
        psql(admin, f"DROP DATABASE IF EXISTS {args.database}")
    med = statistics.median
    mm = results["my_missions_ms"]
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.node()} "
        f"{platform.machine()}, {os.cpu_count()} CPUs; python {platform.python_version()}"
    )
    print(
        f"volunteers {args.volunteers:,}, contacts {args.contacts:,}; fill: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items())
    )
    print("| measure | median ms | min | max | queries |\n|---|---:|---:|---:|---:|")
    print(
        f"| reference: count(*) of the volunteers table | "
        f"{results['ref_count_volunteers_ms']:.1f} | | | 1 |"
    )
    print(
        f'| "Mes missions" ({len(mm)} volunteers, {results["offers_on_first_page"]} offers '
        f"shown) | {med(mm):.1f} (p90 {sorted(mm)[int(len(mm) * 0.9)]:.1f}) | {min(mm):.1f} | "
        f"{max(mm):.1f} | {results['my_missions_queries']} |"
    )
    print(
        f"| reference: count of the {results['eligible']:,} eligible volunteers "
        f"(dispatch's SELECT) | {results['ref_count_eligible_ms']:.1f} | | | 1 |"
    )
    d = results["dispatch_ms"]
    print(
        f"| dispatch (INSERT … SELECT, rows {results['dispatch_rows']}) | {med(d):.1f} | "
        f"{min(d):.1f} | {max(d):.1f} | 1 |"
    )
    q = results["queue_ms"]
    print(
        f"| review queue, HQ (5,000 waiting, 50 shown) | {med(q):.1f} | {min(q):.1f} | "
        f"{max(q):.1f} | {results['queue_queries']} |"
    )


if __name__ == "__main__":
    main()
