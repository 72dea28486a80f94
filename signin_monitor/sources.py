"""Read saved events from files: EventBridge events (one, an array, or JSON Lines), CloudTrail log
files (``{"Records": [...]}``, plain or gzip), ``aws cloudtrail lookup-events`` output
(``{"Events": [{"CloudTrailEvent": "..."}]}``) and folders of them.

Problems are yielded as ``MalformedRecordError`` values naming the file and position, never
raised, so one bad record or file costs only itself: JSON nested too deeply, numbers past
Python's 4,300-digit limit, bytes that are not UTF-8, truncated gzip and gzip data inflating past
``MAX_DECOMPRESSED_BYTES`` included. A path that cannot be read as a file is a
``SkippedFileError``, never passed over in silence.

Documents are read one record at a time (``json.JSONDecoder.raw_decode`` over a sliding buffer),
so memory follows the largest record, not the file: the standard library's C decoder is as fast
as a streaming parser and, unlike ijson's C backend (whose memory grows with the square of the
nesting depth), fails cleanly with RecursionError on deep nesting. Records are then sorted by
event time in bounded memory (sorted runs spill to temporary files past ``chunk_size``).
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import gzip
import heapq
import io
import json
import os
import pickle
import re
import tempfile
import zlib
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final, Generic, TypeVar

from .errors import MalformedRecordError, NotSignInEventError, SkippedFileError
from .events import SignInEvent, parse_eventbridge, parse_record

_Item = TypeVar("_Item")

__all__ = [
    "JSON_LINES_SUFFIXES",
    "MAX_DECOMPRESSED_BYTES",
    "InputRecord",
    "TimeSorter",
    "find_files",
    "read_events",
    "read_records",
    "sort_by_time",
    "to_event",
]

_FOLDER_SUFFIXES: Final = (".json", ".jsonl", ".ndjson", ".json.gz", ".jsonl.gz", ".ndjson.gz")
#: Names read as JSON Lines whatever their content.
JSON_LINES_SUFFIXES: Final = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
_GZIP_MAGIC: Final = b"\x1f\x8b"
#: Decompressed bytes read from one gzip file at most. A real CloudTrail log file inflates to
#: a few MB (tens at the busiest); 1 GiB is far past any, yet a gzip bomb (1 MB that inflates
#: to 1 GiB) costs seconds, not the machine. Plain files are read as they are: their bytes are
#: already on disk, and memory does not grow with them.
MAX_DECOMPRESSED_BYTES: Final = 1 << 30
#: Bytes looked at first to tell JSON Lines from a document.
_PEEK_BYTES: Final = 1 << 20
_CHUNK_BYTES: Final = 1 << 20
#: One record (or a document that is not an array of them) is read whole up to this size.
#: EventBridge caps an event at 256 KB; CloudTrail records are smaller still.
_MAX_VALUE_CHARS: Final = 64 << 20
#: ``[[...]]``: arrays of arrays of events are accepted this deep, no deeper.
_MAX_ARRAY_DEPTH: Final = 3


@dataclass(frozen=True, slots=True)
class InputRecord:
    """One JSON value read from a file, with where it came from.

    ``text`` is the value's JSON text as the file holds it, for a CloudTrail record of a log
    file (``Records[i]``) or of lookup-events (``CloudTrailEvent``): what the store keeps.
    """

    source: str
    position: str
    data: Any
    text: str | None = None


def find_files(paths: Iterable[str | Path]) -> Iterator[Path | MalformedRecordError]:
    """Expand folders (recursively, sorted, JSON files only); named files are taken as they are.

    Nothing is skipped in silence: a path that cannot be read as a file (see
    ``SkippedFileError``) comes out as an error in its sorted place. Hidden names (``.git``) and
    files without a JSON suffix are passed over on purpose. Symlinks to files are followed;
    symlinks to folders are reported, not followed (no loops, no file read twice).
    """
    for given in paths:
        path = Path(given)
        if path.is_dir():
            yield from _walk(path)
        elif path.exists():
            yield path if path.is_file() else _special(path)
        elif path.is_symlink():
            yield SkippedFileError(_broken_link_reason(path), source=str(path))
        else:
            yield MalformedRecordError("no such file or folder", source=str(path))


def _walk(root: Path) -> Iterator[Path | MalformedRecordError]:
    """Every JSON file under ``root`` and every path skipped there, sorted by path."""
    found: list[tuple[Path, Path | MalformedRecordError]] = []
    folders = [root]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError as error:
            found.append((folder, SkippedFileError(_folder_reason(error), source=str(folder))))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError as error:  # a symlink loop, on some systems
                reason = _broken_link_reason(path) if entry.is_symlink() else _os_reason(error)
                found.append((path, SkippedFileError(reason, source=str(path))))
                continue
            if entry.is_symlink() and is_dir:
                reason = "symlink to a folder, not followed (name it on the command line)"
                found.append((path, SkippedFileError(reason, source=str(path))))
            elif is_dir:
                folders.append(path)
            elif not path.name.lower().endswith(_FOLDER_SUFFIXES):
                continue
            elif is_file:
                found.append((path, path))
            elif entry.is_symlink() and not path.exists():
                found.append((path, SkippedFileError(_broken_link_reason(path), source=str(path))))
            else:
                found.append((path, _special(path)))
    for _, item in sorted(found, key=lambda pair: pair[0]):
        yield item


def _special(path: Path) -> SkippedFileError:
    return SkippedFileError(
        "not a regular file (a FIFO, socket or device): not read", source=str(path)
    )


def _broken_link_reason(path: Path) -> str:
    try:
        path.stat()
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symlink loop: not read"
    return "dangling symlink (its target does not exist): not read"


def _folder_reason(error: OSError) -> str:
    return f"folder not read: {error.strerror or error}"


def read_records(
    path: Path, *, max_bytes: int | None = None
) -> Iterator[InputRecord | MalformedRecordError]:
    """Every record in one file, or errors saying which part could not be read.

    ``.jsonl``/``.ndjson`` files are JSON Lines by name; any other file is JSON Lines when its
    first two non-blank lines each parse on their own, else one JSON document. Documents are
    read record by record (``Records[i]``, ``Events[i]``, ``[i]``), so memory follows the
    largest record, not the file. Gzip data past ``max_bytes`` (default
    ``MAX_DECOMPRESSED_BYTES``) is not inflated: the records before it are kept and one error
    says where reading stopped.
    """
    source = str(path)
    limit = MAX_DECOMPRESSED_BYTES if max_bytes is None else max_bytes
    try:
        with _open(path, limit) as stream:
            if path.name.lower().endswith(JSON_LINES_SUFFIXES):
                yield from _json_lines(source, stream)
                return
            head = stream.read(_PEEK_BYTES)
            nonblank = _first_lines(head, 2)
            if not nonblank:
                if head:
                    # Only whitespace so far: the rest may still hold a document.
                    head += stream.read()
                if not head.strip():
                    yield MalformedRecordError("empty file", source=source)
                    return
                nonblank = _first_lines(head, 2)
            if len(nonblank) == 2 and _parses(nonblank[0]):
                yield from _json_lines(source, _lines(head, stream))
                return
            second_parses = len(nonblank) == 2 and _parses(nonblank[1])
            for item in _document(source, head, stream):
                if isinstance(item, _BrokenFirstLine):
                    if second_parses:
                        # JSON Lines whose first line is broken: report that line, keep the rest.
                        yield from _json_lines_again(path, limit)
                        return
                    item = item.error
                yield item
    except _TooLargeError:
        yield MalformedRecordError(
            f"stopped after {limit:,} bytes of decompressed data (MAX_DECOMPRESSED_BYTES): "
            "a gzip bomb or an unusually large log; the records before were read, the rest "
            "was not",
            source=source,
        )
    except OSError as error:
        yield MalformedRecordError(_os_reason(error), source=source)
    except (EOFError, zlib.error) as error:
        yield MalformedRecordError(
            f"truncated or corrupt gzip data ({error}); the records before were read",
            source=source,
        )


def _json_lines_again(path: Path, limit: int) -> Iterator[InputRecord | MalformedRecordError]:
    with _open(path, limit) as stream:
        yield from _json_lines(str(path), stream)


@dataclass(frozen=True, slots=True)
class _BrokenFirstLine:
    """The document failed on its first line (maybe JSON Lines with a broken first line)."""

    error: MalformedRecordError


def _first_lines(data: bytes, count: int) -> list[bytes]:
    """The first ``count`` non-blank complete lines of ``data`` (a last unfinished one too)."""
    found: list[bytes] = []
    start = 0
    while len(found) < count and start < len(data):
        end = data.find(b"\n", start)
        line = data[start:] if end < 0 else data[start : end + 1]
        if line.strip():
            found.append(line)
        if end < 0:
            break
        start = end + 1
    return found


def _lines(head: bytes, stream: IO[bytes]) -> Iterator[bytes]:
    """The lines of ``head`` followed by the rest of ``stream``, the seam joined."""
    pieces = head.splitlines(keepends=True)
    if pieces and not pieces[-1].endswith(b"\n"):
        pieces[-1] += stream.readline()
    yield from pieces
    yield from stream


class _Text:
    """Decoded text of a byte stream, read in chunks, for ``raw_decode`` one value at a time.

    Consumed text is dropped as reading goes on; ``where`` turns a position back into the line
    and column of the whole file, as ``json.loads`` would have reported them.
    """

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        encoding = json.detect_encoding(head)
        self._decoder = codecs.getincrementaldecoder(encoding)("surrogatepass")
        self._stream = stream
        self._bytes_read = 0
        self.buffer = ""
        self.eof = False
        self._lines_dropped = 0
        self._column_dropped = 0
        self._feed(head)

    def _feed(self, data: bytes) -> None:
        try:
            self.buffer += self._decoder.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise _NotTextError(error.reason, self._bytes_read + error.start) from None
        self._bytes_read += len(data)
        if not data:
            self.eof = True

    def more(self, at_least: int = _CHUNK_BYTES) -> bool:
        """Read at least ``at_least`` more bytes; False at the end of the file."""
        if self.eof:
            return False
        self._feed(self._stream.read(max(at_least, _CHUNK_BYTES)))
        return True

    def drop(self, position: int) -> int:
        """Forget the text before ``position``; returns the position's new index (0)."""
        gone = self.buffer[:position]
        newlines = gone.count("\n")
        if newlines:
            self._lines_dropped += newlines
            self._column_dropped = len(gone) - gone.rfind("\n") - 1
        else:
            self._column_dropped += len(gone)
        self.buffer = self.buffer[position:]
        return 0

    def skip_space(self, position: int) -> int:
        """The index of the next non-space character, reading on as needed (len at the end)."""
        while True:
            position = _SPACE.match(self.buffer, position).end()  # type: ignore[union-attr]
            if position < len(self.buffer) or self.eof:
                return position
            position = self.drop(position)  # all space so far: keep none of it
            self.more()

    def where(self, error: json.JSONDecodeError) -> str:
        line = self._lines_dropped + error.lineno
        column = error.colno + (self._column_dropped if error.lineno == 1 else 0)
        return f"line {line} column {column}"

    def is_first_line(self, error: json.JSONDecodeError) -> bool:
        return self._lines_dropped + error.lineno == 1


class _NotTextError(Exception):
    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.offset = offset


_DECODER: Final = json.JSONDecoder()
_SPACE: Final = re.compile(r"[ \t\n\r]*")
_STREAMED_ARRAY: Final = re.compile(r'\{[ \t\n\r]*"(Records|Events)"[ \t\n\r]*:[ \t\n\r]*\[')


def _document(
    source: str, head: bytes, stream: IO[bytes]
) -> Iterator[InputRecord | MalformedRecordError | _BrokenFirstLine]:
    """One JSON document, its records yielded as they are parsed.

    A top-level array, or an object whose first member is ``Records`` or ``Events`` (how
    CloudTrail and the AWS CLI write them), is read one element at a time; any other document
    is one value, read whole (at most ``_MAX_VALUE_CHARS``).
    """
    try:
        text = _Text(head, stream)
        position = text.skip_space(0)
        while len(text.buffer) - position < 64 and text.more():
            pass
        opening = _STREAMED_ARRAY.match(text.buffer, position)
        if opening is not None:
            key = opening.group(1)
            yield from _array(source, text, opening.end(), key)
        elif text.buffer.startswith("[", position):
            yield from _array(source, text, position + 1, "")
        else:
            value, end = yield from _value(source, text, position, "document")
            if end < 0:
                return
            if text.skip_space(end) < len(text.buffer):
                yield _syntax_error(source, text, end, "Extra data", "document")
                return
            yield from _records_of(source, "", value)
    except _NotTextError as error:
        yield MalformedRecordError(
            f"not UTF-8 text ({error.reason})", source=source, position=f"byte {error.offset}"
        )


def _array(
    source: str, text: _Text, position: int, key: str
) -> Iterator[InputRecord | MalformedRecordError | _BrokenFirstLine]:
    """The elements of the array opened before ``position``, then the end of the document."""
    index = 0
    position = text.skip_space(position)
    if text.buffer.startswith("]", position):
        position += 1
    else:
        while True:
            where = f"{key}[{index}]"
            value, end = yield from _value(source, text, position, where)
            if end < 0:
                return
            if key == "Records":
                yield InputRecord(source, where, value, text.buffer[position:end])
            elif key == "Events":
                yield _lookup_event(source, where, value)
            else:
                yield from _records_of(source, where, value)
            index += 1
            position = text.skip_space(end)
            if text.buffer.startswith(",", position):
                position = text.skip_space(position + 1)
                if position > _CHUNK_BYTES:
                    position = text.drop(position)
                continue
            if text.buffer.startswith("]", position):
                position += 1
                break
            yield _syntax_error(source, text, position, "Expecting ',' delimiter", where)
            return
    # After the array: nothing for a top-level array; the object's other members otherwise.
    rest = text.buffer[position:]
    while text.more():
        rest = text.buffer[position:]
        if len(rest) > _MAX_VALUE_CHARS:
            break
    rest = rest.strip()
    if key:
        closing = "{" + rest[1:] if rest.startswith(",") else "{}" if rest == "}" else rest
        try:
            members = json.loads(closing) if closing.startswith("{") else None
        except (ValueError, RecursionError):
            members = None
        if not isinstance(members, dict):
            yield MalformedRecordError(
                f"not valid JSON after the {key} array", source=source, position="document"
            )
    elif rest:
        yield MalformedRecordError(
            "not valid JSON: Extra data after the array", source=source, position="document"
        )


def _value(
    source: str, text: _Text, position: int, where: str
) -> Generator[MalformedRecordError | _BrokenFirstLine, None, tuple[Any, int]]:
    """Decode one JSON value at ``position``, reading on until it is complete.

    Returns ``(value, end)``; on an error, yields it and returns ``(None, -1)``: a stream cannot
    be resynchronized after a broken value, so the caller stops reading the file.
    """
    while True:
        try:
            value, end = _DECODER.raw_decode(text.buffer, position)
            if end == len(text.buffer) and text.more():
                continue  # a number may go on in the next chunk: decode it again, whole
            return value, end
        except json.JSONDecodeError as error:
            if not text.eof and len(text.buffer) - position <= _MAX_VALUE_CHARS:
                text.more(len(text.buffer) - position)
                continue
            if not text.eof:
                reason = f"a single value over {_MAX_VALUE_CHARS:,} characters, or not valid JSON"
            else:
                reason = f"not valid JSON: {error.msg}"
            found = _located(source, text, error, reason, where)
            yield _BrokenFirstLine(found) if text.is_first_line(error) else found
        except RecursionError:
            yield _stopped(source, where, "nested too deeply to read")
        except MemoryError:
            yield _stopped(source, where, "too large to read into memory")
        except ValueError as error:  # e.g. an integer of more than 4,300 digits
            yield _stopped(source, where, _unreadable(error))
        return None, -1


def _located(
    source: str, text: _Text, error: json.JSONDecodeError, reason: str, where: str
) -> MalformedRecordError:
    suffix = "" if where == "document" else f" in {where}; the rest of the file was not read"
    return MalformedRecordError(reason + suffix, source=source, position=text.where(error))


def _syntax_error(
    source: str, text: _Text, position: int, message: str, where: str
) -> MalformedRecordError:
    error = json.JSONDecodeError(message, text.buffer, position)
    return _located(source, text, error, f"not valid JSON: {message}", where)


def _stopped(source: str, where: str, reason: str) -> MalformedRecordError:
    if where != "document":
        reason += "; the rest of the file was not read"
    return MalformedRecordError(reason, source=source, position=where)


def _records_of(
    source: str, prefix: str, document: Any, *, depth: int = 0
) -> Iterator[InputRecord | MalformedRecordError]:
    if isinstance(document, dict) and "Records" in document:
        records = document["Records"]
        if not isinstance(records, list):
            yield MalformedRecordError("Records is not a list", source=source, position=prefix)
            return
        for index, record in enumerate(records):
            yield InputRecord(source, f"{prefix}Records[{index}]", record)
    elif isinstance(document, dict) and isinstance(document.get("Events"), list):
        for index, item in enumerate(document["Events"]):
            yield _lookup_event(source, f"{prefix}Events[{index}]", item)
    elif isinstance(document, list):
        if depth >= _MAX_ARRAY_DEPTH:
            yield MalformedRecordError(
                f"arrays nested more than {_MAX_ARRAY_DEPTH} deep",
                source=source,
                position=prefix.strip() or "document",
            )
            return
        for index, item in enumerate(document):
            yield from _records_of(source, f"{prefix}[{index}]", item, depth=depth + 1)
    elif isinstance(document, dict) and "digestStartTime" in document and "logFiles" in document:
        # A synced CloudTrail bucket holds CloudTrail-Digest files beside the logs: no events.
        yield NotSignInEventError(
            "CloudTrail digest file", source=source, position=prefix.strip() or "document"
        )
    else:
        yield InputRecord(source, prefix.strip() or "document", document)


def _lookup_event(source: str, position: str, item: Any) -> InputRecord | MalformedRecordError:
    """One ``aws cloudtrail lookup-events`` item: the record is JSON text in ``CloudTrailEvent``."""
    text = item.get("CloudTrailEvent") if isinstance(item, dict) else None
    if not isinstance(text, str):
        return MalformedRecordError(
            "lookup-events item without a CloudTrailEvent string",
            source=source,
            position=position,
        )
    try:
        return InputRecord(source, position, json.loads(text), text)
    except json.JSONDecodeError as error:
        return MalformedRecordError(
            f"CloudTrailEvent is not valid JSON: {error.msg}", source=source, position=position
        )
    except RecursionError:
        reason = "CloudTrailEvent is nested too deeply to read"
    except ValueError as error:
        reason = f"CloudTrailEvent {_unreadable(error)}"
    return MalformedRecordError(reason, source=source, position=position)


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
            except RecursionError:
                yield MalformedRecordError(
                    "nested too deeply to read", source=source, position=position
                )
                continue
            except ValueError as error:  # e.g. an integer of more than 4,300 digits
                yield MalformedRecordError(_unreadable(error), source=source, position=position)
                continue
            yield from _records_of(source, f"{position} ", value)
    except (EOFError, zlib.error, OSError) as error:
        yield MalformedRecordError(
            f"file ends early or is corrupt after line {number} ({error})", source=source
        )
        return
    if not seen:
        yield MalformedRecordError("empty file", source=source)


def _unreadable(error: ValueError) -> str:
    """A JSON error that is not a syntax error, in words (no input value quoted)."""
    if "integer string conversion" in str(error):
        return "not readable: a number of more than 4,300 digits"
    return f"not readable: {_clip(str(error))}"


def _clip(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


class _TooLargeError(Exception):
    """More decompressed bytes than the cap allows."""


class _Capped(io.RawIOBase):
    """A decompressed stream that raises ``_TooLargeError`` past ``limit`` bytes."""

    def __init__(self, inner: io.BufferedIOBase, limit: int) -> None:
        super().__init__()
        self._inner = inner
        self._left = limit

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer)
        data = self._inner.read(min(len(view), self._left + 1))
        if len(data) > self._left:
            raise _TooLargeError
        self._left -= len(data)
        view[: len(data)] = data
        return len(data)


@contextlib.contextmanager
def _open(path: Path, limit: int = MAX_DECOMPRESSED_BYTES) -> Iterator[IO[bytes]]:
    """The file's bytes, gunzipped (at most ``limit`` of them) when it starts with the gzip
    magic, whatever its name."""
    if not path.is_file():
        # A FIFO would block forever, a device read without end: only regular files are read.
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        raise OSError(0, "not a regular file (a FIFO, socket or device)", str(path))
    with path.open("rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
            yield io.BufferedReader(_Capped(unzipped, limit))


def _os_reason(error: OSError) -> str:
    return f"cannot read: {error.strerror or error}"


def to_event(record: InputRecord) -> SignInEvent:
    """Normalize one input record; raise MalformedRecordError or NotSignInEventError."""
    data = record.data
    if isinstance(data, dict) and "detail-type" in data:
        return parse_eventbridge(data, source=record.source, position=record.position)
    if isinstance(data, dict) and ("eventSource" in data or "eventID" in data):
        return parse_record(data, source=record.source, position=record.position, text=record.text)
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
    sorter: TimeSorter[SignInEvent] = TimeSorter(chunk_size=chunk_size)
    with sorter:
        for event in events:
            sorter.add(event.time_text, event)
        yield from sorter


class TimeSorter(Generic[_Item]):
    """Items added with their time text, given back in (time text, order added) order.

    At most ``chunk_size`` items are held in memory: past that, sorted runs are pickled to
    temporary files and merged back (a stable merge: added order among equal times). Use it
    as a context manager so the files are closed however the reading ends.
    """

    def __init__(self, *, chunk_size: int) -> None:
        self.chunk_size = max(1, chunk_size)
        self._run: list[tuple[str, int, _Item]] = []
        self._spilled: list[IO[bytes]] = []
        self._added = 0

    def __len__(self) -> int:
        return self._added

    @property
    def spilled(self) -> bool:
        """True once a run went to a temporary file (the items are not all in memory)."""
        return bool(self._spilled)

    def add(self, time_text: str, item: _Item) -> None:
        """Add one item; spill the run held in memory when it is full."""
        self._run.append((time_text, self._added, item))
        self._added += 1
        if len(self._run) >= self.chunk_size:
            self._spilled.append(_spill(self._run))
            self._run = []

    def __iter__(self) -> Iterator[_Item]:
        run, self._run = self._run, []
        run.sort(key=_sort_key)
        if not self._spilled:
            for _, _, item in run:
                yield item
            return
        streams: list[Iterator[tuple[str, int, _Item]]] = [
            _unspill(handle) for handle in self._spilled
        ]
        for _, _, item in heapq.merge(*streams, iter(run), key=_sort_key):
            yield item

    def __enter__(self) -> TimeSorter[_Item]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for handle in self._spilled:
            handle.close()
        self._spilled = []


def _sort_key(item: tuple[str, int, Any]) -> tuple[str, int]:
    return item[0], item[1]


def _spill(run: list[tuple[str, int, Any]]) -> IO[bytes]:
    run.sort(key=_sort_key)
    handle = tempfile.TemporaryFile(prefix="signin-monitor-sort-")  # noqa: SIM115 (closed by caller)
    for item in run:
        # One pickle per item, read back one by one: a shared memo would cross-link items.
        pickle.dump(item, handle, protocol=pickle.HIGHEST_PROTOCOL)
    handle.seek(0)
    return handle


def _unspill(handle: IO[bytes]) -> Iterator[Any]:
    while True:
        try:
            yield pickle.load(handle)  # noqa: S301 (our own temporary file)
        except EOFError:
            return


def is_skip(error: MalformedRecordError) -> bool:
    """True for records no pattern matches: not monitored (counted, never malformed)."""
    return isinstance(error, NotSignInEventError)
