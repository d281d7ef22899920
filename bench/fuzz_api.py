"""Fuzz the live API with schemathesis, against PostgreSQL, from its own OpenAPI schema.

    python bench/fuzz_api.py [--max-examples 300] [--seeds 20261125,20261202]
                             [--personas editor,liaison,anonymous] [-- extra st options]

Creates a database of its own on the PostgreSQL server of DATABASE_URL (dropped and
made anew each run; a throwaway cluster when DATABASE_URL is not PostgreSQL), migrates,
loads the seed data, creates an editor and a partner's liaison officer with API tokens
(one seed project made releasable to the liaison's partner), serves the app with gunicorn
under production settings on loopback, and runs `st run` with every check and every
phase (examples, coverage, fuzzing, stateful) once per persona (an editor with a token, a
liaison officer with a token, an anonymous client) and seed. The checks' configuration is in schemathesis.toml (see
the README for what it tunes and why). Exits non-zero when any run finds anything.
"""

import argparse
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: python bench/fuzz_api.py

from bench.common import manage, run_task  # noqa: E402
from bench.database import postgres, recreate  # noqa: E402
from bench.servers import Server, production_env  # noqa: E402

DATABASE = "tracker_schemathesis"

# How each persona calls the API: the options for `st run`.
PERSONAS = {
    "editor": lambda tokens: ["--header", f"Authorization: Token {tokens['editor']}"],
    "liaison": lambda tokens: ["--header", f"Authorization: Token {tokens['liaison']}"],
    "anonymous": lambda tokens: [],
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=300, help="examples per operation (at least 1)")
    parser.add_argument("--seeds", default="20261125,20261202", help="schemathesis's random seeds, comma-separated")
    parser.add_argument(
        "--personas", default="editor,liaison,anonymous", help="who calls: editor, liaison, anonymous (comma-separated)"
    )
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
        server_url, _ = stack.enter_context(postgres())
        env = production_env(
            database_url=recreate(server_url, DATABASE),
            secret_key="api-fuzz-harness-only-key",
            API_THROTTLE_ANON="10000000/minute",
            API_THROTTLE_USER="10000000/minute",
            SCHEMATHESIS_HOOKS="bench.schemathesis_hooks",
            PYTHONPATH=str(ROOT),
        )
        manage(env, "migrate", "-v0")
        manage(env, "seed")
        tokens = {
            "editor": run_task(env, "editor_token", username="fuzz-editor"),
            "liaison": run_task(env, "liaison_token", username="fuzz-liaison", partner="vietnam"),
        }
        (ROOT / "test-artifacts").mkdir(exist_ok=True)
        log_path = ROOT / "test-artifacts" / "fuzz-api-server.log"
        server = Server("tracker.wsgi", env, ["-w", str(args.workers), "--timeout", "60"], log_path)
        stack.callback(server.stop)
        server.wait()

        failures = []
        for persona in personas:
            for seed in seeds:
                command = [
                    str(Path(sys.executable).with_name("st")), "run", f"{server.base}/api/v1/schema/",
                    "--checks", "all",
                    "--phases", "examples,coverage,fuzzing,stateful",
                    "--max-examples", str(args.max_examples),
                    "--seed", str(seed),
                    "--workers", str(args.workers),
                    "--no-color",
                    "--generation-database", "none",
                    *PERSONAS[persona](tokens),
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
