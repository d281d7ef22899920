"""Slow clients and gunicorn's sync workers. The app is served with gunicorn
(deploy/gunicorn.conf.py, two workers) on a throwaway PostgreSQL, behind a real nginx run
from deploy/nginx.conf on ports and paths of its own. Through nginx, more clients than
there are workers trickling their requests a byte at a time leave /healthz answering;
straight to gunicorn, the same clients hold every worker and /healthz does not answer (the
control: it shows the first test can fail)."""

import contextlib
import dataclasses
import http.client
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.pgcluster import find_bindir, free_port, pg_cluster

# Once per CI run: nginx and gunicorn on a PostgreSQL of their own, whatever the suite's engine.
pytestmark = [pytest.mark.engines("once"), pytest.mark.serial]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HOST = "tracker.example.org"  # the server_name of deploy/nginx-tracker.conf
WORKERS = 2
SLOW_CLIENTS = 3 * WORKERS
# An answer may take this long on a busy shared machine; the control waits BLOCKED_FOR
# seconds for one that must not come.
ANSWER_TIMEOUT = 10
BLOCKED_FOR = 4
# Seconds the slow clients trickle before a probe: all accepted and well under way.
UNDER_WAY = 1
# A form POST that the app's CSRF check reads the body of: a well-formed CSRF cookie and
# an Origin that matches get it that far.
FORM_POST_HEADERS = (
    f"Origin: https://{HOST}\r\nCookie: csrftoken={'a' * 32}\r\n"
    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
).encode()


def _in_ci():
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _find(program):
    """The program on PATH, or in /usr/sbin (where Debian puts nginx, off a user's PATH)."""
    return shutil.which(program) or shutil.which(program, path="/usr/sbin")


@pytest.fixture(scope="module")
def tools():
    """nginx and openssl (for the test's certificate), and PostgreSQL's binaries: missing
    ones skip the test with the command that installs them, except in CI, where they fail."""
    found = {name: _find(name) for name in ("nginx", "openssl")}
    missing = [f"`apt-get install {name}`" for name, path in found.items() if path is None]
    if find_bindir() is None:
        missing.append("`apt-get install postgresql`")
    if missing:
        message = f"The proxy test needs {' and '.join(missing)}."
        if _in_ci():
            pytest.fail(message + " CI must run it.", pytrace=False)
        pytest.skip(message)
    return found


def _certificate(openssl, directory):
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return certificate, key


def _substitute(text, pattern, replacement):
    """The pattern must match: a change to deploy/'s files that this rendering no longer
    understands fails here, not as a puzzling nginx error."""
    result, count = re.subn(pattern, replacement, text, flags=re.MULTILINE)
    assert count, f"{pattern!r} no longer matches in deploy/: update the test's rendering"
    return result


def _render_nginx(directory, *, http_port, https_port, upstream_port, certificate, key):
    """deploy/'s nginx files with this test's ports, paths and certificate, so that nginx
    runs without root or the machine's configuration; everything else (timeouts, sizes,
    buffering, headers) is as deployed."""
    main = (DEPLOY / "nginx.conf").read_text()
    unused_temp_paths = "".join(f"    {name}_temp_path {directory}/{name};\n" for name in ("fastcgi", "uwsgi", "scgi"))
    for pattern, replacement in (
        # `user` means something to a root master only (which then runs workers as it).
        (r"^user \S+;$", f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""),
        (r"^pid \S+;$", f"pid {directory}/nginx.pid;"),
        (r"^error_log \S+", f"error_log {directory}/error.log"),
        (r"^(\s*)access_log \S+;", rf"\1access_log {directory}/access.log;"),
        (r"^(\s*)(client_body|proxy)_temp_path \S+;", rf"\1\2_temp_path {directory}/\2;"),
        # nginx creates the temporary directories of the modules it does not use too.
        (r"^http \{$", "http {\n" + unused_temp_paths),
    ):
        main = _substitute(main, pattern, replacement)
    site = (DEPLOY / "nginx-tracker.conf").read_text()
    for pattern, replacement in (
        (r"^[ \t]*listen \[::\]:.*\n", ""),
        (r"\blisten 80\b", f"listen 127.0.0.1:{http_port}"),
        (r"\blisten 443\b", f"listen 127.0.0.1:{https_port}"),
        (r"\bserver 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream_port};"),
        (r"\bssl_certificate \S+;", f"ssl_certificate {certificate};"),
        (r"\bssl_certificate_key \S+;", f"ssl_certificate_key {key};"),
    ):
        site = _substitute(site, pattern, replacement)
    (directory / "nginx.conf").write_text(main)
    (directory / "nginx-tracker.conf").write_text(site)
    return directory / "nginx.conf"


@contextlib.contextmanager
def _running(command, log, **options):
    """A server, in a session of its own, so that it and every worker it forked are gone
    when the block ends."""
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **options)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):  # a worker left behind by its master
            os.killpg(process.pid, signal.SIGKILL)


@dataclasses.dataclass
class Route:
    """A way to the app: how to open a connection, and what a proxy would add on the way
    (nothing through nginx, which adds it itself)."""

    connect: Callable[[float], socket.socket]
    headers: bytes = b""

    def request_head(self, method="GET"):
        return f"{method} /healthz HTTP/1.1\r\nHost: {HOST}\r\n".encode() + self.headers


def _healthz(route, timeout):
    """The status of GET /healthz on a new connection; None if no answer came within
    `timeout` seconds."""
    try:
        with route.connect(timeout) as sock:
            sock.sendall(route.request_head() + b"Accept: application/json\r\nConnection: close\r\n\r\n")
            response = http.client.HTTPResponse(sock)
            response.begin()
            response.read()
            return response.status
    except TimeoutError:
        return None


def _wait_until_serving(route, process, log, timeout=60):
    deadline, outcome = time.monotonic() + timeout, None
    while time.monotonic() < deadline and process.poll() is None:
        try:
            outcome = _healthz(route, 5)
        except (OSError, http.client.HTTPException) as exc:  # not listening yet
            outcome = exc
        if outcome == 200:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{process.args[0]} does not serve /healthz (last: {outcome!r}):\n{log.read_text()[-3000:]}")


class SlowClients:
    """Connections that each send a request a byte at a time and never finish it. With
    `headers`, a GET's request line and headers trickle; with `body`, a form POST's
    headers arrive whole and its body trickles."""

    def __init__(self, route, count, trickle, interval=0.2):
        self.route, self.count, self.interval = route, count, interval
        if trickle == "headers":
            self._at_once, self._trickled = b"", route.request_head() + b"X-Trickle: "
        else:
            self._at_once = route.request_head("POST") + FORM_POST_HEADERS
            self._trickled = b""
        self.closed = {}  # connection number -> seconds from the start to the server closing it
        self._sockets = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)

    def __enter__(self):
        self.started = time.monotonic()
        try:
            for _ in range(self.count):
                self._sockets.append(self.route.connect(ANSWER_TIMEOUT))
                self._sockets[-1].sendall(self._at_once)
        except BaseException:
            self.__exit__()
            raise
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        for sock in self._sockets:
            sock.close()

    def _bytes(self):
        yield from self._trickled
        while True:
            yield ord("a")

    def _trickle(self):
        for byte in self._bytes():
            if self._stop.wait(self.interval):
                return
            for number, sock in enumerate(self._sockets):
                if number not in self.closed:
                    try:
                        sock.sendall(bytes([byte]))
                    except OSError:
                        self.closed[number] = time.monotonic() - self.started

    def wait_until_all_closed(self, timeout):
        deadline = time.monotonic() + timeout
        while len(self.closed) < self.count and time.monotonic() < deadline:
            time.sleep(0.1)
        return len(self.closed) == self.count


@dataclasses.dataclass
class Served:
    through_nginx: Route
    straight_to_gunicorn: Route


@pytest.fixture(scope="module")
def served(tools, tmp_path_factory):
    directory = tmp_path_factory.mktemp("behind-proxy")
    certificate, key = _certificate(tools["openssl"], directory)
    with pg_cluster() as cluster:
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DEBUG": "false",
            "ALLOWED_HOSTS": HOST,
            # As deployed behind nginx (pytest-env turns the redirects off for the test client).
            "SECURE_SSL_REDIRECT": "true",
            "USE_X_FORWARDED_PROTO": "true",
            "AXES_IPWARE_PROXY_COUNT": "1",
            "STATIC_MANIFEST": "false",
        }
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=300)
        gunicorn_port, http_port, https_port = free_port(), free_port(), free_port()
        tls = ssl.create_default_context(cafile=str(certificate))

        def through_nginx(timeout):
            sock = socket.create_connection(("127.0.0.1", https_port), timeout=timeout)
            try:
                return tls.wrap_socket(sock, server_hostname=HOST)
            except BaseException:
                sock.close()
                raise

        def straight_to_gunicorn(timeout):
            return socket.create_connection(("127.0.0.1", gunicorn_port), timeout=timeout)

        nginx_route = Route(through_nginx)
        gunicorn_route = Route(straight_to_gunicorn, b"X-Forwarded-Proto: https\r\n")
        conf = _render_nginx(
            directory, http_port=http_port, https_port=https_port, upstream_port=gunicorn_port,
            certificate=certificate, key=key,
        )  # fmt: skip
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", str(DEPLOY / "gunicorn.conf.py"),
                    "--workers", str(WORKERS), "--bind", f"127.0.0.1:{gunicorn_port}", "tracker.wsgi"]  # fmt: skip
        nginx = [tools["nginx"], "-p", f"{directory}/", "-c", str(conf), "-e", str(directory / "error.log"),
                 "-g", "daemon off;"]  # fmt: skip
        with (
            _running(gunicorn, directory / "gunicorn.log", cwd=ROOT, env=env) as app,
            _running(nginx, directory / "nginx.log") as proxy,
        ):
            _wait_until_serving(gunicorn_route, app, directory / "gunicorn.log")
            _wait_until_serving(nginx_route, proxy, directory / "error.log")
            yield Served(nginx_route, gunicorn_route)


@pytest.mark.parametrize("trickle", ["headers", "body"])
def test_through_nginx_healthz_answers_while_more_slow_clients_than_workers_trickle(served, trickle):
    with SlowClients(served.through_nginx, SLOW_CLIENTS, trickle) as slow:
        time.sleep(UNDER_WAY)
        started = time.monotonic()
        assert _healthz(served.through_nginx, ANSWER_TIMEOUT) == 200
        print(f"/healthz through nginx: 200 in {time.monotonic() - started:.2f} s, {SLOW_CLIENTS} clients trickling")
        # Answered while nginx still held every slow client, not after it dropped them.
        assert not slow.closed


@pytest.mark.parametrize("trickle", ["headers", "body"])
def test_straight_to_gunicorn_the_same_slow_clients_hold_every_worker(served, trickle):
    assert _healthz(served.straight_to_gunicorn, ANSWER_TIMEOUT) == 200
    with SlowClients(served.straight_to_gunicorn, SLOW_CLIENTS, trickle) as slow:
        time.sleep(UNDER_WAY)
        assert _healthz(served.straight_to_gunicorn, BLOCKED_FOR) is None
        assert not slow.closed
    # The slow clients gone, the workers are free again: it was they that held them.
    assert _healthz(served.straight_to_gunicorn, ANSWER_TIMEOUT) == 200


def test_nginx_drops_a_client_still_trickling_its_headers_after_client_header_timeout(served):
    # deploy/ sets 10 s; nginx's default, 60 s, would fail this.
    with SlowClients(served.through_nginx, 2, "headers") as slow:
        assert slow.wait_until_all_closed(timeout=30)
        print(f"nginx closed the trickling connections after {max(slow.closed.values()):.1f} s")


def _get(route, target, timeout=ANSWER_TIMEOUT):
    """(status, Content-Type) of GET `target` on a new connection."""
    with route.connect(timeout) as sock:
        head = f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n".encode() + route.headers
        sock.sendall(head + b"Accept: application/json\r\nConnection: close\r\n\r\n")
        response = http.client.HTTPResponse(sock)
        response.begin()
        response.read()
        return response.status, response.getheader("Content-Type", "")


@pytest.mark.parametrize("route", ["through_nginx", "straight_to_gunicorn"])
def test_a_url_up_to_the_documented_limit_reaches_the_api_and_a_longer_one_is_the_documented_414(served, route):
    # The schema documents 414 (text/html, from the web server) on every operation for a
    # request line over 8,190 bytes; up to that, the API answers, here naming the search too long.
    prefix = "/api/v1/projects/?q="
    request_line = len("GET ") + len(prefix) + len(" HTTP/1.1")
    status, content_type = _get(getattr(served, route), prefix + "a" * (8000 - request_line))
    assert (status, content_type.split(";")[0]) == (400, "application/json")
    status, content_type = _get(getattr(served, route), prefix + "a" * (8300 - request_line))
    assert (status, content_type.split(";")[0]) == (414, "text/html")
