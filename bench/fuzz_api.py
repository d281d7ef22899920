"""Fuzz the live API with schemathesis, against PostgreSQL, from its own OpenAPI schema.

    python bench/fuzz_api.py [--max-examples 300] [--seeds 20261125,20261202]
                             [--personas editor,anonymous] [-- extra st options]

Creates a database of its own on the PostgreSQL server of DATABASE_URL (dropped and
made anew each run; a throwaway cluster when DATABASE_URL is not PostgreSQL), migrates,
loads the seed data, creates an editor with an API token, serves the app with gunicorn
under production settings on loopback, and runs `st run` with every check and every
phase (examples, coverage, fuzzing, stateful) once per persona (an editor with a token,
an anonymous client) and seed. The checks' configuration is in schemathesis.toml (see
the README for what it tunes and why). Exits non-zero when any run finds anything.
"""

import argparse
import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.testing.pgcluster import free_port, pg_cluster, wait_for_http  # noqa: E402

DATABASE = "tracker_schemathesis"

SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
user = User.objects.create_user("fuzz-editor", is_staff=True)
user.groups.add(Group.objects.get(name="Editors"))
print(Token.objects.create(user=user).key)
"""


# How each persona calls the API: the options for `st run`.
PERSONAS = {
    "editor": lambda token: ["--header", f"Authorization: Token {token}"],
    "anonymous": lambda token: [],
}


def _manage(env, *args):
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()


def _fresh_database(server_url):
    """Drop and create DATABASE on the server of `server_url`; return its URL."""
    import psycopg

    parts = urlsplit(server_url)
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    return urlunsplit(parts._replace(path=f"/{DATABASE}"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=300, help="examples per operation (at least 1)")
    parser.add_argument("--seeds", default="20261125,20261202", help="schemathesis's random seeds, comma-separated")
    parser.add_argument("--personas", default="editor,anonymous", help="who calls: editor, anonymous (comma-separated)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (and schemathesis workers)")
    parser.add_argument("extra", nargs="*", help="further options for `st run`, after --")
    args = parser.parse_args(argv)
    if args.max_examples < 1:
        parser.error("--max-examples must be at least 1")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        parser.error("--seeds must be whole numbers separated by commas")
    personas = [p.strip() for p in args.personas.split(",") if p.strip()]
    unknown = set(personas) - set(PERSONAS)
    if unknown or not personas:
        parser.error(f"--personas takes {', '.join(PERSONAS)}; got {args.personas!r}")

    with ExitStack() as stack:
        server_url = os.environ.get("DATABASE_URL", "")
        if not server_url.startswith("postgres"):
            server_url = stack.enter_context(pg_cluster()).url
        env = {
            **os.environ,
            "DATABASE_URL": _fresh_database(server_url),
            "SECRET_KEY": "api-fuzz-harness-only-key",
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "API_THROTTLE_ANON": "10000000/minute",
            "API_THROTTLE_USER": "10000000/minute",
            "SCHEMATHESIS_HOOKS": "bench.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
        }
        _manage(env, "migrate", "-v0")
        _manage(env, "seed")
        token = _manage(env, "shell", "-c", SETUP).splitlines()[-1]
        port = free_port()
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        log = stack.enter_context(open(ROOT / "test-artifacts" / "fuzz-api-server.log", "w"))
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tracker.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", str(args.workers), "--timeout", "60"],
            cwd=ROOT, env=env, stdout=log, stderr=log,
        )  # fmt: skip
        stack.callback(server.wait, timeout=15)
        stack.callback(server.terminate)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz")

        failures = []
        for persona in personas:
            for seed in seeds:
                command = [
                    str(Path(sys.executable).with_name("st")), "run", f"{base}/api/v1/schema/",
                    "--checks", "all",
                    "--phases", "examples,coverage,fuzzing,stateful",
                    "--max-examples", str(args.max_examples),
                    "--seed", str(seed),
                    "--workers", str(args.workers),
                    "--no-color",
                    "--generation-database", "none",
                    *PERSONAS[persona](token),
                    *args.extra,
                ]  # fmt: skip
                shown = [c if not c.startswith("Authorization") else "Authorization: Token ***" for c in command]
                print(f"\n=== schemathesis as {persona}, seed {seed}\n$", " ".join(shown), flush=True)
                if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
                    failures.append(f"{persona} seed {seed}")
        print(f"\nschemathesis runs: {len(personas) * len(seeds)}; failed: {', '.join(failures) or 'none'}")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
