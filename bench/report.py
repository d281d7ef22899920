"""The benchmark's report: the table of cases, the goals, the `RESULT` lines, and
bench/RESULTS.md."""

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib import parse

from bench.cases import FILTER, PAGE_SIZE


@dataclass
class Measured:
    """What a run measured, which the goals and the report read: each case's figures
    (bench.load.figures), the filtered list's match count, the raw app's answers
    (bench.checks.same_answers), the CSV export (bench.checks.csv_export), and the writes
    through the first of two app servers (on `ports`) seen fresh through the second."""

    figures: dict
    matches: int
    answers: dict
    export: dict
    fresh: int
    stale: list
    writes: int
    ports: tuple


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


def _header(args, measured, *, postgres, redis_url):
    """What was run, where, at what size and load."""
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}; PostgreSQL {postgres}, "
        f"Redis {redis_url}.\n\n{args.projects:,} projects, {args.activities:,} activities, {args.partners} "
        f"partners, {args.fields} fields, {args.years} years (small database: {args.small_projects:,} projects). "
        f"gunicorn {args.workers} {args.worker_class} workers per server; wrk -t{args.threads_wrk} "
        f"-c{args.connections}, {args.rounds} alternating rounds of {args.duration} s per case; "
        f"p50/p95/p99 are the medians over the rounds. Filter: `{parse.urlencode(FILTER)}`, "
        f"{measured.matches:,} matches, {PAGE_SIZE} per page."
    )


def _checks(measured):
    """The lines on the CSV export, the two app servers and the raw app's answers."""
    export, fresh, stale, ports = measured.export, measured.fresh, measured.stale, measured.ports
    return [
        f"CSV export of every published project (`/api/v1/projects/?format=csv`): {export['rows']:,} rows, "
        f"{export['bytes'] / 1e6:.1f} MB in {export['seconds']:.1f} s (first byte after "
        f"{export['first_byte']:.2f} s); the serving worker's peak resident memory (VmHWM) "
        f"{export['peak_mb']:.0f} MB, {export['grew_mb']:.0f} MB more than before the export.",
        f"Two app servers (ports {ports[0]} and {ports[1]}) on one PostgreSQL and one Redis: "
        f"{fresh} of {measured.writes} writes through the first were seen at once through the second "
        f"(list and detail){'; stale: ' + ', '.join(stale) if stale else ''}.",
        "Same answers: " + ", ".join(f"{k} {v}" for k, v in measured.answers.items()) + " (against the raw app).",
    ]


def build(args, targets, goals, measured, *, postgres, redis_url):
    """The report (markdown) and the `RESULT` lines."""
    values = [(goal, goal.value(measured)) for goal in goals]
    result_lines = []
    goal_lines = ["| goal | value | target | met |", "| --- | ---: | --- | --- |"]
    for goal, value in values:
        name = goal.quick_name if args.quick and goal.quick_name else goal.name
        if value is not None and value != value:  # NaN: nothing finished on either side
            value = None
        text = "n/a" if value is None else f"{value:.2f}"
        result_lines.append(f"RESULT {name} {text}")
        met = "n/a" if value is None else ("yes" if goal.met(value) else "NO")
        goal_lines.append(f"| {name} | {text} | {goal.target} | {met} |")
    parts = [
        _header(args, measured, postgres=postgres, redis_url=redis_url),
        _case_table(targets, measured.figures, values),
        "\n".join(f"- {line}" for line in _checks(measured)),
        "\n".join(goal_lines),
    ]
    return "\n\n".join(parts), result_lines


def _case_table(targets, figures, values):
    notes = [(goal.note, value) for goal, value in values if goal.note]
    lines = [
        "| case | what | req/s | p50 ms | p95 ms | p99 ms | ratio | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for target in targets:
        s = figures[target.name]
        other = target.case.counterpart
        r = s["rps"] / figures[other]["rps"] if other and figures[other]["rps"] else None
        ratio = f"{r:.2f} of {other}" if r is not None else ""
        for note, value in notes:
            if note.case == target.name and value:
                ratio = note.text.format(value=value, ratio=ratio)
        lines.append(
            f"| {target.name} | {target.what} | {s['rps']:.0f} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} "
            f"| {ratio} | {s['errors']} |"
        )
    return "\n".join(lines)


def show(report, result_lines):
    print()
    print(report)
    print()
    print("\n".join(result_lines))


def write(path, report, result_lines, *, quick):
    command = "make bench" + (" ARGS=--quick" if quick else "")
    Path(path).write_text(
        "# Benchmark results\n\n"
        f"Written by `{command}` (bench/run.py). The 2 cores are shared with PostgreSQL, Redis, wrk and, "
        "on a shared machine, whatever else runs: figures are noisy; the ratios, measured in one run "
        "with alternating rounds, are what to compare.\n\n"
        f"{report}\n\n```\n" + "\n".join(result_lines) + "\n```\n",
        encoding="utf-8",
    )
