"""The replay figure's baseline, run as its own process: read, gunzip and parse every file.

``python -m bench.read_baseline FOLDER...`` does the least any replay must do with CloudTrail
files (open, gunzip, ``json.loads``, touch each record) and nothing else, so the ratio to it says
what parsing, sorting, storing and the rules cost on top. It prints the record count on stderr,
the way the real replay prints its summary there.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

__all__ = ["main", "read_all"]


def read_all(folders: list[Path]) -> int:
    """Records in every ``.json.gz`` file under the folders (sorted, as the replay walks them)."""
    records = 0
    for folder in folders:
        for path in sorted(folder.rglob("*.json.gz")):
            with gzip.open(path, "rb") as stream:
                document = json.loads(stream.read())
            for record in document["Records"]:
                records += isinstance(record, dict)
    return records


def main(argv: list[str]) -> int:
    """Entry point; exit status 0."""
    count = read_all([Path(arg) for arg in argv])
    print(f"{count:,} records read", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
