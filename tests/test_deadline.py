"""Each Slack send ends by its deadline, whatever the server does (issue 9, point 6).

A real server on 127.0.0.1 answers headers at once and then trickles its body a byte at a time:
httpx's per-read timeout never fires, so only a true total deadline ends the send. Outcomes are
asserted (the send raised, the claim was released), never durations.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signin_monitor.alerts import Alert, Severity
from signin_monitor.app import build_pipeline
from signin_monitor.config import Settings
from signin_monitor.errors import SlackRetryableError
from signin_monitor.http_deadline import DeadlineTransport
from signin_monitor.pipeline import DeliveryStatus
from signin_monitor.slack import SlackWebhookNotifier
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import sign_in

#: The server stops trickling after this long and completes the answer with 200: a send that
#: is not bounded by its deadline then succeeds, which the tests would catch.
TRICKLE_FOR_SECONDS = 4.0


def _read_request(conn: socket.socket) -> None:
    """Read one whole request (headers and body): unread bytes would make close() a reset."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        body += conn.recv(65536)


@contextlib.contextmanager
def _trickling(
    *, tls: ssl.SSLContext | None = None, trickle_seconds: float = TRICKLE_FOR_SECONDS
) -> Iterator[str]:
    """An HTTP(S) server answering 200 with a body it sends one byte every 0.2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve_one(raw: socket.socket) -> None:
        try:
            raw.settimeout(2.0)
            conn = tls.wrap_socket(raw, server_side=True) if tls is not None else raw
        except OSError:
            raw.close()
            return
        with conn:
            try:
                _read_request(conn)
                body_length = int(trickle_seconds / 0.2) + 2
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                    + f"Content-Length: {body_length}\r\n\r\n".encode()
                )
                for _ in range(body_length - 2):
                    if stop.wait(0.2):
                        return
                    conn.sendall(b"o")
                conn.sendall(b"ok")
            except OSError:
                return

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}/services/T000/B000/trickle-secret"
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)


@pytest.fixture
def trickling_server() -> Iterator[str]:
    """A plain HTTP trickling server."""
    with _trickling() as url:
        yield url


def test_a_trickling_server_cannot_hold_a_send_past_its_deadline(trickling_server: str) -> None:
    # GIVEN a webhook that trickles its answer, and a send allowed one second
    notifier = SlackWebhookNotifier(url_provider=lambda: trickling_server, timeout=1.0)
    # WHEN the alert is sent THEN the send gives up as a retryable error, naming no URL
    with pytest.raises(SlackRetryableError) as caught:
        notifier.send({"text": "hi"}, deadline=time.monotonic() + 1.0)
    assert "trickle-secret" not in str(caught.value)
    notifier.close()


def test_the_pipeline_releases_the_claim_when_the_send_runs_out_of_time(
    trickling_server: str,
) -> None:
    # GIVEN a pipeline whose claim lease leaves a send one second (3 s less the 2 s margin)
    store = SqliteStore(":memory:", lease_seconds=3)
    notifier = SlackWebhookNotifier(url_provider=lambda: trickling_server, timeout=1.0)
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier, lease_seconds=3)
    event = sign_in(identity_type="Root", user=None)
    # WHEN a root sign-in is processed
    outcome = pipeline.process(event)
    # THEN the alert is to be retried, and its claim is pending and released (lease 0)
    assert [d.status for d in outcome.deliveries] == [DeliveryStatus.RETRY_LATER]
    row = store._db.execute("SELECT status, claimed_at FROM alert_claims").fetchone()
    assert row == ("pending", 0)
    notifier.close()
    store.close()


def test_a_deadline_already_spent_posts_nothing_and_raises() -> None:
    # GIVEN a send whose deadline has passed
    posted: list[object] = []
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        return httpx.Response(200, text="ok")

    notifier = SlackWebhookNotifier(
        url_provider=lambda: "https://hooks.example.invalid/x",
        transport=httpx.MockTransport(handler),
    )
    alert = Alert(
        rule_id="root-sign-in",
        severity=Severity.CRITICAL,
        title="Root sign-in",
        event=sign_in(),
        scope="s",
        window=timedelta(minutes=1),
    )
    # WHEN sent THEN it raises at once and nothing was posted
    with pytest.raises(SlackRetryableError):
        notifier.send({"text": "hi"}, alert=alert, deadline=time.monotonic() - 1)
    assert posted == []


def _self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and a client
    context trusting exactly it."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client


def test_a_trickling_https_server_cannot_hold_a_send_past_its_deadline(tmp_path: Path) -> None:
    # GIVEN an HTTPS webhook on 127.0.0.1 that trickles its answer
    server_context, client_context = _self_signed(tmp_path)
    with _trickling(tls=server_context) as url:
        transport = DeadlineTransport(ssl_context=client_context)
        notifier = SlackWebhookNotifier(url_provider=lambda: url, timeout=1.0, transport=transport)
        # WHEN sent with one second THEN it gives up in time as a retryable error
        with pytest.raises(SlackRetryableError) as caught:
            notifier.send({"text": "hi"}, deadline=time.monotonic() + 1.0)
        assert "trickle-secret" not in str(caught.value)
        notifier.close()


def test_the_https_test_server_does_answer_a_patient_client(tmp_path: Path) -> None:
    # GIVEN the same server WHEN the send is given more than the trickle lasts THEN it succeeds:
    # the test above fails for its deadline, not for TLS
    server_context, client_context = _self_signed(tmp_path)
    with _trickling(tls=server_context, trickle_seconds=0.6) as url:
        transport = DeadlineTransport(ssl_context=client_context)
        notifier = SlackWebhookNotifier(url_provider=lambda: url, timeout=1.0, transport=transport)
        notifier.send({"text": "hi"}, deadline=time.monotonic() + 20)
        notifier.close()
