"""Figure 7: memory while reading one large document is bounded by records, not by file size.

One CloudTrail log document (``{"Records": [...]}`` on one line, as S3 stores it) and one
``aws cloudtrail lookup-events`` output (``{"Events": [{"CloudTrailEvent": "..."}]}``) of
growing size are read by ``sources.read_events`` in a child process each; its peak RSS (via
``wait4``) is compared with a child that only imports the reader (the baseline, same run), and
the largest input's peak with the smallest's (flat means about 1x).

``python -m bench.read_memory FILE`` (the child) reads FILE and prints the event count;
``python -m bench.read_memory --import-only`` is the baseline.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from .measure import run_child
from .report import Figure, Row, format_table

__all__ = ["main", "run", "write_document"]

FLAT_GOAL = 1.25


def _record(index: int) -> str:
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEEXAMPLE01",
            "arn": f"arn:aws:iam::111122223333:user/user{index % 5000}",
            "accountId": "111122223333",
            "userName": f"user{index % 5000}",
        },
        "eventTime": f"2026-11-02T{index // 3600 % 24:02}:{index // 60 % 60:02}:{index % 60:02}Z",
        "eventSource": "signin.amazonaws.com",
        "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1",
        "sourceIPAddress": f"198.51.{index // 256 % 256}.{index % 256}",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)",
        "requestParameters": None,
        "responseElements": {"ConsoleLogin": "Success"},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No",
            "MFAUsed": "Yes",
        },
        "eventID": f"00000000-0000-4000-8000-{index:012d}",
        "readOnly": False,
        "eventType": "AwsConsoleSignIn",
        "managementEvent": True,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
    }
    return json.dumps(record)


def write_document(path: Path, megabytes: int, *, shape: str = "cloudtrail") -> int:
    """Write a document of about ``megabytes`` MB; returns its record count."""
    target = megabytes * 1_000_000
    written = count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{"Records":[' if shape == "cloudtrail" else '{"Events":[')
        while written < target:
            text = _record(count)
            if shape != "cloudtrail":
                text = json.dumps({"EventId": str(count), "CloudTrailEvent": text})
            out.write(("," if count else "") + text)
            written += len(text) + 1
            count += 1
        out.write("]}" if shape == "cloudtrail" else '],"NextToken":"x"}')
    return count


def run(*, sizes_mb: tuple[int, ...]) -> Figure:
    """Peak RSS of reading each size, beside the import-only baseline."""
    figure = Figure(7, "reading memory")
    baseline = run_child([sys.executable, "-m", "bench.read_memory", "--import-only"])
    table: list[list[str]] = []
    peaks: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="signin-monitor-bench-") as folder:
        for shape in ("cloudtrail", "lookup-events"):
            for size in sizes_mb:
                path = Path(folder) / f"{shape}-{size}.json"
                records = write_document(path, size, shape=shape)
                child = run_child([sys.executable, "-m", "bench.read_memory", str(path)])
                path.unlink()
                if child.returncode != 0 or child.stdout.strip() != str(records):
                    raise RuntimeError(f"reading {path.name} failed: {child.stderr[-500:]}")
                peaks.setdefault(shape, []).append(child.max_rss_mb)
                table.append(
                    [
                        shape,
                        f"{size:,} MB",
                        f"{records:,}",
                        f"{child.max_rss_mb:,.1f} MB",
                        f"{child.wall_seconds:,.1f} s",
                    ]
                )
                figure.rows.append(
                    Row(
                        metric=f"peak RSS, {shape} {size} MB",
                        ours=child.max_rss_mb,
                        baseline=baseline.max_rss_mb,
                        unit="MB",
                        baseline_label="import only",
                    )
                )
    for shape, values in peaks.items():
        figure.rows.append(
            Row(
                metric=f"peak RSS {shape}, {sizes_mb[-1]} MB / {sizes_mb[0]} MB input",
                ours=values[-1],
                baseline=values[0],
                unit="MB",
                goal=FLAT_GOAL,
                baseline_label=f"{sizes_mb[0]} MB input",
                note="flat: memory follows records, not file size",
            )
        )
    figure.details += format_table(["shape", "input", "records", "peak RSS", "time"], table)
    figure.data = {"baseline_mb": baseline.max_rss_mb, "peaks_mb": peaks, "sizes_mb": sizes_mb}
    return figure


def main(argv: list[str]) -> int:
    """The child: read one file (or only import the reader) and print the event count."""
    from signin_monitor.events import SignInEvent
    from signin_monitor.sources import read_events

    if argv == ["--import-only"]:
        print(0)
        return 0
    events = sum(isinstance(item, SignInEvent) for item in read_events([Path(argv[0])]))
    print(events)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
