#!/usr/bin/env python
"""Benchmark of the hot pages and API lists at two data sizes (principle 6: constant queries).

    .venv/bin/python bench/run.py                  # 20 schools/30,000 and 200/300,000 students
    .venv/bin/python bench/run.py --quick          # 3 schools/1,500 students, 10 runs: sanity
    .venv/bin/python bench/run.py --sizes 3:1500,20:30000 --runs 30 --explain

For each size the benchmark database is dropped, created, migrated and filled by the demo
generator (`jiafang.demo.generator`, the same code as `manage.py seed_demo`), then each page
is requested 3 times to warm up and 30 times measured with Django's test client as a signed-in
user (DEBUG off): the number of SQL queries and the server time (median, p95). The table is
printed and written to var/bench/results.json.

Database: DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/jiafang_bench (created if
missing). Safety: the script refuses test_* and system databases, and any database holding a
row that is not demo data (a bureau, school or user the demo generator did not make), because
it drops the database for every size. SQLite files work too (for --quick); PostgreSQL is the
reference for the goal.

Goal: the class roster page and the student list API within 10 queries and 30 ms median at
300,000 students on PostgreSQL. Coverage (issue 3 point 11): the bureau's figures (coverage
page, `coverage/bureau`, `coverage?campaign=`) within 50 ms and a school's figures
(`coverage?campaign=&school=`: totals and the six categories) within 10 ms median, the query
count the same at both sizes; the demo campaign
then has about 70% of families visited (~200,000 recorded visits at 300,000 students).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/jiafang_bench"
DEFAULT_SIZES = "20:30000,200:300000"
QUICK_SIZES = "3:1500"
GOAL_QUERIES = 10
GOAL_MEDIAN_MS = 30.0
GOAL_PAGES = ("class roster page", "API students?class=")
GOAL_STUDENTS = 300_000
# Coverage (issue 3 point 11): median server time of the bureau's and one school's figures
# (totals and the six focus categories). The school coverage page and its API also break the
# figures down by grade, class and teacher and chart the weeks: measured, no goal.
COVERAGE_GOALS_MS = {"bureau coverage page": 50.0, "API coverage/bureau": 50.0,
                     "API coverage (bureau figures)": 50.0,
                     "API coverage?school= (school figures)": 10.0}
# Share of families with a recorded visit: ~200,000 recorded visits at 300,000 students.
BENCH_VISITED_SHARE = 0.7


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=None,
                        help=f"schools:students pairs, comma-separated (default {DEFAULT_SIZES})")
    parser.add_argument("--quick", action="store_true",
                        help=f"a small sanity run: sizes {QUICK_SIZES}, 10 runs, 1 warm-up")
    parser.add_argument("--runs", type=int, default=None, help="measured requests per page (30)")
    parser.add_argument("--warmups", type=int, default=None, help="warm-up requests (3)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=None,
                        help="overrides DATABASE_URL (default " + DEFAULT_DATABASE_URL + ")")
    parser.add_argument("--output", default=str(ROOT / "var" / "bench" / "results.json"))
    parser.add_argument("--measure-only", action="store_true",
                        help="measure the database as it is (built by an earlier run of one "
                             "size), without rebuilding: for repeated measurements")
    parser.add_argument("--explain", action="store_true",
                        help="PostgreSQL: EXPLAIN ANALYZE the slowest query of each page")
    args = parser.parse_args(argv)
    args.sizes = args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.runs = args.runs or (10 if args.quick else 30)
    args.warmups = args.warmups if args.warmups is not None else (1 if args.quick else 3)
    try:
        args.size_list = [tuple(int(x) for x in part.split(":")) for part in args.sizes.split(",")]
        assert all(len(s) == 2 and s[0] >= 1 and s[1] >= 1 for s in args.size_list)
    except (ValueError, AssertionError):
        parser.error("--sizes takes schools:students pairs, e.g. 3:1500,20:30000")
    args.database_url = (args.database_url or os.environ.get("DATABASE_URL")
                         or DEFAULT_DATABASE_URL)
    return args


def configure_environment(database_url: str) -> None:
    """Settings come from the environment: set it up before Django reads it."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "jiafang.settings"
    os.environ["DATABASE_URL"] = database_url
    os.environ["JIAFANG_DEMO"] = "1"  # demo data allowed (and a development secret key)
    os.environ.pop("DEBUG", None)  # measure with DEBUG off, as in production
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    os.environ["ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "testserver", "127.0.0.1",
                                                          "localhost"]))
    os.environ["JIAFANG_SSL_REDIRECT"] = "0"
    os.environ["JIAFANG_SECURE_COOKIES"] = "0"
    os.environ.setdefault("LOG_LEVEL", "ERROR")


# --- the database: safety check and rebuild --------------------------------------------------

class Refused(SystemExit):
    def __init__(self, message: str):
        super().__init__(f"bench: refused: {message}")


def _pg_connect(cfg: dict, dbname: str):
    import psycopg

    return psycopg.connect(dbname=dbname, user=cfg.get("USER") or None,
                           password=cfg.get("PASSWORD") or None, host=cfg.get("HOST") or None,
                           port=cfg.get("PORT") or None, autocommit=True, connect_timeout=10)


def _non_demo_rows(fetch) -> list[str]:
    """What in a database is not demo data; fetch(sql) returns the first column of a row."""
    from jiafang.demo.generator import DEMO_EMAIL_DOMAIN, DEMO_SCHOOL_CODE_PREFIX

    checks = {
        "bureaus": f"SELECT count(*) FROM schools_bureau WHERE code NOT LIKE "
                   f"'{DEMO_SCHOOL_CODE_PREFIX}%'",
        "schools": f"SELECT count(*) FROM schools_school WHERE code NOT LIKE "
                   f"'{DEMO_SCHOOL_CODE_PREFIX}%'",
        "users": f"SELECT count(*) FROM accounts_user WHERE email NOT LIKE "
                 f"'%@{DEMO_EMAIL_DOMAIN}'",
    }
    found = []
    for label, sql in checks.items():
        n = fetch(sql)
        if n:
            found.append(f"{n} {label}")
    return found


JIAFANG_TABLES = {"schools_bureau", "schools_school", "accounts_user", "django_migrations"}


def check_database_is_disposable(cfg: dict) -> str:
    """Refuse unless the database is absent, empty, or holds demo data only."""
    engine, name = cfg["ENGINE"], str(cfg["NAME"])
    if engine.endswith("postgresql"):
        if name.startswith("test_") or name in {"postgres", "template0", "template1"}:
            raise Refused(f"database {name!r} is a test or system database")
        with _pg_connect(cfg, "postgres") as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                   [name]).fetchone()
        if not exists:
            return "absent"
        with _pg_connect(cfg, name) as conn:
            tables = {r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            if not tables:
                return "empty"
            if not JIAFANG_TABLES <= tables:
                raise Refused(f"database {name!r} has tables that are not Jiafang's")
            found = _non_demo_rows(lambda sql: conn.execute(sql).fetchone()[0])
    elif engine.endswith("sqlite3"):
        import sqlite3

        path = Path(name)
        if name == ":memory:" or "mode=memory" in name:
            raise Refused("an in-memory SQLite database does not survive a rebuild")
        if path.name.startswith("test_"):
            raise Refused(f"{path} is a test database")
        if not path.exists() or path.stat().st_size == 0:
            return "absent"
        conn = sqlite3.connect(path)
        try:
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return "empty"
            if not JIAFANG_TABLES <= tables:
                raise Refused(f"{path} has tables that are not Jiafang's")
            found = _non_demo_rows(lambda sql: conn.execute(sql).fetchone()[0])
        finally:
            conn.close()
    else:
        raise Refused(f"unsupported database engine {engine}")
    if found:
        raise Refused(f"database {name!r} holds data that is not demo data ({', '.join(found)}); "
                      "point DATABASE_URL at a database of its own, e.g. " + DEFAULT_DATABASE_URL)
    return "demo only"


def recreate_database(cfg: dict) -> None:
    from django.db import connections

    connections.close_all()
    engine, name = cfg["ENGINE"], str(cfg["NAME"])
    if engine.endswith("postgresql"):
        from psycopg import sql

        with _pg_connect(cfg, "postgres") as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    else:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(name + suffix).unlink(missing_ok=True)
        Path(name).parent.mkdir(parents=True, exist_ok=True)


# --- measuring ----------------------------------------------------------------------------------

@dataclass
class Case:
    page: str
    username: str
    url: str


@dataclass
class Result:
    page: str
    size: str
    schools: int
    students: int
    rows: int
    queries: int
    queries_min: int
    median_ms: float
    p95_ms: float
    url: str
    username: str
    slowest_queries: list[dict] = field(default_factory=list)
    explain: str = ""

    @property
    def goal(self) -> bool | None:
        if self.page in COVERAGE_GOALS_MS:
            return self.median_ms <= COVERAGE_GOALS_MS[self.page]
        if self.page not in GOAL_PAGES:
            return None
        return self.queries <= GOAL_QUERIES and self.median_ms <= GOAL_MEDIAN_MS


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def pick_cases() -> list[Case]:
    from django.db.models import Count, Q
    from django.urls import reverse
    from django_scopes import scopes_disabled

    from jiafang.accounts.models import Role
    from jiafang.campaigns.models import Campaign
    from jiafang.schools.models import Student

    with scopes_disabled():
        head = Role.objects.select_related("school_class").get(user__username="head1")
        class_id, school_id = head.school_class_id, head.school_id
        # The richest student of the class: siblings and focus flags make the heaviest page.
        student = (Student.objects.filter(school_class_id=class_id)
                   .annotate(flags=Count("focus_flags", distinct=True),
                             family_size=Count("family__students", distinct=True,
                                               filter=Q(family__students__status="enrolled")))
                   .order_by("-family_size", "-flags", "pk").first())
        campaign = Campaign.objects.order_by("-starts_on", "-pk").first()
    c = campaign.pk
    return [
        Case("class roster page", "head1", reverse("schools:class", args=[class_id])),
        Case("student page", "head1", reverse("schools:student", args=[student.pk])),
        Case("school overview", "principal1", reverse("schools:detail", args=[school_id])),
        Case("bureau overview", "bureau", reverse("schools:list")),
        Case("API students?class=", "head1", f"/api/v1/students?class={class_id}"),
        Case("API students?school=&limit=50", "coordinator1",
             f"/api/v1/students?school={school_id}&limit=50"),
        Case("API families?class=", "head1", f"/api/v1/families?class={class_id}"),
        Case("API schools", "bureau", "/api/v1/schools"),
        Case("bureau coverage page", "bureau", reverse("reports:bureau", args=[c])),
        Case("school coverage page", "principal1",
             reverse("reports:school", args=[school_id]) + f"?campaign={c}"),
        Case("class to-do page", "head1", reverse("reports:todo", args=[class_id]) + f"?campaign={c}"),
        Case("API coverage/bureau", "bureau", f"/api/v1/coverage/bureau?campaign={c}"),
        Case("API coverage/schools/{id}", "principal1",
             f"/api/v1/coverage/schools/{school_id}?campaign={c}"),
        Case("API coverage/classes/{id}/todo", "head1",
             f"/api/v1/coverage/classes/{class_id}/todo?campaign={c}"),
        Case("API coverage (bureau figures)", "bureau", f"/api/v1/coverage?campaign={c}"),
        Case("API coverage?school= (school figures)", "principal1",
             f"/api/v1/coverage?campaign={c}&school={school_id}"),
        Case("API coverage?class= (class figures)", "head1",
             f"/api/v1/coverage?campaign={c}&class={class_id}"),
    ]


def explain(sql: str) -> str:
    from django.db import connection

    if connection.vendor != "postgresql" or not sql.lstrip().upper().startswith("SELECT"):
        return ""
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def measure(case: Case, clients: dict, *, runs: int, warmups: int, with_explain: bool) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = clients[case.username]
    for _ in range(warmups):
        response = client.get(case.url)
        if response.status_code != 200:
            raise SystemExit(f"bench: {case.page}: {case.url} answered {response.status_code} "
                             f"for {case.username}")
    times, counts = [], []
    captured: list[dict] = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get(case.url)
            elapsed = time.perf_counter() - started
        assert response.status_code == 200, (case.url, response.status_code)
        times.append(elapsed * 1000)
        counts.append(len(ctx.captured_queries))
        captured = ctx.captured_queries
    slowest = sorted(captured, key=lambda q: float(q["time"]), reverse=True)[:3]
    plan = explain(slowest[0]["sql"]) if with_explain and slowest else ""
    return {
        "queries": max(counts), "queries_min": min(counts),
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 95), 2),
        "slowest_queries": [{"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"][:2000]}
                            for q in slowest],
        "explain": plan,
    }


def count_rows() -> tuple[int, int]:
    """(students, rows of the district tables) in the database."""
    from django_scopes import scopes_disabled

    from jiafang.accounts.models import Role, User
    from jiafang.schools.models import Family, FocusFlag, Guardian, SchoolClass, Student

    with scopes_disabled():
        students = Student.objects.count()
        rows = students + sum(m.objects.count() for m in (Family, Guardian, FocusFlag, SchoolClass,
                                                          User, Role))
    return students, rows


def run_size(schools: int, students: int, args, cfg) -> tuple[dict, list[Result]]:
    from django.core.management import call_command
    from django.db import connection

    from jiafang.demo.generator import DemoSpec, demo_build

    label = f"{schools}/{students:,}"
    if args.measure_only:
        print(f"\n== size {label}: measuring {cfg['NAME']} as it is ==", flush=True)
        return measure_size(schools, label, args, {})
    print(f"\n== size {label}: rebuilding {cfg['NAME']} ==", flush=True)
    recreate_database(cfg)
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    timings = [("migrate", time.perf_counter() - started)]
    result = demo_build(DemoSpec(seed=args.seed, schools=schools, students=students,
                                 visited_share=BENCH_VISITED_SHARE),
                        log=lambda line: print(line, flush=True))
    timings += result.timings
    if connection.vendor == "postgresql":
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # what autovacuum does on a live server
        timings.append(("vacuum analyze", time.perf_counter() - started))
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    for step, seconds in timings:
        print(f"  {step:<32} {seconds:8.1f} s", flush=True)
    build_seconds = sum(t for step, t in timings if step != "migrate")
    print(f"  {'build total':<32} {build_seconds:8.1f} s", flush=True)
    print(f"  {'recorded visits':<32} {result.counts.get('visitrecord', 0):8,d}", flush=True)
    return measure_size(schools, label, args, {
        "build_seconds": round(build_seconds, 1),
        "timings": {step: round(t, 2) for step, t in timings}, "counts": result.counts})


def measure_size(schools: int, label: str, args, built: dict) -> tuple[dict, list[Result]]:
    from django.test import Client

    from jiafang.accounts.models import User

    n_students, rows = count_rows()

    clients = {}
    for username in ("head1", "principal1", "coordinator1", "bureau"):
        client = Client()
        client.force_login(User.objects.get(username=username))
        clients[username] = client
    results = []
    for case in pick_cases():
        m = measure(case, clients, runs=args.runs, warmups=args.warmups,
                    with_explain=args.explain)
        results.append(Result(page=case.page, size=label, schools=schools, students=n_students,
                              rows=rows, url=case.url, username=case.username, **m))
        print(f"  {case.page:<30} {m['queries']:3d} queries  {m['median_ms']:8.2f} ms median",
              flush=True)
    return {"schools": schools, "students": n_students, "rows": rows, **built}, results


# --- report -------------------------------------------------------------------------------------

def table(results: list[Result]) -> str:
    order = {r.page: i for i, r in enumerate(results)}
    rows = sorted(results, key=lambda r: (order[r.page], r.students))
    header = ("page", "size (schools/students)", "rows in DB", "queries", "median ms", "p95 ms",
              "goal")
    lines = []
    cells = []
    for r in rows:
        queries = str(r.queries) if r.queries == r.queries_min else f"{r.queries_min}-{r.queries}"
        goal = "" if r.goal is None else ("ok" if r.goal else "MISSED")
        cells.append((r.page, r.size, f"{r.rows:,}", queries, f"{r.median_ms:.1f}",
                      f"{r.p95_ms:.1f}", goal))
    widths = [max(len(c[i]) for c in [header, *cells]) for i in range(len(header))]
    aligns = ["<", "<", ">", ">", ">", ">", "<"]

    def fmt(values) -> str:
        return "  ".join(f"{v:{a}{w}}" for v, a, w in zip(values, aligns, widths, strict=True))

    lines.append(fmt(header).rstrip())
    lines.append("  ".join("-" * w for w in widths))
    previous = None
    for c in cells:
        if previous is not None and c[0] != previous:
            lines.append("")
        lines.append(fmt(c).rstrip())
        previous = c[0]
    return "\n".join(lines)


def database_description(cfg) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]} ({cfg['NAME']})"
        cursor.execute("SELECT sqlite_version()")
        return f"SQLite {cursor.fetchone()[0]} ({cfg['NAME']})"


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, text=True,
                              capture_output=True, check=False).stdout.strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_environment(args.database_url)
    import django

    django.setup()
    from django.conf import settings
    from django.utils import timezone

    cfg = settings.DATABASES["default"]
    state = check_database_is_disposable(cfg)
    print(f"bench: database {cfg['NAME']} ({cfg['ENGINE'].rsplit('.', 1)[-1]}): {state}; "
          f"sizes {args.sizes}; {args.runs} runs after {args.warmups} warm-ups; DEBUG="
          f"{settings.DEBUG}", flush=True)
    sizes, results = [], []
    for schools, students in args.size_list:
        size_info, size_results = run_size(schools, students, args, cfg)
        sizes.append(size_info)
        results.extend(size_results)

    db = database_description(cfg)
    print(f"\nResults on {db}, Python {platform.python_version()}, commit {git_commit()}, "
          f"{args.runs} runs after {args.warmups} warm-ups, server time through the test client:")
    print(table(results))
    print("(rows in DB: students + families + guardians + focus flags + classes + users + roles; "
          "queries: per request, a range if it varied; the demo campaign has about "
          f"{BENCH_VISITED_SHARE:.0%} of families visited)")
    largest = max(r.students for r in results)
    print(f"\nGoal: {' and '.join(GOAL_PAGES)} <= {GOAL_QUERIES} queries and <= "
          f"{GOAL_MEDIAN_MS:.0f} ms median at {GOAL_STUDENTS:,} students on PostgreSQL.")
    verdicts = []
    for r in results:
        if r.page in GOAL_PAGES and r.students == largest:
            verdicts.append(r.goal)
            print(f"  {r.page:<24} at {r.students:,} students: {r.queries} queries, "
                  f"{r.median_ms:.1f} ms median -> {'ok' if r.goal else 'MISSED'}")
    print("Coverage goal: " + ", ".join(f"{page} <= {ms:.0f} ms"
                                        for page, ms in COVERAGE_GOALS_MS.items())
          + " median, queries constant across sizes.")
    for r in results:
        if r.page in COVERAGE_GOALS_MS and r.students == largest:
            verdicts.append(r.goal)
            print(f"  {r.page:<24} at {r.students:,} students: {r.queries} queries, "
                  f"{r.median_ms:.1f} ms median -> {'ok' if r.goal else 'MISSED'}")
    if largest < GOAL_STUDENTS or "postgresql" not in cfg["ENGINE"]:
        print("  (this run is not the goal's size or database: indicative only)")
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps({
        "generated_at": timezone.now().isoformat(), "database": db, "commit": git_commit(),
        "python": platform.python_version(), "runs": args.runs, "warmups": args.warmups,
        "seed": args.seed, "sizes": sizes,
        "goal": {"pages": list(GOAL_PAGES), "queries": GOAL_QUERIES,
                 "median_ms": GOAL_MEDIAN_MS, "students": GOAL_STUDENTS,
                 "met": all(verdicts) if verdicts else None},
        "results": [{**asdict(r), "goal_met": r.goal} for r in results],
    }, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nWritten to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
