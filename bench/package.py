"""Figure 5: the Lambda zip's size against Lambda's limits and our 5 MB goal.

The zip is built the way ``make package`` builds it (``scripts/build_lambda.py`` in a child
process: pip installs the locked wheels for arm64), then measured from the zip itself: bytes on
disk, and the sum of the entries' uncompressed sizes (what Lambda unpacks into ``/var/task``).
The baselines are the limits a zip deployment must stay under: 50 MB zipped (direct upload),
250 MB unzipped. Our own goal is 5 MB zipped: boto3 stays out (the runtime provides it).
"""

from __future__ import annotations

import sys
import time
import zipfile
from collections import Counter
from typing import Final

from .measure import PROJECT_ROOT, run_child
from .report import Figure, Row

__all__ = ["run"]

MB: Final = 1024 * 1024
LIMIT_ZIPPED: Final = 50 * MB
LIMIT_UNZIPPED: Final = 250 * MB
GOAL_ZIPPED: Final = 5 * MB
ZIP_PATH: Final = PROJECT_ROOT / "dist" / "lambda.zip"


def _top_level(name: str) -> str:
    top = name.split("/", 1)[0]
    return top.split("-", 1)[0] if top.endswith(".dist-info") else top.removesuffix(".py")


def run(*, rebuild: bool = True) -> Figure:
    """Build (or, with ``rebuild=False`` and a zip present, reuse) ``dist/lambda.zip``; measure."""
    figure = Figure(5, "Lambda package size (dist/lambda.zip, python3.13 arm64)")
    how = "reused"
    if rebuild or not ZIP_PATH.is_file():
        started = time.perf_counter()
        build = run_child([sys.executable, str(PROJECT_ROOT / "scripts" / "build_lambda.py")])
        if build.returncode != 0:
            figure.error = f"build_lambda.py failed: {build.stderr.strip()[-600:]}"
            return figure
        how = f"built in {time.perf_counter() - started:.1f} s"
    with zipfile.ZipFile(ZIP_PATH) as archive:
        entries = archive.infolist()
    zipped = ZIP_PATH.stat().st_size
    unzipped = sum(entry.file_size for entry in entries)
    by_package: Counter[str] = Counter()
    for entry in entries:
        by_package[_top_level(entry.filename)] += entry.file_size
    biggest = ", ".join(f"{name} {size / MB:.1f}" for name, size in by_package.most_common(6))
    figure.rows = [
        Row(
            metric="zipped vs Lambda limit",
            ours=zipped / MB,
            baseline=LIMIT_ZIPPED / MB,
            unit="MB",
            goal=GOAL_ZIPPED / LIMIT_ZIPPED,
            baseline_label="Lambda zip limits: 50 MB zipped (direct upload), 250 MB unzipped",
            note=f"goal <= 5 MB zipped, i.e. <= {GOAL_ZIPPED / LIMIT_ZIPPED:g}x of the limit",
        ),
        Row(
            metric="unzipped vs Lambda limit",
            ours=unzipped / MB,
            baseline=LIMIT_UNZIPPED / MB,
            unit="MB",
            goal=1.0,
        ),
    ]
    figure.details = [
        f"{ZIP_PATH.relative_to(PROJECT_ROOT)}: {len(entries)} files, {how}",
        f"unzipped MB by top-level package: {biggest}",
    ]
    figure.data = {
        "zipped_bytes": zipped,
        "unzipped_bytes": unzipped,
        "entries": len(entries),
        "by_package_bytes": dict(by_package.most_common()),
    }
    return figure
