"""Read saved events from files: EventBridge events (one, an array, or JSON Lines), CloudTrail log
files (``{"Records": [...]}``, plain or gzip), ``aws cloudtrail lookup-events`` output
(``{"Events": [{"CloudTrailEvent": "..."}]}``) and folders of them.

Problems are yielded as ``MalformedRecordError`` values naming the file and position, never
raised, so one bad record or file costs only itself. Records are sorted by event time in bounded
memory (sorted runs spill to temporary files past ``chunk_size`` and are merged).
"""

from __future__ import annotations

import contextlib
import gzip
import heapq
import itertools
import json
import pickle
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from .errors import MalformedRecordError, NotSignInEventError
from .events import SignInEvent, parse_eventbridge, parse_record

__all__ = ["InputRecord", "find_files", "read_events", "read_records", "sort_by_time"]

_FOLDER_SUFFIXES: Final = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
_JSON_LINES_SUFFIXES: Final = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_GZIP_MAGIC: Final = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One JSON value read from a file, with where it came from."""

    source: str
    position: str
    data: Any


def find_files(paths: Iterable[str | Path]) -> Iterator[Path | MalformedRecordError]:
    """Expand folders (recursively, sorted, JSON files only); named files are taken as they are."""
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.name.lower().endswith(_FOLDER_SUFFIXES)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            yield from found
        elif path.exists():
            yield path
        else:
            yield MalformedRecordError("no such file or folder", source=str(path))


def read_records(path: Path) -> Iterator[InputRecord | MalformedRecordError]:
    """Every record in one file, or errors saying which part could not be read.

    ``.jsonl``/``.ndjson`` files are JSON Lines by name; any other file is JSON Lines when its
    first two non-blank lines each parse on their own, else one JSON document.
    """
    source = str(path)
    try:
        with _open(path) as stream:
            if path.name.lower().endswith(_JSON_LINES_SUFFIXES):
                yield from _json_lines(source, stream)
                return
            head, nonblank = _peek(stream, 2)
            if not nonblank:
                yield MalformedRecordError("empty file", source=source)
                return
            if len(nonblank) == 2 and _parses(nonblank[0]):
                yield from _json_lines(source, itertools.chain(head, stream))
                return
            text = b"".join(head) + stream.read()
    except OSError as error:
        yield MalformedRecordError(_os_reason(error), source=source)
        return
    except (EOFError, zlib.error) as error:
        yield MalformedRecordError(f"truncated or corrupt gzip data ({error})", source=source)
        return
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.lineno == 1 and len(nonblank) == 2 and _parses(nonblank[1]):
            # JSON Lines whose first line is broken: report that line, keep the others.
            yield from _json_lines(source, iter(text.splitlines(keepends=True)))
            return
        yield MalformedRecordError(
            f"not valid JSON: {error.msg}",
            source=source,
            position=f"line {error.lineno} column {error.colno}",
        )
        return
    except UnicodeDecodeError as error:
        yield MalformedRecordError(
            f"not UTF-8 text ({error.reason})", source=source, position=f"byte {error.start}"
        )
        return
    yield from _records_of(source, "", document)


def _peek(stream: IO[bytes], count: int) -> tuple[list[bytes], list[bytes]]:
    """Read lines up to and including the ``count``-th non-blank one: (all read, non-blank)."""
    head: list[bytes] = []
    nonblank: list[bytes] = []
    while len(nonblank) < count:
        line = stream.readline()
        if not line:
            break
        head.append(line)
        if line.strip():
            nonblank.append(line)
    return head, nonblank


def _records_of(
    source: str, prefix: str, document: Any
) -> Iterator[InputRecord | MalformedRecordError]:
    if isinstance(document, dict) and "Records" in document:
        records = document["Records"]
        if not isinstance(records, list):
            yield MalformedRecordError("Records is not a list", source=source, position=prefix)
            return
        for index, record in enumerate(records):
            yield InputRecord(source, f"{prefix}Records[{index}]", record)
    elif isinstance(document, dict) and isinstance(document.get("Events"), list):
        yield from _lookup_events(source, prefix, document["Events"])
    elif isinstance(document, list):
        for index, item in enumerate(document):
            yield from _records_of(source, f"{prefix}[{index}]", item)
    elif isinstance(document, dict) and "digestStartTime" in document and "logFiles" in document:
        # A synced CloudTrail bucket holds CloudTrail-Digest files beside the logs: no events.
        yield NotSignInEventError(
            "CloudTrail digest file", source=source, position=prefix.strip() or "document"
        )
    else:
        yield InputRecord(source, prefix.strip() or "document", document)


def _lookup_events(
    source: str, prefix: str, events: list[Any]
) -> Iterator[InputRecord | MalformedRecordError]:
    """``aws cloudtrail lookup-events`` output: each record is JSON text in ``CloudTrailEvent``."""
    for index, item in enumerate(events):
        position = f"{prefix}Events[{index}]"
        text = item.get("CloudTrailEvent") if isinstance(item, dict) else None
        if not isinstance(text, str):
            yield MalformedRecordError(
                "lookup-events item without a CloudTrailEvent string",
                source=source,
                position=position,
            )
            continue
        try:
            yield InputRecord(source, position, json.loads(text))
        except json.JSONDecodeError as error:
            yield MalformedRecordError(
                f"CloudTrailEvent is not valid JSON: {error.msg}", source=source, position=position
            )


def _json_lines(
    source: str, lines: Iterable[bytes]
) -> Iterator[InputRecord | MalformedRecordError]:
    number = 0
    seen = False
    try:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            seen = True
            position = f"line {number}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                yield MalformedRecordError(
                    f"not valid JSON: {error.msg}", source=source, position=position
                )
                continue
            except UnicodeDecodeError as error:
                yield MalformedRecordError(
                    f"not UTF-8 text ({error.reason})", source=source, position=position
                )
                continue
            yield from _records_of(source, f"{position} ", value)
    except (EOFError, zlib.error, OSError) as error:
        yield MalformedRecordError(
            f"file ends early or is corrupt after line {number} ({error})", source=source
        )
        return
    if not seen:
        yield MalformedRecordError("empty file", source=source)


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    """The file's bytes, gunzipped when it starts with the gzip magic (whatever its name)."""
    with path.open("rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield unzipped  # type: ignore[misc]


def _os_reason(error: OSError) -> str:
    return f"cannot read: {error.strerror or error}"


def to_event(record: InputRecord) -> SignInEvent:
    """Normalize one input record; raise MalformedRecordError or NotSignInEventError."""
    data = record.data
    if isinstance(data, dict) and "detail" in data and "detail-type" in data:
        return parse_eventbridge(data, source=record.source, position=record.position)
    if isinstance(data, dict) and ("eventSource" in data or "eventID" in data):
        return parse_record(data, source=record.source, position=record.position)
    raise MalformedRecordError(
        "neither an EventBridge event nor a CloudTrail record",
        source=record.source,
        position=record.position,
    )


def read_events(
    paths: Iterable[str | Path],
) -> Iterator[SignInEvent | MalformedRecordError]:
    """Sign-in events from the given paths in file order; errors (and skips) as values."""
    for item in find_files(paths):
        if isinstance(item, MalformedRecordError):
            yield item
            continue
        for record in read_records(item):
            if isinstance(record, MalformedRecordError):
                yield record
                continue
            try:
                yield to_event(record)
            except MalformedRecordError as error:  # NotSignInEventError included
                yield error


def sort_by_time(
    events: Iterable[SignInEvent], *, chunk_size: int = 50_000
) -> Iterator[SignInEvent]:
    """Events in event-time order (input order among equal times), holding at most
    ``chunk_size`` events in memory: larger inputs are sorted in runs spilled to temporary files.
    """
    run: list[tuple[str, int, SignInEvent]] = []
    spilled: list[IO[bytes]] = []
    try:
        for sequence, event in enumerate(events):
            run.append((event.time_text, sequence, event))
            if len(run) >= chunk_size:
                spilled.append(_spill(run))
                run = []
        run.sort(key=_sort_key)
        if not spilled:
            for _, _, event in run:
                yield event
            return
        streams = [_unspill(handle) for handle in spilled]
        for _, _, event in heapq.merge(*streams, iter(run), key=_sort_key):
            yield event
    finally:
        for handle in spilled:
            handle.close()


def _sort_key(item: tuple[str, int, SignInEvent]) -> tuple[str, int]:
    return item[0], item[1]


def _spill(run: list[tuple[str, int, SignInEvent]]) -> IO[bytes]:
    run.sort(key=_sort_key)
    handle = tempfile.TemporaryFile(prefix="signin-monitor-sort-")  # noqa: SIM115 (closed by caller)
    for item in run:
        # One pickle per item, read back one by one: a shared memo would cross-link items.
        pickle.dump(item, handle, protocol=pickle.HIGHEST_PROTOCOL)
    handle.seek(0)
    return handle


def _unspill(handle: IO[bytes]) -> Iterator[tuple[str, int, SignInEvent]]:
    while True:
        try:
            yield pickle.load(handle)  # noqa: S301 (our own temporary file)
        except EOFError:
            return


def is_skip(error: MalformedRecordError) -> bool:
    """True for well-formed events that simply are not sign-in events."""
    return isinstance(error, NotSignInEventError)
