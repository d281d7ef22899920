"""What the harnesses in bench/ share: the project's root, logging, running manage.py and
the Django tasks (bench/tasks.py) in a process of their own, and a small HTTP client."""

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(*args):
    print(*args, flush=True)


def _run_python(env, args, what):
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise SystemExit(f"{what} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout.strip()


def manage(env, *args):
    """Run a management command with `env`; its output."""
    return _run_python(env, ["manage.py", *args], f"manage.py {' '.join(args)}")


def run_task(env, name, **kwargs):
    """Run bench/django_tasks.py's `name` with `env` (the database, the settings of the
    servers under test) and these keyword arguments; its result."""
    output = _run_python(env, ["-m", "bench.tasks", name, json.dumps(kwargs)], f"the task {name}")
    return json.loads(output.splitlines()[-1])


def http(method, url, body=None, headers=None, timeout=300):
    """One request with a JSON body, if any; (status, headers, body) whatever the status."""
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
