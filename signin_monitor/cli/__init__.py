"""The ``signin-monitor`` command: a thin layer over the same pipeline the Lambda runs.

One module per command, each with ``add_parser(commands)`` and ``run(args, settings)``
(sqlite-utils' way); ``common`` holds what they share. stdout carries only results (with
``--json``, one JSON object per line); summaries, progress and errors go to stderr.
Exit status: 0 ok, 1 a record was malformed or an alert could not be delivered, 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Final

from .. import __version__
from ..config import Settings
from ..errors import ConfigError, OutputClosedError, SigninMonitorError
from ..logs import quiet_http_logs
from ..terminal import error
from . import (
    coverage,
    create_table,
    digest,
    history,
    replay,
    report,
    resend,
    suppress,
    test_alert,
)
from .common import ExitStatus, Parser, silence_stdout

__all__ = ["ExitStatus", "build_parser", "main"]

#: Every command, in the order ``--help`` lists them.
COMMANDS: Final[dict[str, ModuleType]] = {
    "replay": replay,
    "history": history,
    "test-alert": test_alert,
    "resend": resend,
    "create-table": create_table,
    "report": report,
    "coverage": coverage,
    "suppress": suppress,
    "digest": digest,
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed so the README test can check every command is documented)."""
    parser = Parser(
        prog="signin-monitor",
        description="Alert on risky AWS console sign-ins; keep every sign-in for audits.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``signin-monitor`` script."""
    quiet_http_logs()
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env(os.environ)
    except ConfigError as config_error:
        error(str(config_error))
        return ExitStatus.USAGE
    run: Callable[[argparse.Namespace, Settings], int] = COMMANDS[args.command].run
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
