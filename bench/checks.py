"""The benchmark's checks besides load: the raw app answers what the tracker answers, the
CSV export's memory, and a write through one app server seen at once through another."""

import json
import secrets
import time
import urllib.request
from pathlib import Path

from bench.common import http, log


def same_answers(targets, hosts):
    """Each `same_json` target's JSON against its counterpart's, before any load: its
    verdict (byte-identical, same JSON, DIFFERENT JSON) by target name. `hosts` are the
    servers' host:port, which their URLs name differently."""
    by_name = {target.name: target for target in targets}
    verdicts = {}
    for target in targets:
        if not target.case.same_json:
            continue
        raw = by_name[target.case.counterpart]
        _, _, raw_body = http("GET", raw.url)
        status, _, body = http("GET", target.url)
        if status != 200:
            raise SystemExit(f"{target.name} answered {status}: {body[:500]!r}\n{target.server.log_tail()}")
        equal, identical = _same_json(raw_body, body, hosts)
        verdicts[target.name] = "byte-identical" if identical else ("same JSON" if equal else "DIFFERENT JSON")
        log(f"{target.name} vs {raw.name}: {verdicts[target.name]} ({len(body)} bytes)")
    return verdicts


def warn_unexpected_status(targets):
    for target in targets:
        status, _, _ = http("GET", target.url, headers=target.headers)
        if status != target.expect:
            log(f"warning: {target.name} answers {status}, expected {target.expect}\n{target.server.log_tail(1500)}")


def _same_json(a, b, hosts):
    """Equal once each server's own host:port in the URLs is written the same way."""

    def normal(raw):
        text = raw.decode()
        for host in hosts:
            text = text.replace(host, "HOST")
        return text

    left, right = normal(a), normal(b)
    return json.loads(left) == json.loads(right), left == right


def _vm_kb(pid, key):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def csv_export(server, path):
    """Stream the whole CSV export; the serving worker's peak memory (VmHWM), rows, time."""
    before = {pid: _vm_kb(pid, "VmHWM") for pid in server.workers()}
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
    after = {pid: _vm_kb(pid, "VmHWM") for pid in server.workers()}
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
    """Writes through A, reads at once through B (both cached, one PostgreSQL, one Redis):
    how many were seen fresh, and the slugs of those that were not."""
    fresh, stale = 0, []
    auth = {"Authorization": f"Token {token}", "X-Change-Reason": "bench write"}
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
