"""Every command is documented: help text, an example in its ``--help``, and a README mention.

Commands are read from ``build_parser()``, so a new command cannot ship undocumented.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from signin_monitor import cli
from signin_monitor.config import LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES

README = Path(__file__).resolve().parents[1] / "README.md"


def _subcommands() -> argparse._SubParsersAction[argparse.ArgumentParser]:
    for action in cli.build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise AssertionError("build_parser() has no subcommands")


COMMANDS = sorted(_subcommands().choices)


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SLACK_WEBHOOK_URL, thresholds etc. never reach a test."""
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_contract_commands_exist() -> None:
    # GIVEN the parser THEN the three commands of design.md section 8 are there
    assert {"replay", "history", "test-alert"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_text(command: str) -> None:
    # GIVEN the parser's list of commands WHEN the command's one-line help is read
    helps = {choice.dest: choice.help for choice in _subcommands()._choices_actions}
    # THEN it says something
    assert (helps.get(command) or "").strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_an_example_of_itself_in_its_epilog(command: str) -> None:
    # GIVEN the command's parser WHEN its epilog is read
    epilog = _subcommands().choices[command].epilog or ""
    # THEN it holds "Example:" followed by a run of that very command
    assert "Example:" in epilog
    example = epilog.split("Example:", 1)[1]
    assert f"signin-monitor {command}" in example


@pytest.mark.parametrize("command", COMMANDS)
def test_every_commands_help_shows_its_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a user asking for help WHEN `signin-monitor <command> --help` runs
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    # THEN it exits 0 and prints the example
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "Example:" in out
    assert f"signin-monitor {command}" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_of_every_command_has_help(command: str) -> None:
    # GIVEN the command's options (not -h) THEN each one says what it does
    parser = _subcommands().choices[command]
    undocumented = [
        action.option_strings or [action.dest]
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction)
        and not (action.help or "").strip()
        and action.help is not argparse.SUPPRESS
    ]
    assert undocumented == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_mentioned_in_the_readme(command: str) -> None:
    # GIVEN the project README
    if not README.is_file():
        pytest.skip("README.md does not exist yet")
    # WHEN it is read THEN it shows the command as it is typed
    text = README.read_text(encoding="utf-8")
    assert f"signin-monitor {command}" in text
