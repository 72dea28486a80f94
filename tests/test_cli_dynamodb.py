"""The command line on DynamoDB (a moto server on 127.0.0.1 via AWS_ENDPOINT_URL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signin_monitor.cli import main
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
TABLE = "cli-activity"


@pytest.fixture
def endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in (*LAMBDA_VARIABLES, *LOCAL_ONLY_VARIABLES, "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    return moto_server


def test_create_table_replay_and_history_on_dynamodb(
    endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a table made by create-table (twice: the second run finds it there)
    assert main(["create-table", "--table", TABLE]) == 0
    assert main(["create-table", "--table", TABLE]) == 0
    capsys.readouterr()
    # WHEN the samples are replayed into it, twice
    assert main(["replay", "--json", "--no-progress", "--table", TABLE, str(SAMPLES)]) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["replay", "--json", "--no-progress", "--table", TABLE, str(SAMPLES)]) == 0
    second = capsys.readouterr()
    # THEN the alerts come once, and history reads the events back
    assert len(first) == 17
    assert second.out == ""
    assert "0 stored" in second.err
    assert main(["history", "--json", "--table", TABLE, "--principal", "carol"]) == 0
    carol = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(carol) == 7
    assert [row["event_time"] for row in carol] == sorted(row["event_time"] for row in carol)
    assert sum(row["result"] == "Failure" for row in carol) == 6
    assert (
        main(
            [
                "history",
                "--json",
                "--table",
                TABLE,
                "--account",
                "444455556666",
                "--since",
                "2026-11-01",
            ]
        )
        == 0
    )
    second_account = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {row["principal"] for row in second_account} == {"root", "dave"}
