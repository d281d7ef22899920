"""The performance benchmark (`make bench`, `make bench ARGS=--quick`): the tracker against
the raw limit of its own stack, at scale, on PostgreSQL.

    python bench/run.py            # 100,000 projects, 500,000 activities (several minutes)
    python bench/run.py --quick    # 10,000 projects, in under two minutes

What it does, in one run:
1. PostgreSQL: DATABASE_URL (a database it may wipe: see --help) or a throwaway cluster
   it starts and removes. Two databases are filled deterministically by bench/generate.py:
   the full one and one a tenth of its size (the scale case).
2. Serves the tracker with gunicorn under production settings (DEBUG off, a generated
   SECRET_KEY, Redis as the shared cache in db 5 of 127.0.0.1:6379, flushed first), as
   several app servers: one with the response cache, one without (the uncached cases),
   one on the small database, and a second cached one sharing the same PostgreSQL and
   Redis (a write through one must be seen at once through the other).
3. Serves the raw limit (bench/rawapp.py) with the same gunicorn settings: the same SQL
   through psycopg returning the same JSON (checked before loading), and a fixed body.
4. Loads every case (bench/cases.py) with wrk at the same concurrency and duration, in
   alternating rounds so that drift hits all alike (bench/load.py); measures the CSV
   export's worker memory (VmHWM of the gunicorn worker) and the two-server freshness
   (bench/checks.py); prints a table, writes it to bench/RESULTS.md with the date and the
   machine, and ends with one `RESULT` line per goal (bench/report.py).

Worker count: 2 cores. The app and PostgreSQL (and wrk) share them, and a request
spends part of its time waiting for PostgreSQL or Redis, so a few more processes than
cores keep both cores busy: gunicorn's own rule, 2 x cores + 1 = 5 sync workers. More
only adds memory and context switches; fewer leaves a core idle while a worker waits on
the database. The raw baselines get exactly the same settings, so the ratios compare
code, not server configuration.
"""

import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: python bench/run.py

import psycopg  # noqa: E402
import redis  # noqa: E402

from bench import checks, database, report  # noqa: E402
from bench.cases import CASES, GOALS, LIST_PATH, PAGE_SIZE, Target, run_values  # noqa: E402
from bench.common import http, log, manage, run_task  # noqa: E402
from bench.generate import generate  # noqa: E402
from bench.load import Load, figures  # noqa: E402
from bench.servers import Server, production_env  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/5"  # the benchmark's own Redis database: flushed, nothing else is
# The throwaway cluster gets the memory a server for this data would be given.
CLUSTER_SETTINGS = {"shared_buffers": "512MB", "work_mem": "32MB", "max_connections": "200"}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 projects, short rounds: under two minutes")
    parser.add_argument("--projects", type=int, help="default 100,000 (10,000 with --quick)")
    parser.add_argument("--activities", type=int, help="default 5 per project")
    parser.add_argument("--partners", type=int, default=300)
    parser.add_argument("--fields", type=int, default=40)
    parser.add_argument("--years", type=int, default=60)
    parser.add_argument("--duration", type=int, help="seconds per wrk run (default 10; 2 with --quick)")
    parser.add_argument("--rounds", type=int, help="alternating rounds (default 3; 2 with --quick)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections, the same for every case")
    parser.add_argument("--threads-wrk", type=int, default=1, help="wrk threads (it shares the 2 cores)")
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers: 2 x cores + 1")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=2, help="threads per worker with --worker-class gthread")
    parser.add_argument("--writes", type=int, help="writes in the two-server check (default 20; 10 with --quick)")
    parser.add_argument("--results", default=str(ROOT / "bench" / "RESULTS.md"), help="where to write the table")
    parser.add_argument("--no-results", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    args.projects = args.projects or (10_000 if args.quick else 100_000)
    args.activities = args.activities if args.activities is not None else 5 * args.projects
    args.duration = args.duration or (2 if args.quick else 10)
    args.rounds = args.rounds or (2 if args.quick else 3)
    args.writes = args.writes or (10 if args.quick else 20)
    args.small_projects = max(args.projects // 10, 1)
    for name in ("projects", "partners", "fields", "years", "duration", "rounds", "connections", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return args


def open_databases(stack):
    """The URLs of the tracker's database and of its small copy, and which server holds them."""
    url, where = stack.enter_context(database.postgres(CLUSTER_SETTINGS))
    if where == "DATABASE_URL":
        database.refuse_real_data(url)
    small_url = database.with_database(url, f"{database.database_name(url)}_small")
    return url, small_url, f"{database.server_version(url)} ({where})"


def environments(url, small_url):
    """The servers' environments: for every server, the tracker's, its small copy's."""
    base = production_env(
        database_url=url,
        secret_key=secrets.token_urlsafe(50),
        CACHE_URL=REDIS_URL,
        CONN_MAX_AGE="600",
        # Throttling stays on, at a rate wrk never reaches, so its cost is measured.
        API_THROTTLE_ANON="1000000/second",
        API_THROTTLE_USER="1000000/second",
        LOG_LEVEL="WARNING",
    )
    return (
        base,
        {**base, "CACHE_KEY_PREFIX": "bench"},
        {**base, "DATABASE_URL": small_url, "CACHE_KEY_PREFIX": "bench-small"},
    )


def fill_databases(args, env, url, small_url):
    """Migrate the tracker's database, copy it to the small one, fill both."""
    started = time.monotonic()
    manage(env, "migrate", "-v0")
    database.recreate(url, database.database_name(small_url), template=database.database_name(url))
    log(f"migrated in {time.monotonic() - started:.1f} s")
    sizes = {"partners": args.partners, "fields": args.fields, "years": args.years, "out": sys.stdout}
    generate(url, projects=args.projects, activities=args.activities, **sizes)
    generate(small_url, projects=args.small_projects, activities=max(args.activities // 10, 1), **sizes)


class Servers:
    """The run's gunicorn servers by name (the names the cases give them), all with the
    benchmark's settings, the tracker's and the raw app's alike; stopped when the run ends."""

    def __init__(self, stack, args, workdir):
        self.stack, self.args, self.workdir = stack, args, workdir
        self.by_name = {}

    def serve(self, name, app, env, workers=None):
        args = self.args
        options = ["-w", str(workers or args.workers), "-k", args.worker_class, "--timeout", "300",
                   "--graceful-timeout", "5"]  # fmt: skip
        if args.worker_class == "gthread":
            options += ["--threads", str(args.threads)]
        server = Server(app, env, options, self.workdir / f"{name}.log")
        self.stack.callback(server.stop)
        self.by_name[name] = server
        return server

    def hosts(self):
        return [f"127.0.0.1:{server.port}" for server in self.by_name.values()]


def serve_app(servers, env_main, env_small):
    """The tracker: with and without the response cache, on the small database, and a
    second cached one for the two-server check."""
    servers.serve("app", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "true"})
    servers.serve("nocache", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "false"})
    servers.serve("small", "tracker.wsgi", {**env_small, "API_RESPONSE_CACHE": "false"})
    servers.serve("second", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "true"}, workers=2)
    for server in servers.by_name.values():
        server.wait()


def serve_raw(servers, env, names):
    """The raw app, its fixed body the cached server's own answer to the filtered list (its
    URLs name that server's port); the list's ETag and match count."""
    nocache, app, workdir = servers.by_name["nocache"], servers.by_name["app"], servers.workdir
    status, _, body = http("GET", nocache.base + LIST_PATH)
    if status != 200:
        raise SystemExit(f"the filtered list answered {status}: {body[:500]!r}\n{nocache.log_tail()}")
    listing = json.loads(body)
    _, headers, fixed = http("GET", app.base + LIST_PATH)
    etag = headers.get("ETag") or headers.get("Etag") or ""
    log(
        f"filtered list: {listing['count']} projects match, {len(listing['results'])} on the page, "
        f"{len(body)} bytes, ETag {etag or 'none'}"
    )
    (workdir / "names.json").write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
    (workdir / "fixed.json").write_bytes(fixed)
    raw_env = {
        **env,
        "BENCH_RAW_DSN": env["DATABASE_URL"],
        "BENCH_RAW_NAMES": str(workdir / "names.json"),
        "BENCH_FIXED_BODY": str(workdir / "fixed.json"),
        "BENCH_FIXED_ETAG": etag or '"fixed"',
    }
    servers.serve("raw", "bench.rawapp:application", raw_env).wait("/fixed")
    return etag, listing["count"]


def load_cases(args, stack, servers, targets, url, started):
    monitor = psycopg.connect(database.with_database(url, "postgres"), autocommit=True)
    stack.callback(monitor.close)
    main_db = database.database_name(url)
    load = Load(
        threads=args.threads_wrk,
        connections=args.connections,
        script_dir=servers.workdir,
        servers=list(servers.by_name.values()),
        monitor=monitor,
        databases=[main_db, f"{main_db}_small"],
    )
    log(
        f"warming up; then {args.rounds} rounds x {len(targets)} cases x {args.duration} s, wrk -t{args.threads_wrk} "
        f"-c{args.connections}, gunicorn {args.workers} {args.worker_class} workers"
    )
    load.warm_up(targets, quick=args.quick)
    load.rounds(targets, rounds=args.rounds, duration=args.duration, started=started)


def export_memory(servers, env_main):
    """The CSV export through a fresh one-worker server, so its peak memory is the export's own."""
    exporter = servers.serve("export", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "false"}, workers=1)
    exporter.wait()
    export = checks.csv_export(exporter, "/api/v1/projects/?format=csv")
    log(
        f"CSV export: {export['rows']:,} rows, {export['bytes'] / 1e6:.1f} MB in {export['seconds']:.1f} s, "
        f"worker peak {export['peak_mb']:.0f} MB"
    )
    return export


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    with ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)
        url, small_url, postgres = open_databases(stack)
        log(f"PostgreSQL {postgres}; Redis {REDIS_URL} (flushed)")
        cache = redis.Redis.from_url(REDIS_URL)
        cache.flushdb()

        env_base, env_main, env_small = environments(url, small_url)
        fill_databases(args, env_main, url, small_url)
        token = run_task(env_main, "editor_token", username="bench-editor")
        servers = Servers(stack, args, workdir)
        serve_app(servers, env_main, env_small)
        etag, matches = serve_raw(servers, env_base, run_task(env_main, "display_names"))
        last_cursor = run_task(env_main, "last_cursor", page_size=PAGE_SIZE)
        values = run_values(last_cursor=last_cursor, small_projects=args.small_projects)
        targets = [Target.of(case, servers=servers.by_name, values=values, etag=etag) for case in CASES]
        answers = checks.same_answers(targets, servers.hosts())
        checks.warn_unexpected_status(targets)
        load_cases(args, stack, servers, targets, url, started)
        export = export_memory(servers, env_main)
        app, second = servers.by_name["app"], servers.by_name["second"]
        fresh, stale = checks.two_servers(app, second, token, LIST_PATH, args.writes)
        log(f"two app servers: {fresh} of {args.writes} writes through one seen at once through the other")

        measured = report.Measured(
            figures={target.name: figures(target.rounds) for target in targets},
            matches=matches,
            answers=answers,
            export=export,
            fresh=fresh,
            stale=stale,
            writes=args.writes,
            ports=(app.port, second.port),
        )
        text, result_lines = report.build(args, targets, GOALS, measured, postgres=postgres, redis_url=REDIS_URL)
        report.show(text, result_lines)
        if not args.no_results:
            report.write(args.results, text, result_lines, quick=args.quick)
        cache.flushdb()
        log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
