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
4. Loads every case with wrk at the same concurrency and duration, in alternating rounds
   so that drift hits all alike; measures the CSV export's worker memory (VmHWM of the
   gunicorn worker) and the two-server freshness; prints a table, writes it to
   bench/RESULTS.md with the date and the machine, and ends with one `RESULT` line per goal.

Worker count: 2 cores. The app and PostgreSQL (and wrk) share them, and a request
spends part of its time waiting for PostgreSQL or Redis, so a few more processes than
cores keep both cores busy: gunicorn's own rule, 2 x cores + 1 = 5 sync workers. More
only adds memory and context switches; fewer leaves a core idle while a worker waits on
the database. The raw baselines get exactly the same settings, so the ratios compare
code, not server configuration.
"""

import argparse
import json
import os
import platform
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from urllib import parse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.generate import generate  # noqa: E402
from tracker.testing.pgcluster import PgCluster, free_port, wait_for_http  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/5"  # the benchmark's own Redis database: flushed, nothing else is
ASEAN = ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"]
FILTER = [("country", c) for c in ASEAN] + [("field", f"field-{i:02d}") for i in range(1, 21)] + [("year", "2020")]
SEARCH_QUERY = "maritime 0042"  # a word and a partner number: a few hundred matches at 100,000 projects
PAGE_SIZE = 50

SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user, _ = User.objects.get_or_create(username="bench-editor", defaults={"is_staff": True})
user.groups.add(Group.objects.get(name="Editors"))
token, _ = Token.objects.get_or_create(user=user)
print(token.key)
"""

NAMES = """
import json
from django_countries import countries
from projects.models import Project
print(json.dumps({"countries": {c.code: str(c.name) for c in countries},
                  "status": {k: str(v) for k, v in Project.Status.choices}}, ensure_ascii=False))
"""

# The cursor of the unfiltered list's last page, made with the API's own cursor order
# and encoding (empty where the API has no cursor paging).
LAST_CURSOR = """
try:
    from projects.models import PROJECT_CURSOR_KEYS, Project
    from tracker.apicache import encode_cursor
except ImportError:
    print("CURSOR=")
else:
    names = [f"_k{{i}}" for i in range(len(PROJECT_CURSOR_KEYS))]
    rows = Project.objects.public().annotate(**dict(zip(names, PROJECT_CURSOR_KEYS))).order_by(*names)
    total = rows.count()
    before_last = rows.values_list(*names)[max(total - {page_size} - 1, 0)]
    print("CURSOR=" + encode_cursor(list(before_last)))
"""

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "WRK requests=%d duration_us=%d status_errors=%d socket_errors=%d p50=%d p95=%d p99=%d bytes=%d\\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.bytes))
end
"""


class BenchCluster(PgCluster):
    """The throwaway cluster, with the memory a server for this data would be given."""

    def start(self):
        self._run(
            "pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"),
            "-o", f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c shared_buffers=512MB "
                  "-c work_mem=32MB -c max_connections=200",
            "start",
        )  # fmt: skip


def log(*args):
    print(*args, flush=True)


def _manage(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr[-4000:]}")
    return result.stdout.strip()


def _with_database(url, name):
    parts = parse.urlsplit(url)
    return parse.urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _refuse_real_data(url):
    """DATABASE_URL is wiped: refuse one that holds projects the generator did not make."""
    try:
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT count(*) FROM projects_project WHERE slug !~ '^project-[0-9]{6}$'").fetchone()
    except psycopg.errors.UndefinedTable:
        return
    except psycopg.OperationalError as exc:
        raise SystemExit(f"Cannot connect to DATABASE_URL: {exc}") from None
    if row and row[0]:
        raise SystemExit(
            f"DATABASE_URL holds {row[0]} real projects; the benchmark wipes its database. "
            "Point DATABASE_URL at an empty database of its own (or unset it for a throwaway cluster)."
        )


def _recreate(admin_url, name, template=None):
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


class Server:
    """One gunicorn: the tracker or the raw app."""

    def __init__(self, name, app, env, args, logdir, workers=None):
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = logdir / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable, "-m", "gunicorn", app, "-b", f"127.0.0.1:{self.port}",
            "-w", str(workers or args.workers), "-k", args.worker_class, "--timeout", "300", "--graceful-timeout", "5",
        ]  # fmt: skip
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, path="/healthz"):
        wait_for_http(self.base + path, timeout=60)

    def workers(self):
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def log_tail(self, size=4000):
        self.log.flush()
        text = (self.log_path).read_text(errors="replace")
        return text[-size:]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def vm_kb(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def http(method, url, body=None, headers=None, timeout=300):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Accept": "application/json"})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Case:
    def __init__(self, name, server, path, headers=None, counterpart=None, what="", expect=200):
        self.name, self.server, self.path = name, server, path
        self.headers = headers or {}
        self.counterpart, self.what, self.expect = counterpart, what, expect
        self.rounds = []

    @property
    def url(self):
        return self.server.base + self.path

    def stats(self):
        requests = sum(r["requests"] for r in self.rounds)
        seconds = sum(r["duration_us"] for r in self.rounds) / 1e6

        # A round in which no request finished has no latencies: it counts as infinitely slow.
        def median(name):
            values = [r[name] / 1000 if r["requests"] else float("inf") for r in self.rounds]
            return statistics.median(values)

        return {
            "rps": requests / seconds if seconds else 0.0,
            "p50": median("p50"),
            "p95": median("p95"),
            "p99": median("p99"),
            "errors": sum(r["status_errors"] + r["socket_errors"] for r in self.rounds),
            "requests": requests,
        }


def wrk(case, args, duration, script):
    command = ["wrk", "-t", str(args.threads_wrk), "-c", str(args.connections), "-d", f"{duration}s",
               "--timeout", "60s", "-s", script]  # fmt: skip
    for key, value in case.headers.items():
        command += ["-H", f"{key}: {value}"]
    command.append(case.url)
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
    match = re.search(r"^WRK (.*)$", result.stdout, re.M)
    if not match:
        raise SystemExit(f"wrk failed for {case.name}:\n{result.stdout}\n{result.stderr}")
    return {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def _cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def settle(servers, monitor, databases, limit=300):
    """Wait until no worker is still busy with the last case's requests (wrk stops
    sending, but a sync worker finishes what it has started), so that slow requests do
    not eat into the next case: no worker CPU and no active query for three samples."""
    started = time.monotonic()
    pids = [pid for server in servers for pid in server.workers()]
    last, quiet = _cpu_ticks(pids), 0
    while time.monotonic() - started < limit:
        time.sleep(0.1)
        now = _cpu_ticks(pids)
        active = monitor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = ANY(%s) "
            "AND pid <> pg_backend_pid()",
            [databases],
        ).fetchone()[0]
        quiet = quiet + 1 if now == last and not active else 0
        if quiet >= 3:
            break
        last = now
    return time.monotonic() - started


def same_json(a, b, hosts):
    """Equal once each server's own host:port in the URLs is written the same way."""

    def normal(raw):
        text = raw.decode()
        for host in hosts:
            text = text.replace(host, "HOST")
        return text

    left, right = normal(a), normal(b)
    return json.loads(left) == json.loads(right), left == right


def csv_export(server, path):
    """Stream the whole CSV export; the serving worker's peak memory (VmHWM), rows, time."""
    before = {pid: vm_kb(pid, "VmHWM") for pid in server.workers()}
    started = time.monotonic()
    request = urllib.request.Request(server.base + path, headers={"Accept": "text/csv"})
    size, lines, first_byte = 0, 0, None
    with urllib.request.urlopen(request, timeout=1800) as response:
        status = response.status
        while chunk := response.read(1 << 16):
            if first_byte is None:
                first_byte = time.monotonic() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
    elapsed = time.monotonic() - started
    after = {pid: vm_kb(pid, "VmHWM") for pid in server.workers()}
    grown = {pid: after[pid] - before.get(pid, 0) for pid in after}
    worker = max(grown, key=grown.get) if grown else None
    return {
        "status": status,
        "rows": max(lines - 1, 0),
        "bytes": size,
        "seconds": elapsed,
        "first_byte": first_byte or elapsed,
        "peak_mb": (after.get(worker, 0) / 1024) if worker else 0.0,
        "grew_mb": (grown.get(worker, 0) / 1024) if worker else 0.0,
    }


def two_servers(a, b, token, path, writes):
    """Writes through A, reads at once through B (both cached, one PostgreSQL, one Redis)."""
    fresh, stale = 0, []
    auth = {"Authorization": f"Token {token}"}
    for k in range(writes):
        status, _, body = http("GET", b.base + path)  # B has the page in its cache
        results = json.loads(body)["results"]
        slug = results[k % len(results)]["slug"]
        text = f"bench write {k} {secrets.token_hex(4)}"
        status, _, body = http("PATCH", f"{a.base}/api/v1/projects/{slug}/", {"description": text}, auth)
        if status != 200:
            raise SystemExit(f"the write through server A failed: {status} {body[:300]!r}")
        listing = json.loads(http("GET", b.base + path)[2])["results"]
        detail = json.loads(http("GET", f"{b.base}/api/v1/projects/{slug}/")[2])
        seen = [p["description"] for p in listing if p["slug"] == slug]
        if seen == [text] and detail["description"] == text:
            fresh += 1
        else:
            stale.append(slug)
    return fresh, stale


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GB RAM, {system}, Python {platform.python_version()}"


def main(argv=None):
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
    small_projects = max(args.projects // 10, 1)
    for name in ("projects", "partners", "fields", "years", "duration", "rounds", "connections", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")

    import redis

    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
        stack.callback(shutil.rmtree, tmp, ignore_errors=True)

        database_url = os.environ.get("DATABASE_URL", "")
        if database_url.startswith("postgres"):
            _refuse_real_data(database_url)
            where = "DATABASE_URL"
        else:
            cluster = BenchCluster()
            stack.callback(cluster.close)
            cluster.init()
            database_url = cluster.url
            where = "a throwaway cluster"
        main_db = parse.urlsplit(database_url).path.lstrip("/")
        small_db = f"{main_db}_small"
        admin_url = _with_database(database_url, "postgres")
        small_url = _with_database(database_url, small_db)
        with psycopg.connect(admin_url) as conn:
            pg_version = conn.execute("SHOW server_version").fetchone()[0]
        log(f"PostgreSQL {pg_version} ({where}); Redis {REDIS_URL} (flushed)")

        cache = redis.Redis.from_url(REDIS_URL)
        cache.flushdb()
        secret = secrets.token_urlsafe(50)
        base_env = {
            **os.environ,
            "DEBUG": "false",
            "SECRET_KEY": secret,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            # Static files as they are: the pages under test link to them, they are not loaded.
            "STATIC_MANIFEST": "false",
            "CACHE_URL": REDIS_URL,
            "CONN_MAX_AGE": "600",
            # Throttling stays on, at a rate wrk never reaches, so its cost is measured.
            "API_THROTTLE_ANON": "1000000/second",
            "API_THROTTLE_USER": "1000000/second",
            "LOG_LEVEL": "WARNING",
        }
        env_main = {**base_env, "DATABASE_URL": database_url, "CACHE_KEY_PREFIX": "bench"}
        env_small = {**base_env, "DATABASE_URL": small_url, "CACHE_KEY_PREFIX": "bench-small"}

        t = time.monotonic()
        _manage(env_main, "migrate", "-v0")
        _recreate(admin_url, small_db, template=main_db)
        log(f"migrated in {time.monotonic() - t:.1f} s")
        generate(database_url, projects=args.projects, activities=args.activities, partners=args.partners,
                 fields=args.fields, years=args.years, out=sys.stdout)  # fmt: skip
        generate(small_url, projects=small_projects, activities=max(args.activities // 10, 1),
                 partners=args.partners, fields=args.fields, years=args.years, out=sys.stdout)  # fmt: skip
        token = _manage(env_main, "shell", "-c", SETUP).splitlines()[-1]
        names = tmp / "names.json"
        names.write_text(_manage(env_main, "shell", "-c", NAMES).splitlines()[-1], encoding="utf-8")
        output = _manage(env_main, "shell", "-c", LAST_CURSOR.format(page_size=PAGE_SIZE))
        last_cursor = re.search(r"^CURSOR=(.*)$", output, re.M).group(1).strip()

        servers = []

        def serve(name, app, env, workers=None):
            server = Server(name, app, env, args, tmp, workers)
            servers.append(server)
            stack.callback(server.stop)
            return server

        app = serve("app", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "true"})
        nocache = serve("app-nocache", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "false"})
        small = serve("app-small", "tracker.wsgi", {**env_small, "API_RESPONSE_CACHE": "false"})
        second = serve("app-second", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "true"}, workers=2)
        for server in servers:
            server.wait()

        query = parse.urlencode(FILTER + [("page_size", PAGE_SIZE)])
        list_path = f"/api/v1/projects/?{query}"
        status, _, list_body = http("GET", nocache.base + list_path)
        if status != 200:
            raise SystemExit(f"the filtered list answered {status}: {list_body[:500]!r}\n{nocache.log_tail()}")
        listing = json.loads(list_body)
        # The ETag of the cached server's own answer (its URLs name its own port).
        _, app_headers, app_body = http("GET", app.base + list_path)
        etag = app_headers.get("ETag") or app_headers.get("Etag") or ""
        log(f"filtered list: {listing['count']} projects match, {len(listing['results'])} on the page, "
            f"{len(list_body)} bytes, ETag {etag or 'none'}")  # fmt: skip
        fixed_body = tmp / "fixed.json"
        fixed_body.write_bytes(app_body)
        raw_env = {**base_env, "BENCH_RAW_DSN": database_url, "BENCH_RAW_NAMES": str(names),
                   "BENCH_FIXED_BODY": str(fixed_body), "BENCH_FIXED_ETAG": etag or '"fixed"'}  # fmt: skip
        raw = serve("raw", "bench.rawapp:application", raw_env)
        raw.wait("/fixed")

        search_query = parse.urlencode([("q", SEARCH_QUERY), ("page_size", PAGE_SIZE)])
        counts_query = "group_by=field,year"
        cursor_supported = bool(last_cursor)
        if cursor_supported:
            first_path = f"/api/v1/projects/?cursor=&page_size={PAGE_SIZE}"
            last_path = f"/api/v1/projects/?{parse.urlencode({'cursor': last_cursor, 'page_size': PAGE_SIZE})}"
        else:
            total = json.loads(http("GET", nocache.base + "/api/v1/projects/?page_size=1")[2])["count"]
            first_path = f"/api/v1/projects/?page_size={PAGE_SIZE}"
            last_path = f"/api/v1/projects/?page_size={PAGE_SIZE}&page={max(1, -(-total // PAGE_SIZE))}"
        deep = "cursor" if cursor_supported else "offset (no cursor paging yet)"

        cases = [
            Case("list_raw", raw, f"/raw/projects/?{query}", what="raw SQL + JSON, filtered list"),
            Case("list_api", nocache, list_path, counterpart="list_raw", what="API list, filtered, no response cache"),
            Case("fixed", raw, "/fixed", what="fixed pre-built body (the list's bytes)"),
            Case("list_cached", app, list_path, counterpart="fixed", what="API list repeated, response cache"),
            Case("fixed_304", raw, "/fixed-304", what="fixed empty 304", expect=304),
            Case("list_etag", app, list_path, {"If-None-Match": etag or '"none"'}, counterpart="fixed_304",
                 what="API list repeated with If-None-Match", expect=304 if etag else 200),  # fmt: skip
            Case("page_public", nocache, f"/projects/?{parse.urlencode(FILTER)}", counterpart="list_raw",
                 what="public /projects/ page, same filters"),  # fmt: skip
            Case("counts_raw", raw, f"/raw/reports/counts/?{counts_query}", what="raw GROUP BY field, year"),
            Case("counts_api", nocache, f"/api/v1/reports/counts/?{counts_query}", counterpart="counts_raw",
                 what="counts report group_by=field,year"),  # fmt: skip
            Case("search_raw", raw, f"/raw/projects/?{search_query}", what="raw full-text search"),
            Case("search_api", nocache, f"/api/v1/projects/?{search_query}", counterpart="search_raw",
                 what=f"API q={SEARCH_QUERY!r}"),  # fmt: skip
            Case("deep_first", nocache, first_path, what=f"unfiltered list, first page, {deep}"),
            Case("deep_last", nocache, last_path, counterpart="deep_first", what=f"unfiltered list, last page, {deep}"),
            Case("list_small", small, list_path,
                 what=f"API list, filtered, no response cache, {small_projects:,} projects"),
        ]  # fmt: skip
        by_name = {c.name: c for c in cases}

        # The baselines must answer what the app answers.
        hosts = [f"127.0.0.1:{server.port}" for server in servers]
        checks = {}
        for raw_case, app_case in (
            ("list_raw", "list_api"),
            ("counts_raw", "counts_api"),
            ("search_raw", "search_api"),
        ):
            _, _, raw_body = http("GET", by_name[raw_case].url)
            app_status, _, app_body = http("GET", by_name[app_case].url)
            if app_status != 200:
                server = by_name[app_case].server
                raise SystemExit(f"{app_case} answered {app_status}: {app_body[:500]!r}\n{server.log_tail()}")
            equal, identical = same_json(raw_body, app_body, hosts)
            checks[app_case] = "byte-identical" if identical else ("same JSON" if equal else "DIFFERENT JSON")
            log(f"{app_case} vs {raw_case}: {checks[app_case]} ({len(app_body)} bytes)")
        for case in cases:
            status, _, _ = http("GET", case.url, headers=case.headers)
            if status != case.expect:
                log(f"warning: {case.name} answers {status}, expected {case.expect}\n{case.server.log_tail(1500)}")

        monitor = psycopg.connect(admin_url, autocommit=True)
        stack.callback(monitor.close)
        script = tmp / "report.lua"
        script.write_text(WRK_SCRIPT)
        log(
            f"warming up; then {args.rounds} rounds x {len(cases)} cases x {args.duration} s, wrk -t{args.threads_wrk} "
            f"-c{args.connections}, gunicorn {args.workers} {args.worker_class} workers"
        )
        for case in cases:
            if args.quick:
                for _ in range(3):
                    http("GET", case.url, headers=case.headers)
            else:
                wrk(case, args, 2, str(script))
            settle(servers, monitor, [main_db, small_db])
        for r in range(args.rounds):
            order = cases[r % len(cases) :] + cases[: r % len(cases)]
            if r % 2:
                order.reverse()
            for case in order:
                case.rounds.append(wrk(case, args, args.duration, str(script)))
                waited = settle(servers, monitor, [main_db, small_db])
                if waited > 2:
                    log(f"  {case.name}: requests still running {waited:.0f} s after wrk stopped")
            log(f"round {r + 1} of {args.rounds} done ({time.monotonic() - started:.0f} s)")

        # A fresh one-worker server for the export, so its peak memory is the export's own.
        exporter = serve("app-export", "tracker.wsgi", {**env_main, "API_RESPONSE_CACHE": "false"}, workers=1)
        exporter.wait()
        export = csv_export(exporter, "/api/v1/projects/?format=csv")
        log(f"CSV export: {export['rows']:,} rows, {export['bytes'] / 1e6:.1f} MB in {export['seconds']:.1f} s, "
            f"worker peak {export['peak_mb']:.0f} MB")  # fmt: skip
        fresh, stale = two_servers(app, second, token, list_path, args.writes)
        log(f"two app servers: {fresh} of {args.writes} writes through one seen at once through the other")

        stats = {c.name: c.stats() for c in cases}

        def ratio(name):
            other = by_name[name].counterpart
            return stats[name]["rps"] / stats[other]["rps"] if other and stats[other]["rps"] else None

        deep_cost = (
            stats["deep_first"]["rps"] / stats["deep_last"]["rps"] if stats["deep_last"]["rps"] else float("inf")
        )
        search_p95 = stats["search_api"]["p95"] / stats["search_raw"]["p95"] if stats["search_raw"]["p95"] else None
        scale = stats["list_api"]["rps"] / stats["list_small"]["rps"] if stats["list_small"]["rps"] else None
        goals = [
            ("list_filtered", ratio("list_api"), ">= 0.30", lambda v: v >= 0.30),
            ("list_repeat_cached", ratio("list_cached"), ">= 0.80", lambda v: v >= 0.80),
            ("list_repeat_etag", ratio("list_etag"), ">= 0.80", lambda v: v >= 0.80),
            ("public_page", ratio("page_public"), ">= 0.20", lambda v: v >= 0.20),
            ("counts_field_year", ratio("counts_api"), ">= 0.50", lambda v: v >= 0.50),
            ("search_p95_vs_raw", search_p95, "< 3", lambda v: v < 3),
            ("cursor_last_vs_first_cost", deep_cost if cursor_supported else None, "<= 1.5", lambda v: v <= 1.5),
            ("csv_export_peak_mb", export["peak_mb"], "< 200", lambda v: v < 200),
            ("scale_100k_vs_10k" if not args.quick else "scale_vs_tenth", scale, ">= 0.80", lambda v: v >= 0.80),
            ("two_servers_fresh_reads", fresh / args.writes, "= 1", lambda v: v == 1),
        ]

        lines = [
            "| case | what | req/s | p50 ms | p95 ms | p99 ms | ratio | errors |",
            "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for case in cases:
            s = stats[case.name]
            r = ratio(case.name)
            rtext = f"{r:.2f} of {case.counterpart}" if r is not None else ""
            if case.name == "deep_last" and deep_cost:
                rtext = f"cost {deep_cost:.2f}x deep_first"
            if case.name == "search_api" and search_p95:
                rtext += f"; p95 {search_p95:.2f}x raw"
            if case.name == "list_small" and scale:
                rtext = f"list_api is {scale:.2f} of this"
            lines.append(
                f"| {case.name} | {case.what} | {s['rps']:.0f} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} "
                f"| {rtext} | {s['errors']} |"
            )
        table = "\n".join(lines)
        extra = [
            f"CSV export of every published project (`/api/v1/projects/?format=csv`): {export['rows']:,} rows, "
            f"{export['bytes'] / 1e6:.1f} MB in {export['seconds']:.1f} s (first byte after "
            f"{export['first_byte']:.2f} s); the serving worker's peak resident memory (VmHWM) "
            f"{export['peak_mb']:.0f} MB, {export['grew_mb']:.0f} MB more than before the export.",
            f"Two app servers (ports {app.port} and {second.port}) on one PostgreSQL and one Redis: "
            f"{fresh} of {args.writes} writes through the first were seen at once through the second "
            f"(list and detail){'; stale: ' + ', '.join(stale) if stale else ''}.",
            "Same answers: " + ", ".join(f"{k} {v}" for k, v in checks.items()) + " (against the raw app).",
        ]
        result_lines = []
        goal_lines = ["| goal | value | target | met |", "| --- | ---: | --- | --- |"]
        for name, value, target, test in goals:
            if value is not None and value != value:  # NaN: nothing finished on either side
                value = None
            text = "n/a" if value is None else f"{value:.2f}"
            result_lines.append(f"RESULT {name} {text}")
            met = "n/a" if value is None else ("yes" if test(value) else "NO")
            goal_lines.append(f"| {name} | {text} | {target} | {met} |")

        header = (
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; PostgreSQL {pg_version} ({where}), "
            f"Redis {REDIS_URL}.\n\n{args.projects:,} projects, {args.activities:,} activities, {args.partners} "
            f"partners, {args.fields} fields, {args.years} years (small database: {small_projects:,} projects). "
            f"gunicorn {args.workers} {args.worker_class} workers per server; wrk -t{args.threads_wrk} "
            f"-c{args.connections}, {args.rounds} alternating rounds of {args.duration} s per case; "
            f"p50/p95/p99 are the medians over the rounds. Filter: `{parse.urlencode(FILTER)}`, "
            f"{listing['count']:,} matches, {PAGE_SIZE} per page."
        )
        report = "\n\n".join([header, table, "\n".join(f"- {e}" for e in extra), "\n".join(goal_lines)])
        print()
        print(report)
        print()
        print("\n".join(result_lines))
        if not args.no_results:
            command = "make bench" + (" ARGS=--quick" if args.quick else "")
            Path(args.results).write_text(
                "# Benchmark results\n\n"
                f"Written by `{command}` (bench/run.py). The 2 cores are shared with PostgreSQL, Redis, wrk and, "
                "on a shared machine, whatever else runs: figures are noisy; the ratios, measured in one run "
                "with alternating rounds, are what to compare.\n\n"
                f"{report}\n\n```\n" + "\n".join(result_lines) + "\n```\n",
                encoding="utf-8",
            )
        cache.flushdb()
        log(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
