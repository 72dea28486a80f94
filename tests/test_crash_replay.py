"""Printing an alert is its delivery: no crash, closed pipe or full disk loses one (issue 9, 3).

Real ``signin-monitor replay`` processes, killed with SIGKILL at random points while they print,
then run again at once on the same SQLite file: every alert appears at least once across the
runs. A reader that leaves (``| head -1``) or a full stdout (/dev/full) ends the run with exit 1
and a clean message, the unprinted alerts still pending for the next run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.factories import console_login
from tests.replay_process import replay_command

#: Root sign-ins in the input: each raises its own alert.
ALERTS = 120


@pytest.fixture
def root_sign_ins(tmp_path: Path) -> tuple[Path, set[str]]:
    """One CloudTrail file of root sign-ins, and their event ids."""
    records = [console_login(identity_type="Root", minutes=i) for i in range(ALERTS)]
    path = tmp_path / "root.json"
    path.write_text(json.dumps({"Records": records}))
    return path, {record["eventID"] for record in records}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FAILED_", "CLAIM_"))}
    env["PYTHONUNBUFFERED"] = "1"  # as many users run Python: each line must still be whole
    return env


def _printed(out: str) -> list[str]:
    """The event ids of the alert lines; every line must be whole JSON (no torn writes)."""
    return [json.loads(line)["event_id"] for line in out.splitlines() if line.strip()]


def test_sigkill_at_random_points_then_an_immediate_rerun_loses_no_alert(
    tmp_path: Path, root_sign_ins: tuple[Path, set[str]]
) -> None:
    source, expected = root_sign_ins
    chooser = random.Random(9)  # reproducible kill points
    for attempt in range(3):
        db = tmp_path / f"kill-{attempt}.db"
        seen: list[str] = []
        # GIVEN a replay killed with SIGKILL after a random number of printed lines
        for _ in range(2):
            child = subprocess.Popen(
                replay_command(db, source),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=_env(),
            )
            assert child.stdout is not None
            stop_after = chooser.randrange(1, ALERTS // 2)
            for _ in range(stop_after):
                line = child.stdout.readline()
                if not line:
                    break
                seen.extend(_printed(line.decode()))
            time.sleep(chooser.random() * 0.01)
            child.send_signal(signal.SIGKILL)
            # read(), not communicate(timeout=...): that reads the pipe's file descriptor and
            # would drop what readline() already buffered.
            rest = child.stdout.read()
            child.wait(timeout=60)
            seen.extend(_printed(rest.decode()))
        # WHEN it is run again at once, to the end
        final = subprocess.run(
            replay_command(db, source), capture_output=True, text=True, env=_env(), timeout=120
        )
        assert final.returncode == 0, final.stderr
        seen.extend(_printed(final.stdout))
        # THEN every alert was printed at least once across the runs
        assert expected - set(seen) == set(), f"attempt {attempt}: alerts lost"
        # AND a further run prints nothing: every alert is marked sent
        again = subprocess.run(
            replay_command(db, source), capture_output=True, text=True, env=_env(), timeout=120
        )
        assert (again.returncode, again.stdout) == (0, "")


def _claim_statuses(db: Path) -> list[str]:
    with sqlite3.connect(db) as store:
        return [row[0] for row in store.execute("SELECT status FROM alert_claims")]


def test_sigkill_amid_a_batch_of_claims_repeats_at_most_the_alert_in_flight(
    tmp_path: Path, root_sign_ins: tuple[Path, set[str]]
) -> None:
    source, expected = root_sign_ins
    chooser = random.Random(13)
    for attempt in range(3):
        db = tmp_path / f"batch-{attempt}.db"
        # GIVEN a replay whose alerts were claimed together (one transaction), killed with
        # SIGKILL while it prints them one by one
        child = subprocess.Popen(
            replay_command(db, source),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
        assert child.stdout is not None
        first: list[str] = []
        for _ in range(chooser.randrange(1, ALERTS // 2)):
            first.extend(_printed(child.stdout.readline().decode()))
        child.send_signal(signal.SIGKILL)
        first.extend(_printed(child.stdout.read().decode()))
        child.wait(timeout=60)
        # THEN the claims it took and had not posted are pending (each marked sent only
        # once its line was out): the batch's claims did not wait for the posts
        statuses = _claim_statuses(db)
        assert statuses.count("sent") >= len(first) - 1
        assert statuses.count("pending") > 1, f"attempt {attempt}: no batch was claimed"
        # WHEN it is run again at once, to the end
        final = subprocess.run(
            replay_command(db, source), capture_output=True, text=True, env=_env(), timeout=120
        )
        assert final.returncode == 0, final.stderr
        seen = first + _printed(final.stdout)
        # THEN every alert was printed, and only the one in flight at the kill maybe twice
        assert set(seen) == expected, f"attempt {attempt}: alerts lost"
        assert len(seen) - len(set(seen)) <= 1, f"attempt {attempt}: alerts repeated"
        assert set(_claim_statuses(db)) == {"sent"}


def test_a_reader_that_leaves_ends_the_run_cleanly_and_the_rest_stays_pending(
    tmp_path: Path, root_sign_ins: tuple[Path, set[str]]
) -> None:
    source, expected = root_sign_ins
    db = tmp_path / "head.db"
    # GIVEN `replay --json ... | head -1`
    child = subprocess.Popen(
        replay_command(db, source),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    )
    assert child.stdout is not None
    assert child.stderr is not None
    first = child.stdout.readline()
    child.stdout.close()
    err = child.stderr.read().decode()
    code = child.wait(timeout=60)
    # THEN exit 1, the summary and a clear message on stderr, no traceback
    assert code == 1, err
    assert "Traceback" not in err
    assert "Exception ignored" not in err
    assert "records read" in err
    assert "replay again" in err
    # AND a re-run prints the alerts that were never written, and ends well
    rerun = subprocess.run(
        replay_command(db, source), capture_output=True, text=True, env=_env(), timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    printed = set(_printed(first.decode())) | set(_printed(rerun.stdout))
    assert printed
    assert printed <= expected
    assert len(_printed(rerun.stdout)) >= 1


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_stdout_ends_the_run_cleanly_with_every_alert_still_pending(
    tmp_path: Path, root_sign_ins: tuple[Path, set[str]]
) -> None:
    source, expected = root_sign_ins
    db = tmp_path / "full.db"
    # GIVEN stdout on a full disk
    with open("/dev/full", "w") as full:
        run = subprocess.run(
            replay_command(db, source), stdout=full, stderr=subprocess.PIPE, text=True, env=_env()
        )
    # THEN exit 1, a clean message, no traceback
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert "No space left on device" in run.stderr
    # AND nothing was marked sent: a re-run prints every alert
    rerun = subprocess.run(
        replay_command(db, source), capture_output=True, text=True, env=_env(), timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    assert set(_printed(rerun.stdout)) == expected


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("as_json", [True, False])
def test_history_to_a_full_stdout_ends_cleanly(
    tmp_path: Path, root_sign_ins: tuple[Path, set[str]], as_json: bool
) -> None:
    # GIVEN a replayed store
    source, _ = root_sign_ins
    db = tmp_path / "history.db"
    subprocess.run(replay_command(db, source), capture_output=True, env=_env(), check=True)
    # WHEN history is written to a full disk
    command = [sys.executable, "-m", "signin_monitor", "history", "--principal", "root"]
    command += ["--db", str(db), *(["--json"] if as_json else [])]
    with open("/dev/full", "w") as full:
        run = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, env=_env())
    # THEN exit 1 with one clear message, no traceback
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    assert "No space left on device" in run.stderr
