"""Concurrent editors: N clients repeatedly read one project and write it back with If-Match.

    python bench/stress.py --clients 8 --rounds 1000

Serves the app with gunicorn on PostgreSQL (DATABASE_URL, or a throwaway cluster it
starts and removes itself), loopback only. In every round all clients GET the project
(same ETag), then all PATCH it at once with `If-Match`: exactly one must win (200) and
every other must get 412. At the end the project's history must hold one record per
successful write (plus its creation), and its state must be the last winner's write.
Prints its figures and exits non-zero on any lost update or broken round.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.testing.pgcluster import free_port, pg_cluster, wait_for_http  # noqa: E402

SETUP = """
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from partners.models import Partner
from projects.models import Field, Program, Project
user, _ = User.objects.get_or_create(username="stress-editor", defaults={"is_staff": True})
user.groups.add(Group.objects.get(name="Editors"))
token, _ = Token.objects.get_or_create(user=user)
partner, _ = Partner.objects.get_or_create(slug="stress-partner", defaults={
    "name": "Stress partner", "country": "VN", "region": "southeast_asia"})
field, _ = Field.objects.get_or_create(slug="stress-field", defaults={"name": "Stress field"})
program, _ = Program.objects.get_or_create(slug="stress-program", defaults={"name": "Stress program"})
Project.objects.filter(slug="stress-project").delete()
project = Project.objects.create(slug="stress-project", title="Stress project", program=program,
                                 start_year=2020, published=True)
project.partners.add(partner)
project.fields.add(field)
print(token.key)
"""

FINAL_STATE = """
import json
from projects.models import Project
project = Project.objects.get(slug="stress-project")
print(json.dumps({"history": project.history.count(), "description": project.description,
                  "version": project.version}))
"""


def _manage(env, *args, stdin=None):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout.strip()


def _request(method, url, token, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"Token {token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def run(base, token, clients, rounds, deadline):
    url = f"{base}/api/v1/projects/stress-project/"
    barrier = threading.Barrier(clients)
    results = [[None] * clients for _ in range(rounds)]
    errors = []

    def client(index):
        for r in range(rounds):
            if time.monotonic() > deadline:
                errors.append(f"client {index}: time limit reached in round {r}")
                barrier.abort()
                return
            try:
                status, headers, _ = _request("GET", url, token)
                etag = headers.get("ETag") or headers.get("Etag")
                if status != 200 or not etag:
                    errors.append(f"round {r} client {index}: GET answered {status} without an ETag")
                barrier.wait()  # everyone holds the same version before anyone writes
                body = {"description": f"round {r} client {index}"}
                status, _, _ = _request("PATCH", url, token, body, {"If-Match": etag})
                results[r][index] = status
                barrier.wait()  # the round is over for everyone before the next read
            except threading.BrokenBarrierError:
                return

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="parallel writers, 2 to 16")
    parser.add_argument("--rounds", type=int, default=1000, help="rounds (the issue asks for at least 1,000)")
    parser.add_argument("--time-limit", type=float, default=600, help="seconds before the run gives up")
    args = parser.parse_args(argv)
    if not 2 <= args.clients <= 16:
        parser.error("--clients must be between 2 and 16")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    with ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL", "")
        if not database_url.startswith("postgres"):
            database_url = stack.enter_context(pg_cluster()).url
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": os.environ.get("SECRET_KEY", "stress-harness-only-key"),
            "DEBUG": "false",
            "SECURE_SSL_REDIRECT": "false",
            "STATIC_MANIFEST": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "API_THROTTLE_ANON": "100000/minute",
            "API_THROTTLE_USER": "1000000/minute",
        }
        _manage(env, "migrate", "-v0")
        token = _manage(env, "shell", "-c", SETUP).splitlines()[-1]
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "tracker.wsgi", "-b", f"127.0.0.1:{port}",
             "-w", "2", "-k", "gthread", "--threads", str(args.clients), "--timeout", "60"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        stack.callback(server.wait, timeout=15)
        stack.callback(server.terminate)
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/healthz")

        # Creating the project and linking its partner and field write history records of
        # their own: count the records the run adds, from here.
        initial = json.loads(_manage(env, "shell", "-c", FINAL_STATE).splitlines()[-1])
        started = time.monotonic()
        results, errors = run(base, token, args.clients, args.rounds, started + args.time_limit)
        elapsed = time.monotonic() - started
        final = json.loads(_manage(env, "shell", "-c", FINAL_STATE).splitlines()[-1])
        figures = summarize(results, initial, final)

        print(f"clients {args.clients}, rounds {figures['rounds']} of {args.rounds}, {elapsed:.1f} s")
        print(
            f"successful writes {figures['wins']}, refused with 412 {figures['refused']}, "
            f"other answers {figures['other']}, rounds without exactly one winner {len(figures['bad_rounds'])}"
        )
        print(
            f"history records added {figures['history_added']} (must equal the successful writes), "
            f"version {initial['version']} -> {final['version']}"
        )
        print(f"final description {final['description']!r}, last winner {figures['last_winner']!r}")
        print(f"lost updates {figures['lost_updates']}")
        failed = (
            errors
            or figures["bad_rounds"]
            or figures["lost_updates"]
            or figures["history_added"] != figures["wins"]
            or final["version"] - initial["version"] != figures["wins"]
            or final["description"] != figures["last_winner"]
            or figures["rounds"] != args.rounds
        )
        for error in errors[:10]:
            print("error:", error)
        if figures["bad_rounds"]:
            bad = figures["bad_rounds"]
            print("rounds without exactly one winner:", bad[:10], [results[i] for i in bad[:3]])
        print("RESULT stress", "FAIL" if failed else "OK")
        return 1 if failed else 0


def summarize(results, initial, final):
    """The run's figures from each round's answers and the project's state before and after.

    A lost update is a successful write that does not survive as it should: a second
    winner in a round (both wrote over the same version: one of them overwrote the other
    unseen), or a success that left no history record."""
    completed = [row for row in results if None not in row]
    wins = sum(row.count(200) for row in completed)
    history_added = final["history"] - initial["history"]
    last_winner = None
    for r, row in enumerate(completed):
        if 200 in row:
            last_winner = f"round {r} client {len(row) - 1 - row[::-1].index(200)}"
    return {
        "rounds": len(completed),
        "wins": wins,
        "refused": sum(row.count(412) for row in completed),
        "other": sum(len(row) - row.count(200) - row.count(412) for row in completed),
        "bad_rounds": [i for i, row in enumerate(completed) if row.count(200) != 1 or row.count(412) != len(row) - 1],
        "history_added": history_added,
        "last_winner": last_winner,
        "lost_updates": sum(max(row.count(200) - 1, 0) for row in completed) + max(wins - history_added, 0),
    }


if __name__ == "__main__":
    sys.exit(main())
