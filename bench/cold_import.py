"""Figure 1: cold import: a fresh `import handler` (Lambda environment) vs `import boto3`.

Why ``import boto3`` is the baseline: it is the least any Python Lambda that talks to DynamoDB
imports, so "how much more than boto3" is what our own code and dependencies cost a cold start.

Each run is a fresh interpreter (``sys.modules`` starts empty): the child times the import with
``time.perf_counter`` and prints it; the parent also times the whole process (interpreter start
and exit included). Handler and baseline children alternate; medians are reported.

Informational rows, because the import alone does not tell the whole cold-start story:

* a Lambda that uses DynamoDB builds a client too; the handler builds it on the first event:
  "client ready vs boto3 + client" compares the handler with its client built against
  ``import boto3`` plus the same client;
* ``/var/task`` is read-only, so Python cannot cache bytecode there: the zip ships .pyc files
  compiled for 3.13 when the build machine has a 3.13 (``build_lambda.py``). "no .pyc for bundled
  code" shows what a zip without them costs: our code and the bundled dependencies compiled from
  source on every cold start, while stdlib and boto3 keep their bytecode.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, Final

from .measure import PROJECT_ROOT, interleave, median, run_child
from .report import Figure, Row

__all__ = ["BUNDLED_TOP_LEVEL", "lambda_environment", "run"]

GOAL: Final = 1.3

#: Top-level names the Lambda zip bundles (``scripts/lambda-requirements.txt`` + our code).
BUNDLED_TOP_LEVEL: Final = frozenset(
    {
        "handler",
        "signin_monitor",
        "pydantic",
        "pydantic_core",
        "annotated_types",
        "typing_extensions",
        "typing_inspection",
        "httpx",
        "httpcore",
        "anyio",
        "h11",
        "idna",
        "certifi",
        "sniffio",
    }
)

#: Modules whose presence after ``import handler`` is worth knowing (cold-start weight).
WATCHED_MODULES: Final = (
    "boto3",
    "botocore",
    "botocore.session",
    "urllib3",
    "httpx",
    "httpcore",
    "anyio",
    "pydantic",
    "pydantic_core",
    "sqlite3",
    "argparse",
    "gzip",
    "pickle",
    "email",
    "http.client",
    "ssl",
    "asyncio",
    "importlib.metadata",
    "zipfile",
    "uuid",
)

# Runs in the child. Optional pieces are switched by argv so one script serves every variant.
_CHILD = r"""
import json, os, sys, time
target, with_client, no_pyc = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
if no_pyc:
    import _frozen_importlib_external as _ext
    bundled = set(sys.argv[4].split(","))
    root, site = sys.argv[5], os.sep + "site-packages" + os.sep
    _original = _ext.cache_from_source
    def _no_bytecode(path, *args, **kwargs):
        if site in path:
            top = path.split(site, 1)[1].split(os.sep, 1)[0]
        elif path.startswith(root) and os.sep + ".venv" + os.sep not in path:
            top = path[len(root):].lstrip(os.sep).split(os.sep, 1)[0]
        else:
            top = ""
        if top.removesuffix(".py") in bundled:
            raise NotImplementedError  # get_code() then compiles the source and caches nothing
        return _original(path, *args, **kwargs)
    _ext.cache_from_source = _no_bytecode
started = time.perf_counter()
if target == "handler":
    import handler
else:
    import boto3
imported = time.perf_counter()
modules = sorted(sys.modules)
client_s = None
if with_client:
    if target == "handler":
        store = handler.get_pipeline().store
        store._client
    else:
        from botocore.config import Config
        boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    client_s = time.perf_counter() - started
print(json.dumps({"import_s": imported - started, "client_s": client_s, "modules": modules}))
"""


def lambda_environment() -> dict[str, str]:
    """The Lambda's variables, fake credentials, and nothing that could reach a network.

    ``ACTIVITY_TABLE`` is ``bench-activity``: the issue's ``t`` fails ``Settings`` validation
    (table names are 3-255 characters), which would make the cold start raise.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "SLACK_", "PYTHON"))
        and key not in ("ACTIVITY_TABLE", "LOG_LEVEL", "ALERT_RULES")
    }
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "ACTIVITY_TABLE": "bench-activity",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "PYTHONPATH": str(PROJECT_ROOT),
        }
    )
    return env


def _child(
    target: str, env: Mapping[str, str], *, with_client: bool = False, no_pyc: bool = False
) -> dict[str, Any]:
    argv = [
        sys.executable,
        "-c",
        _CHILD,
        target,
        "1" if with_client else "0",
        "1" if no_pyc else "0",
        ",".join(sorted(BUNDLED_TOP_LEVEL)),
        str(PROJECT_ROOT),
    ]
    run = run_child(argv, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"import {target} failed in the child:\n{run.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    result["wall_s"] = run.wall_seconds
    return result


def _sampler(
    key: str,
    env: Mapping[str, str],
    keep: dict[str, list[dict[str, Any]]],
    *,
    with_client: bool = False,
    no_pyc: bool = False,
) -> Callable[[], float]:
    """A task for ``interleave`` that keeps the child's whole report (under ``key``)."""
    target = key.split("+", 1)[0]
    keep.setdefault(key, [])

    def sample() -> float:
        result = _child(target, env, with_client=with_client, no_pyc=no_pyc)
        keep[key].append(result)
        return float(result["import_s"])

    return sample


def _ms(results: list[dict[str, Any]], field: str) -> float:
    return median([float(result[field]) for result in results]) * 1000


def run(*, runs: int = 15, extra_runs: int = 7) -> Figure:
    """Interleave ``runs`` handler and boto3 children; fewer runs for the informational rows."""
    env = lambda_environment()
    results: dict[str, list[dict[str, Any]]] = {}
    interleave(
        {key: _sampler(key, env, results) for key in ("handler", "boto3")},
        rounds=runs,
    )
    interleave(
        {
            "handler+client": _sampler("handler+client", env, results, with_client=True),
            "boto3+client": _sampler("boto3+client", env, results, with_client=True),
            "handler+no_pyc": _sampler("handler+no_pyc", env, results, no_pyc=True),
        },
        rounds=extra_runs,
    )
    handler_runs, boto3_runs = results["handler"], results["boto3"]
    baseline = "fresh-process `import boto3`, same environment"
    figure = Figure(1, f"Cold import (medians of {runs} interleaved fresh processes each)")
    figure.rows = [
        Row(
            metric="import handler, timed in child",
            ours=_ms(handler_runs, "import_s"),
            baseline=_ms(boto3_runs, "import_s"),
            unit="ms",
            goal=GOAL,
            baseline_label=baseline,
        ),
        Row(
            metric="whole process, wall time",
            ours=_ms(handler_runs, "wall_s"),
            baseline=_ms(boto3_runs, "wall_s"),
            unit="ms",
            goal=GOAL,
            note="interpreter start-up and exit included in both",
        ),
        Row(
            metric="handler, client ready vs boto3 + client",
            ours=_ms(results["handler+client"], "client_s"),
            baseline=_ms(results["boto3+client"], "client_s"),
            unit="ms",
            note=f"{extra_runs} runs; fair baseline: any DynamoDB Lambda builds a client "
            "(same botocore Config); equal to row 1 when the handler builds it at import",
        ),
        Row(
            metric="import handler, no .pyc for bundled",
            ours=_ms(results["handler+no_pyc"], "import_s"),
            baseline=_ms(boto3_runs, "import_s"),
            unit="ms",
            note=(
                f"{extra_runs} runs; a zip without bytecode (no 3.13 at build time): our code "
                "and bundled deps compile on every cold start; stdlib/boto3 keep bytecode"
            ),
        ),
    ]
    modules: list[str] = handler_runs[0]["modules"]
    boto3_modules: list[str] = boto3_runs[0]["modules"]
    present = [name for name in WATCHED_MODULES if name in modules]
    absent = [name for name in WATCHED_MODULES if name not in modules]
    third_party = _third_party_tops(modules)
    figure.details = [
        f"modules after `import handler`: {len(modules)} (after `import boto3`: "
        f"{len(boto3_modules)})",
        f"third-party packages loaded: {', '.join(third_party)}",
        f"watched and loaded: {', '.join(present) or 'none'}",
        f"watched and NOT loaded: {', '.join(absent) or 'none'}",
        f"httpx imported by `import handler`: {'YES' if 'httpx' in modules else 'no'}",
    ]
    figure.data = {
        "runs": runs,
        "extra_runs": extra_runs,
        "samples_ms": {
            key: [round(float(r["import_s"]) * 1000, 2) for r in value]
            for key, value in results.items()
        },
        "modules_after_import_handler": modules,
        "third_party": third_party,
    }
    return figure


def _third_party_tops(modules: list[str]) -> list[str]:
    tops = {name.split(".", 1)[0] for name in modules}
    ours = {"handler", "signin_monitor"}
    return sorted(
        top
        for top in tops
        if top not in sys.stdlib_module_names
        and top not in ours
        and not top.startswith(("_", "__editable__"))
    )
