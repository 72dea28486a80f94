"""The ``signin-monitor`` command: a thin layer over the same pipeline the Lambda runs.

One module per command, each with ``add_parser(commands)`` and ``run(args, settings)``
(sqlite-utils' way); ``common`` holds what they share. stdout carries only results (with
``--json``, one JSON object per line); summaries, progress and errors go to stderr.
Exit status: 0 ok, 1 a record was malformed or an alert could not be delivered, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Final

from .. import __version__
from ..config import Settings
from ..errors import ConfigError, OutputClosedError, SigninMonitorError
from ..logs import quiet_http_logs
from ..terminal import error
from .common import ExitStatus, Parser, silence_stdout

__all__ = ["ExitStatus", "build_parser", "command_module", "main"]

#: Every command and its module here, in the order ``--help`` lists them.
COMMANDS: Final[dict[str, str]] = {
    "replay": "replay",
    "history": "history",
    "test-alert": "test_alert",
    "resend": "resend",
    "create-table": "create_table",
    "report": "report",
    "coverage": "coverage",
    "suppress": "suppress",
    "digest": "digest",
}
#: What the usage line shows for the command when only one is built: every command, as argparse
#: shows them when all are.
_CHOICES: Final = "{" + ",".join(COMMANDS) + "}"


def command_module(name: str) -> ModuleType:
    """The module of command ``name`` (imported on first use)."""
    return importlib.import_module(f"{__name__}.{COMMANDS[name]}")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser (exposed so the README test can check every command is documented).

    When ``argv`` starts with a command's name, only that command is built: each command's
    module imports what it needs, and the others' (reports, coverage, DynamoDB tables, ...)
    cost every run of one command ~30 ms of start-up, measured on replay (issue 13). Its help
    and its errors read the same, the usage line naming every command (``_CHOICES``).
    """
    parser = Parser(
        prog="signin-monitor",
        description="Alert on risky AWS console sign-ins; keep every sign-in for audits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Every command built, argparse names the choices itself (its errors too): no metavar.
    names = [argv[0]] if argv and argv[0] in COMMANDS else list(COMMANDS)
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=Parser,
        metavar=_CHOICES if len(names) == 1 else None,
    )
    for name in names:
        command_module(name).add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signin-monitor`` script."""
    quiet_http_logs()
    arguments = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(arguments).parse_args(arguments)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as config_error:
        error(str(config_error))
        return ExitStatus.USAGE
    run: Callable[[argparse.Namespace, Settings], int] = command_module(args.command).run
    try:
        return run(args, settings)
    except ConfigError as config_error:
        # A bad value met at run time (the webhook URL read from SSM): a configuration error.
        error(str(config_error))
        return ExitStatus.USAGE
    except OutputClosedError as closed:
        silence_stdout()
        error(str(closed))
        return ExitStatus.ERROR
    except SigninMonitorError as failure:
        error(str(failure))
        return ExitStatus.ERROR
    except KeyboardInterrupt:
        error("interrupted")
        return 130
