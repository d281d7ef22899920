"""Loading the cases with wrk: one run and its figures, the alternating rounds, and the
wait between runs until the servers are quiet again."""

import re
import statistics
import subprocess
import time
from pathlib import Path

from bench.common import http, log

# wrk's summary as one line of key=value figures, parsed by run_wrk().
WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format(
    "WRK requests=%d duration_us=%d status_errors=%d socket_errors=%d p50=%d p95=%d p99=%d bytes=%d\\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), summary.bytes))
end
"""


class Load:
    """How every case is loaded: the same wrk settings for all, and the servers and
    databases to watch until the last run's requests are over."""

    def __init__(self, *, threads, connections, script_dir, servers, monitor, databases):
        self.threads, self.connections = threads, connections
        self.script = Path(script_dir) / "report.lua"
        self.script.write_text(WRK_SCRIPT)
        self.servers, self.monitor, self.databases = servers, monitor, databases

    def wrk(self, target, duration):
        """One wrk run against a target (bench.cases.Target): its summary's figures."""
        command = ["wrk", "-t", str(self.threads), "-c", str(self.connections), "-d", f"{duration}s",
                   "--timeout", "60s", "-s", str(self.script)]  # fmt: skip
        for key, value in target.headers.items():
            command += ["-H", f"{key}: {value}"]
        command.append(target.url)
        result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120)
        match = re.search(r"^WRK (.*)$", result.stdout, re.M)
        if not match:
            raise SystemExit(f"wrk failed for {target.name}:\n{result.stdout}\n{result.stderr}")
        return {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}

    def settle(self, limit=300):
        """Wait until no worker is still busy with the last run's requests (wrk stops
        sending, but a sync worker finishes what it has started), so that slow requests do
        not eat into the next run: no worker CPU and no active query for three samples."""
        started = time.monotonic()
        pids = [pid for server in self.servers for pid in server.workers()]
        last, quiet = _cpu_ticks(pids), 0
        while time.monotonic() - started < limit:
            time.sleep(0.1)
            now = _cpu_ticks(pids)
            active = self.monitor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND datname = ANY(%s) "
                "AND pid <> pg_backend_pid()",
                [self.databases],
            ).fetchone()[0]
            quiet = quiet + 1 if now == last and not active else 0
            if quiet >= 3:
                break
            last = now
        return time.monotonic() - started

    def warm_up(self, targets, *, quick):
        for target in targets:
            if quick:
                for _ in range(3):
                    http("GET", target.url, headers=target.headers)
            else:
                self.wrk(target, 2)
            self.settle()

    def rounds(self, targets, *, rounds, duration, started):
        """Every target once a round, each round starting one further along the list and
        every other one backwards, so that drift hits all alike; each run's figures are
        added to its target's rounds."""
        for r in range(rounds):
            order = targets[r % len(targets) :] + targets[: r % len(targets)]
            if r % 2:
                order.reverse()
            for target in order:
                target.rounds.append(self.wrk(target, duration))
                waited = self.settle()
                if waited > 2:
                    log(f"  {target.name}: requests still running {waited:.0f} s after wrk stopped")
            log(f"round {r + 1} of {rounds} done ({time.monotonic() - started:.0f} s)")


def figures(rounds):
    """Requests/s over all rounds; p50, p95 and p99 in ms, each the median over the rounds."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["duration_us"] for r in rounds) / 1e6

    # A round in which no request finished has no latencies: it counts as infinitely slow.
    def median(name):
        return statistics.median(r[name] / 1000 if r["requests"] else float("inf") for r in rounds)

    return {
        "rps": requests / seconds if seconds else 0.0,
        "p50": median("p50"),
        "p95": median("p95"),
        "p99": median("p99"),
        "errors": sum(r["status_errors"] + r["socket_errors"] for r in rounds),
        "requests": requests,
    }


def _cpu_ticks(pids):
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total
