"""An httpx transport whose every socket operation ends by a deadline: a true total time budget.

httpx's timeouts bound each read, so a server trickling a byte every few seconds can hold one
request for ever. Here each connect, TLS handshake, read and write gets only the time left
until the deadline set for the request, so the request ends by then whatever the server does
(name resolution excepted: the operating system bounds it). Imported only when a message is
actually posted (cold start).
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterable, Iterator

import httpcore
import httpx

__all__ = ["DeadlineTransport"]


class _Budget(threading.local):
    """The deadline of the request this thread is making (``monotonic`` seconds), if any."""

    deadline: float | None = None


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose operations never wait past the budget's deadline."""

    def __init__(
        self, stream: httpcore.NetworkStream, budget: _Budget, clock: Callable[[], float]
    ) -> None:
        self._stream = stream
        self._budget = budget
        self._clock = clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(self._budget, self._clock, timeout, "read"))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(self._budget, self._clock, timeout, "write"))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._budget, self._clock, timeout, "connect")
        tls = self._stream.start_tls(ssl_context, server_hostname, left)
        return _DeadlineStream(tls, self._budget, self._clock)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous sockets, wrapped in ``_DeadlineStream``."""

    def __init__(self, budget: _Budget, clock: Callable[[], float]) -> None:
        self._backend = httpcore.SyncBackend()
        self._budget = budget
        self._clock = clock

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._budget, self._clock, timeout, "connect")
        stream = self._backend.connect_tcp(host, port, left, local_address, socket_options)
        return _DeadlineStream(stream, self._budget, self._clock)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        left = _left(self._budget, self._clock, timeout, "connect")
        stream = self._backend.connect_unix_socket(path, left, socket_options)
        return _DeadlineStream(stream, self._budget, self._clock)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class DeadlineTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` (TLS verified, HTTP/1.1) with a deadline per request.

    Usage::

        transport = DeadlineTransport()
        with httpx.Client(transport=transport) as client, transport.deadline(time.monotonic() + 5):
            client.post(url, json=payload)  # ends within 5 s, or raises httpx.TimeoutException
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__()
        self._budget = _Budget()
        # httpx.HTTPTransport takes no network backend; its pool is rebuilt with ours, the rest
        # of the transport (request mapping, error mapping to httpx exceptions) is httpx's.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            network_backend=_DeadlineBackend(self._budget, clock),
        )

    @contextlib.contextmanager
    def deadline(self, when: float | None) -> Iterator[None]:
        """Requests made inside the block end by ``when`` (``clock`` seconds; None: no limit)."""
        previous = self._budget.deadline
        self._budget.deadline = when
        try:
            yield
        finally:
            self._budget.deadline = previous


_TIMEOUTS: dict[str, type[httpcore.TimeoutException]] = {
    "connect": httpcore.ConnectTimeout,
    "read": httpcore.ReadTimeout,
    "write": httpcore.WriteTimeout,
}


def _left(
    budget: _Budget, clock: Callable[[], float], timeout: float | None, operation: str
) -> float | None:
    """The timeout for one socket operation: httpx's own, shortened to the time left."""
    if budget.deadline is None:
        return timeout
    left = budget.deadline - clock()
    if left <= 0:
        raise _TIMEOUTS[operation]("the request's time budget is spent")
    return left if timeout is None else min(timeout, left)
