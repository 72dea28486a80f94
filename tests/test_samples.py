"""The shipped samples: they parse cleanly, cover every case the design names, and make every rule
fire, so ``make demo`` (and a new user's first replay) shows what the tool does.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

from signin_monitor.app import CollectingNotifier, build_pipeline
from signin_monitor.config import ALL_RULE_IDS, LAMBDA_VARIABLES, LOCAL_ONLY_VARIABLES, Settings
from signin_monitor.errors import MalformedRecordError, NotSignInEventError
from signin_monitor.events import HIDDEN_USER, SignInEvent
from signin_monitor.sources import read_events, sort_by_time
from signin_monitor.store.sqlite import SqliteStore
from tests.factories import ACCOUNT, OTHER_ACCOUNT

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
SAMPLE_FILES = sorted(p for p in SAMPLES.rglob("*") if p.is_file())
DOCUMENTATION_NETWORKS = [
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
]


@pytest.fixture(autouse=True)
def _no_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's SLACK_WEBHOOK_URL, thresholds etc. never reach a test."""
    for name in LAMBDA_VARIABLES + LOCAL_ONLY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def events() -> list[SignInEvent]:
    """Every sign-in event in the samples."""
    return [item for item in read_events([SAMPLES]) if isinstance(item, SignInEvent)]


def _document(path: Path) -> Any:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)


def _json_lines(path: Path) -> list[Any] | None:
    """The file's values if it is JSON Lines (two or more non-blank lines, each a value)."""
    if path.read_bytes()[:2] == b"\x1f\x8b":
        return None
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    try:
        return [json.loads(line) for line in lines]
    except json.JSONDecodeError:
        return None


def test_there_are_sample_files() -> None:
    # GIVEN the samples folder THEN it holds files for replay to read
    assert len(SAMPLE_FILES) >= 5


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_every_sample_file_parses_with_no_malformed_record(path: Path) -> None:
    # GIVEN one sample file WHEN it is read
    items = list(read_events([path]))
    # THEN it gives sign-in events and no malformed record (other services' calls are skips)
    malformed = [
        item
        for item in items
        if isinstance(item, MalformedRecordError) and not isinstance(item, NotSignInEventError)
    ]
    assert malformed == []
    assert any(isinstance(item, SignInEvent) for item in items)


def test_the_samples_hold_two_ordinary_calls_which_are_not_monitored() -> None:
    # GIVEN every sample WHEN read THEN exactly two records match no pattern (an S3 call by a
    # user, an EC2 call by an administrator): not monitored, neither stored nor malformed
    skipped = [item for item in read_events([SAMPLES]) if isinstance(item, NotSignInEventError)]
    assert len(skipped) == 2
    assert {("s3.amazonaws.com" in s.reason, "ec2.amazonaws.com" in s.reason) for s in skipped} == {
        (True, False),
        (False, True),
    }


def test_every_sample_event_id_is_unique(events: list[SignInEvent]) -> None:
    # GIVEN every sample event THEN no two share an eventID (a replay has no duplicates)
    ids = [event.event_id for event in events]
    assert len(ids) == len(set(ids))


# --- what the samples cover --------------------------------------------------------------------


def test_the_samples_have_a_successful_root_sign_in(events: list[SignInEvent]) -> None:
    assert any(e.is_root and e.is_console_login and e.result == "Success" for e in events)


def test_the_samples_have_iam_user_sign_ins_with_and_without_mfa(
    events: list[SignInEvent],
) -> None:
    # GIVEN the sample events THEN some IAM user signed in with MFA and another without
    iam_successes = [
        e
        for e in events
        if e.identity_type == "IAMUser" and e.is_console_login and e.result == "Success"
    ]
    assert {e.mfa_used for e in iam_successes} >= {True, False}


def test_the_samples_have_an_sso_sign_in_as_an_assumed_role(events: list[SignInEvent]) -> None:
    # GIVEN the sample events THEN an IAM Identity Center user signed in (AWSReservedSSO role)
    sso = [
        e
        for e in events
        if e.identity_type == "AssumedRole"
        and e.is_console_login
        and "AWSReservedSSO" in (e.arn or "")
    ]
    assert sso
    assert any(e.mfa_used is False for e in sso)  # what makes naive tools raise false alarms


def test_the_samples_have_identity_center_sign_in_steps(events: list[SignInEvent]) -> None:
    assert any(e.event_name == "CredentialVerification" for e in events)


def test_the_samples_have_a_burst_of_failures_by_one_principal(events: list[SignInEvent]) -> None:
    # GIVEN the sample events THEN one principal failed more than 3 times within an hour
    by_principal: dict[tuple[str, str], list[SignInEvent]] = {}
    for event in events:
        if event.is_failed_console_login:
            by_principal.setdefault((event.account_id, event.principal), []).append(event)
    bursts = [
        failures
        for failures in by_principal.values()
        if len(failures) > 3
        and (max(f.event_time for f in failures) - min(f.event_time for f in failures)).seconds
        <= 3600
    ]
    assert bursts


def test_the_samples_have_failures_with_a_hidden_user_name(events: list[SignInEvent]) -> None:
    # GIVEN the sample events THEN AWS hid a mistyped name, as it does, with its own message
    hidden = [e for e in events if e.user_name == HIDDEN_USER]
    assert hidden
    assert all(e.result == "Failure" for e in hidden)
    assert {e.error_message for e in hidden} == {"No username found in supplied account"}
    assert all(e.principal.startswith("unknown-user:") for e in hidden)


def test_the_samples_have_a_check_mfa_step(events: list[SignInEvent]) -> None:
    assert any(e.event_name == "CheckMfa" for e in events)


def test_the_samples_span_two_accounts_and_at_least_three_regions(
    events: list[SignInEvent],
) -> None:
    assert {e.account_id for e in events} == {ACCOUNT, OTHER_ACCOUNT}
    assert len({e.region for e in events}) >= 3


def test_the_samples_use_placeholder_accounts_documentation_ips_and_no_real_webhook(
    events: list[SignInEvent],
) -> None:
    # GIVEN the samples THEN nothing in them points at a real account, address or Slack
    for event in events:
        address = ipaddress.ip_address(event.source_ip)
        assert any(address in network for network in DOCUMENTATION_NETWORKS), event.source_ip
    for path in SAMPLE_FILES:
        text = json.dumps(_document(path)) if path.suffix == ".gz" else path.read_text()
        assert "hooks.slack.com" not in text


# --- the four formats --------------------------------------------------------------------------


def test_the_samples_have_a_gzipped_cloudtrail_log() -> None:
    gzipped = [p for p in SAMPLE_FILES if p.name.endswith(".json.gz")]
    assert gzipped
    for path in gzipped:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
        assert isinstance(_document(path)["Records"], list)


def test_the_samples_have_a_plain_cloudtrail_log() -> None:
    plain = [
        p
        for p in SAMPLE_FILES
        if p.name.endswith(".json")
        and p.read_bytes()[:2] != b"\x1f\x8b"
        and isinstance(_document(p), dict)
        and "Records" in _document(p)
    ]
    assert plain


def test_the_samples_have_json_lines_of_eventbridge_events() -> None:
    lines = [values for p in SAMPLE_FILES if (values := _json_lines(p)) is not None]
    assert lines
    assert all(isinstance(v, dict) and "detail-type" in v for values in lines for v in values)


def test_the_samples_have_an_array_of_eventbridge_events() -> None:
    arrays = [
        doc for p in SAMPLE_FILES if p.suffix == ".json" and isinstance(doc := _document(p), list)
    ]
    assert arrays
    assert all(isinstance(v, dict) and "detail-type" in v for doc in arrays for v in doc)


def test_the_samples_have_a_single_eventbridge_event() -> None:
    singles = [
        doc
        for p in SAMPLE_FILES
        if p.suffix == ".json"
        and _json_lines(p) is None
        and isinstance(doc := _document(p), dict)
        and "detail-type" in doc
    ]
    assert singles


# --- what they raise ---------------------------------------------------------------------------


def test_every_rule_fires_at_least_once_on_the_samples(tmp_path: Path) -> None:
    # GIVEN the default settings, a fresh store and a notifier that keeps what it gets
    store = SqliteStore(tmp_path / "samples.db")
    notifier = CollectingNotifier()
    pipeline = build_pipeline(Settings(), store=store, notifier=notifier)
    events = [item for item in read_events([SAMPLES]) if isinstance(item, SignInEvent)]
    # WHEN every sample is processed in event-time order
    try:
        fired = [
            delivery.alert
            for event in sort_by_time(events)
            for delivery in pipeline.process(event).deliveries
        ]
    finally:
        store.close()
    # THEN every rule raised an alert, each one posted once; SSO users raised none
    assert {alert.rule_id for alert in fired} == set(ALL_RULE_IDS)
    assert len(notifier.sent) == len(fired)
    assert all(alert.event.identity_type in ("IAMUser", "Root") for alert in fired)
    # and each rule of design §3.1 fired exactly once, beside today's alerts
    new_rules = ALL_RULE_IDS[3:]
    assert sorted(a.rule_id for a in fired if a.rule_id in new_rules) == sorted(new_rules)
