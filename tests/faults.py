"""A fault-injecting HTTP proxy in front of a moto server: DynamoDB applies, the caller never hears.

DynamoDB can apply a write and the response still be lost: a 500 from the front end after the
storage node committed, or a connection reset on the way back. botocore then sends the same
request again, and a conditional write's retry meets its own earlier write. moto never does
this by itself; ``FaultProxy`` does, deterministically:

* it forwards every request to the upstream moto server and relays the answer;
* for the requests a ``Fault`` selects (the Nth request of an operation whose body holds a
  marker, e.g. every claim ``PutItem`` holding ``"ALERT#``) it forwards the request - moto applies
  the write - and then answers 500, or resets the connection, instead of relaying moto's answer;
* a fault may also answer without forwarding (``forward=False``: a plain 5xx or throttling reply).

Point ``AWS_ENDPOINT_URL`` (or a client's ``endpoint_url``) at ``proxy.url``. Local only: the
proxy listens on 127.0.0.1 and forwards to the given upstream URL.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal
from urllib.parse import urlsplit

__all__ = ["Fault", "FaultProxy", "Injected", "fault_proxy"]

Mode = Literal["500", "reset", "503", "throttle"]

_TARGET_PREFIX = "DynamoDB_20120810."
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})
_JSON = "application/x-amz-json-1.0"
_BODIES: dict[str, tuple[int, bytes]] = {
    "500": (
        500,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError",'
        b'"message":"injected: the response was lost"}',
    ),
    "503": (503, b'{"__type":"ServiceUnavailable","message":"injected"}'),
    "throttle": (
        400,
        b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException",'
        b'"message":"injected: rate exceeded"}',
    ),
}


@dataclass
class Fault:
    """Which requests lose their answer, and how.

    ``operation`` is the DynamoDB API name (``PutItem``); ``contains`` a text the request body
    must hold (``"ALERT#``); ``nth`` the 1-based positions, among the matching requests (retries
    included), that fail. ``forward`` False answers without reaching moto (nothing applied).
    """

    operation: str
    contains: str = ""
    nth: frozenset[int] = frozenset()
    every: bool = False
    mode: Mode = "500"
    forward: bool = True
    seen: int = 0

    def selects(self, operation: str, body: bytes) -> bool:
        """Count a matching request; True if this one is to fail."""
        if operation != self.operation or self.contains.encode() not in body:
            return False
        self.seen += 1
        return self.every or self.seen in self.nth


@dataclass(frozen=True)
class Injected:
    """One fault the proxy injected: operation, position among matches, mode, forwarded."""

    operation: str
    position: int
    mode: Mode
    forwarded: bool


@dataclass
class FaultProxy:
    """The proxy's state: its URL, the faults to inject, and the faults it injected."""

    upstream: str
    url: str = ""
    faults: list[Fault] = field(default_factory=list)
    injected: list[Injected] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        """Inject ``fault`` from now on."""
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        """No more faults (the record of injected ones is kept)."""
        with self.lock:
            self.faults.clear()

    def _choose(self, operation: str, body: bytes) -> Fault | None:
        with self.lock:
            self.requests += 1
            for fault in self.faults:
                if fault.selects(operation, body):
                    self.injected.append(Injected(operation, fault.seen, fault.mode, fault.forward))
                    return fault
        return None


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: one line per request would flood the test output."""

        def do_GET(self) -> None:
            self._relay()

        def do_POST(self) -> None:
            self._relay()

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            target = self.headers.get("X-Amz-Target", "")
            operation = target.removeprefix(_TARGET_PREFIX)
            fault = proxy._choose(operation, body)
            if fault is None or fault.forward:
                status, headers, answer = self._forward(body)
            if fault is None:
                self._answer(status, headers, answer)
            elif fault.mode == "reset":
                self._reset()
            else:
                code, text = _BODIES[fault.mode]
                self._answer(code, [("Content-Type", _JSON)], text)

        def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
            connection = http.client.HTTPConnection(
                upstream.hostname or "127.0.0.1", upstream.port, timeout=30
            )
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Host"] = upstream.netloc
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
                return response.status, kept, answer
            finally:
                connection.close()

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            """Abort the connection with a TCP reset: the caller reads no answer at all."""
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

        def finish(self) -> None:
            with contextlib.suppress(OSError):  # the connection was reset on purpose
                super().finish()

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A reset connection is the point of the exercise, not an error to print."""


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    """A running ``FaultProxy`` on 127.0.0.1 in front of ``upstream``, stopped on exit."""
    proxy = FaultProxy(upstream=upstream)
    server = _Server(("127.0.0.1", 0), _handler_class(proxy))
    host, port = server.server_address[:2]
    proxy.url = f"http://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, name="fault-proxy", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
