"""The concurrent-editor harness (bench/stress.py, `make stress`): it counts a lost update
whenever one happens, and a short real run on a throwaway PostgreSQL passes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.stress import summarize
from harness.pgcluster import find_bindir

# Once per CI run: the harness runs on a PostgreSQL of its own, whatever the suite's engine.
pytestmark = pytest.mark.engines("once")

ROOT = Path(__file__).resolve().parents[2]

BEFORE = {"history": 3, "description": "", "version": 1}


def test_a_clean_run_has_one_winner_a_round_and_no_lost_update():
    results = [[200, 412, 412], [412, 412, 200]]
    figures = summarize(results, BEFORE, {"history": 5, "description": "round 1 client 2", "version": 3})
    assert figures["wins"] == 2 and figures["refused"] == 4 and figures["bad_rounds"] == []
    assert figures["history_added"] == 2 and figures["lost_updates"] == 0
    assert figures["last_winner"] == "round 1 client 2"


def test_two_winners_in_a_round_are_a_lost_update():
    # Both wrote over the same version: one of the two writes was overwritten unseen.
    figures = summarize([[200, 200, 412]], BEFORE, {"history": 5, "description": "round 0 client 1", "version": 3})
    assert figures["bad_rounds"] == [0]
    assert figures["lost_updates"] == 1


def test_a_success_without_its_history_record_is_a_lost_update():
    figures = summarize([[200, 412], [412, 200]], BEFORE, {"history": 4, "description": "x", "version": 3})
    assert figures["history_added"] == 1 and figures["lost_updates"] == 1


def test_a_round_without_a_winner_or_with_another_answer_is_a_bad_round():
    figures = summarize([[412, 412], [200, 500]], BEFORE, {"history": 4, "description": "x", "version": 2})
    assert figures["bad_rounds"] == [0, 1]
    assert figures["other"] == 1


@pytest.mark.serial
@pytest.mark.skipif(find_bindir() is None and os.environ.get("CI") != "true", reason="no PostgreSQL binaries")
def test_a_short_real_run_passes_and_prints_its_figures():
    # Always on a throwaway cluster, never on the developer's DATABASE_URL.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "bench/stress.py", "--clients", "3", "--rounds", "20", "--time-limit", "120"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rounds 20 of 20" in result.stdout
    assert "successful writes 20, refused with 412 40, other answers 0," in result.stdout
    assert "rounds without exactly one winner 0" in result.stdout
    assert "history records added 20" in result.stdout and "lost updates 0" in result.stdout
    assert "RESULT stress OK" in result.stdout
