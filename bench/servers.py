"""gunicorn servers for the harnesses, the tracker's or the raw app's, on free loopback
ports, under production settings (DEBUG off)."""

import os
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT
from harness.pgcluster import free_port, wait_for_http


def production_env(*, database_url, secret_key, **settings):
    """The environment of a tracker served as in production, on loopback over plain HTTP,
    plus `settings` (more environment variables)."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        # Static files as they are: pages link to them, the harnesses do not load them.
        "STATIC_MANIFEST": "false",
        **settings,
    }


class Server:
    """One gunicorn serving `app` (a WSGI path) with `env` and the gunicorn `options`; its
    output goes to `log_path` (nowhere when None)."""

    def __init__(self, app, env, options, log_path=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", app, "-b", f"127.0.0.1:{self.port}", *options],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait(self, path="/healthz", timeout=60):
        wait_for_http(self.base + path, timeout=timeout)

    def workers(self):
        """The worker processes' ids."""
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return [int(c) for c in children]

    def log_tail(self, size=4000):
        if not self.log_path:
            return ""
        self._log.flush()
        return Path(self.log_path).read_text(errors="replace")[-size:]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.log_path:
            self._log.close()
