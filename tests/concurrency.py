"""A moto server whose conditional writes are atomic, and a way to run actions at the same time.

moto checks a write's condition and applies it in two steps; DynamoDB does both atomically for
one item (and for the items of one transaction). The ``moto_server`` fixture lets one
conditional write or transaction through at a time, which makes the server as atomic as
DynamoDB and leaves the store's own logic under test.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend
from moto.server import ThreadedMotoServer

from signin_monitor.store.dynamodb_admin import create_table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

__all__ = ["TABLE", "dynamodb_client_for", "moto_server", "run_together"]

TABLE = "concurrency"
T = TypeVar("T")


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """A moto server on a free local port whose conditional writes are atomic; its URL."""
    # Reentrant: moto's transact_write_items calls put_item inside, and it must be serialized
    # as a whole (it snapshots the table and puts the snapshot back when it is cancelled).
    write_lock = threading.RLock()

    def serialized(method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def locked(*args: Any, **kwargs: Any) -> Any:
            with write_lock:
                return method(*args, **kwargs)

        return locked

    with pytest.MonkeyPatch.context() as patch:
        for name in ("put_item", "update_item", "transact_write_items"):
            patch.setattr(DynamoDBBackend, name, serialized(getattr(DynamoDBBackend, name)))
        werkzeug_log = logging.getLogger("werkzeug")
        patch.setattr(werkzeug_log, "level", logging.ERROR)  # one access log line per request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            url = f"http://{host}:{port}"
            create_table(dynamodb_client_for(url), TABLE)
            yield url
        finally:
            server.stop()


def dynamodb_client_for(url: str) -> DynamoDBClient:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def run_together(actions: list[Callable[[], T]]) -> list[T]:
    """Run the actions at once, one thread each; their results (in no order), errors re-raised."""
    barrier = threading.Barrier(len(actions))
    results: list[T] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(action: Callable[[], T]) -> None:
        barrier.wait()
        try:
            result = action()
        except BaseException as error:  # handed to the main thread
            with lock:
                errors.append(error)
            return
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    return results
