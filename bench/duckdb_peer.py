"""The replay figure's peer: our detections as one DuckDB query over the same CloudTrail files.

``python -m bench.duckdb_peer [options] FOLDER...`` is what a practitioner would write by hand
instead of running ``signin-monitor replay``: the ``.json.gz`` files read as JSON objects (only the
fields the rules read declared, so nothing else is converted), ``unnest`` of ``Records``, the
EventBridge patterns as a ``WHERE``, and every rule of design §3, §3.1 and §3.2 as SQL. It prints
one JSON line per alert, ``{"rule": ..., "event_id": ...}``, sorted, so the figure can compare the
set with ours (they must agree), and the alert count on stderr. No store is written: it keeps no
audit trail, which is what ours does on top.

All 13 rules are covered. Where our replay's answer depends on the order events are processed
(time, then input order: file path, then position in the file), so does the query's: ``seq`` is
that order, and counts "so far" count the rows before it. One alert per window (design §3: an
alert of the rule and scope within the window of it suppresses a new one) is a chain per rule
and scope: the first anchor alerts, and the next one alerting is the first anchor at least a
window after it (a recursive CTE over "next anchor" pointers).

Left out on purpose (the generated corpus has none): IPv6 networks for ``new-source-network``
(DuckDB's ``inet`` extension would need a download), names longer than our key bound, and the
raw-record checks that make a record malformed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PeerSettings", "alerts", "main"]

#: Only the fields the rules read, as ``from_json`` structure (the rest of a record is skipped).
_RECORD = json.dumps(
    {
        "Records": [
            {
                "eventID": "VARCHAR",
                "eventTime": "TIMESTAMPTZ",
                "eventSource": "VARCHAR",
                "eventName": "VARCHAR",
                "eventType": "VARCHAR",
                "sourceIPAddress": "VARCHAR",
                "recipientAccountId": "VARCHAR",
                "errorCode": "VARCHAR",
                "userIdentity": {
                    "type": "VARCHAR",
                    "userName": "VARCHAR",
                    "arn": "VARCHAR",
                    "principalId": "VARCHAR",
                    "accountId": "VARCHAR",
                    "invokedBy": "VARCHAR",
                },
                "responseElements": "JSON",
                "additionalEventData": "JSON",
                "requestParameters": "JSON",
            }
        ]
    }
)

# Each file is one object; read_json_objects + from_json reads these 13x faster than read_json
# with the same columns (which transforms a multi-MB single object slowly), so the peer uses it.
_QUERY = """
-- The records, the EventBridge patterns (terraform/patterns/*.json), the normalized fields.
CREATE TEMP TABLE ev AS
WITH documents AS (
    SELECT filename, from_json(json, '__RECORD__').Records AS records
    FROM read_json_objects($files, filename = true, maximum_object_size = 268435456)
),
raw AS (
    SELECT filename, generate_subscripts(records, 1) AS pos, unnest(records) AS r
    FROM documents
),
matched AS (
    SELECT filename, pos, r.eventID AS event_id, r.eventTime AS ts,
           epoch(r.eventTime)::BIGINT AS t, r.eventSource AS src, r.eventName AS name,
           r.eventType AS etype, r.sourceIPAddress AS ip, r.userIdentity AS ui,
           NULLIF(r.errorCode, '') AS error_code, NULLIF(r.userIdentity.invokedBy, '') AS invoked,
           r.eventSource = 'signin.amazonaws.com' AS signin,
           r.responseElements, r.additionalEventData, r.requestParameters, r.recipientAccountId
    FROM raw
    WHERE (r.eventSource = 'signin.amazonaws.com'
           AND r.eventType IN ('AwsConsoleSignIn', 'AwsServiceEvent'))
       OR (r.eventType = 'AwsApiCall' AND (
              (r.userIdentity."type" = 'Root' AND r.userIdentity.invokedBy IS NULL)
           OR (r.eventSource = 'iam.amazonaws.com' AND r.eventName IN ('CreateAccessKey',
               'DeactivateMFADevice', 'DeleteVirtualMFADevice', 'CreateLoginProfile',
               'UpdateLoginProfile'))
           OR (r.eventSource = 'cloudtrail.amazonaws.com' AND r.eventName IN ('StopLogging',
               'DeleteTrail', 'UpdateTrail', 'PutEventSelectors'))))
)
SELECT event_id, t, name, src, etype, ip, signin, invoked, error_code,
       row_number() OVER (ORDER BY ts, filename, pos) AS seq,
       COALESCE(ui."type", 'Unknown') AS itype, ui.userName AS user_name,
       CASE WHEN signin THEN COALESCE(NULLIF(ui.accountId, ''), NULLIF(recipientAccountId, ''))
            ELSE COALESCE(NULLIF(recipientAccountId, ''), NULLIF(ui.accountId, '')) END AS account,
       CASE WHEN ui."type" = 'Root' THEN 'root'
            WHEN ui.userName = 'HIDDEN_DUE_TO_SECURITY_REASONS' THEN 'unknown-user:' || ip
            WHEN NULLIF(ui.userName, '') IS NOT NULL THEN ui.userName
            ELSE COALESCE(NULLIF(regexp_extract(ui.arn,
                     '^(?:[^:]*:){5}(?:assumed-role/|federated-user/|user/)(.+)$', 1), ''),
                 NULLIF(ui.principalId, ''), 'unknown') END AS principal,
       CASE WHEN NOT signin THEN CASE WHEN error_code IS NULL THEN 'Success' ELSE 'Failure' END
            WHEN responseElements ->> name IN ('Success', 'Failure')
            THEN responseElements ->> name END AS result,
       CASE additionalEventData ->> 'MFAUsed' WHEN 'Yes' THEN true WHEN 'No' THEN false END
           AS mfa,
       CASE WHEN json_type(requestParameters, '$.userName') = 'VARCHAR'
            THEN requestParameters ->> 'userName' END AS target_user,
       regexp_extract(ip, '^(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})\\.\\d{1,3}$', 1) AS net24
FROM matched
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ts, filename, pos) = 1;

CREATE TEMP TABLE failures AS
SELECT * FROM ev WHERE name = 'ConsoleLogin' AND result = 'Failure';

CREATE TEMP TABLE successes AS
SELECT * FROM ev WHERE name = 'ConsoleLogin' AND result = 'Success';

-- Per-event rules: one alert per matching event.
CREATE TEMP TABLE one_off AS
SELECT 'root-sign-in' AS rule, event_id FROM successes WHERE itype = 'Root'
UNION ALL
SELECT 'sign-in-without-mfa', event_id FROM successes WHERE itype = 'IAMUser' AND mfa = false
UNION ALL
SELECT 'root-access-key-created', event_id FROM ev
WHERE NOT signin AND src = 'iam.amazonaws.com' AND name = 'CreateAccessKey'
  AND itype = 'Root' AND error_code IS NULL AND target_user IS NULL
UNION ALL
SELECT 'mfa-device-removed', event_id FROM ev
WHERE NOT signin AND src = 'iam.amazonaws.com'
  AND name IN ('DeactivateMFADevice', 'DeleteVirtualMFADevice') AND error_code IS NULL
UNION ALL
SELECT 'login-profile-changed', event_id FROM ev
WHERE NOT signin AND src = 'iam.amazonaws.com'
  AND name IN ('CreateLoginProfile', 'UpdateLoginProfile') AND error_code IS NULL
UNION ALL
SELECT 'trail-tampering', event_id FROM ev
WHERE NOT signin AND src = 'cloudtrail.amazonaws.com'
  AND name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors')
  AND error_code IS NULL
UNION ALL
SELECT 'root-password-recovery', event_id FROM ev
WHERE signin AND name = 'PasswordRecoveryRequested' AND itype = 'Root' AND result = 'Success'
UNION ALL
-- new-source-network: P had a success from an IP address in (t - lookback, t), none from this
-- /24 (event times are whole seconds: the frame (lookback - 1, 1) PRECEDING is that range).
SELECT 'new-source-network', event_id FROM (
    SELECT event_id,
           count(*) OVER (PARTITION BY account, principal ORDER BY t
                          RANGE BETWEEN $lookback - 1 PRECEDING AND 1 PRECEDING) AS known,
           count(*) OVER (PARTITION BY account, principal, net24 ORDER BY t
                          RANGE BETWEEN $lookback - 1 PRECEDING AND 1 PRECEDING) AS from_here
    FROM successes WHERE net24 <> '')
WHERE $lookback > 0 AND known > 0 AND from_here = 0;

-- Windowed rules: the events that may alert (anchors), by rule and scope.
CREATE TEMP TABLE anchors AS
-- root-sign-in, a failure: every root failure of the account.
SELECT 'root-sign-in' AS rule, account AS scope, seq, t, event_id, $window AS w
FROM failures WHERE itype = 'Root'
UNION ALL
-- repeated-failed-sign-ins: the principal's failures so far in (t - window, t] > threshold.
SELECT 'repeated-failed-sign-ins', account || '#' || principal, seq, t, event_id, $window
FROM (SELECT *,
             row_number() OVER (PARTITION BY account, principal ORDER BY seq)
             - count(*) OVER (PARTITION BY account, principal ORDER BY t
                              RANGE BETWEEN UNBOUNDED PRECEDING AND $window PRECEDING)
             AS recent
      FROM failures)
WHERE recent > $threshold
UNION ALL
-- mfa-challenge-failed: a failure with MFAUsed Yes of root or a named IAM user.
SELECT 'mfa-challenge-failed', account || '#' || principal, seq, t, event_id, $window
FROM failures
WHERE mfa = true AND (itype = 'Root' OR (itype = 'IAMUser' AND user_name IS NOT NULL
                                        AND user_name <> 'HIDDEN_DUE_TO_SECURITY_REASONS'))
UNION ALL
-- root-activity: a root API call with no successful root console sign-in of the account so far
-- in (t - window, t].
SELECT 'root-activity', a.account, a.seq, a.t, a.event_id, $root_window
FROM ev a
WHERE NOT a.signin AND a.itype = 'Root' AND a.invoked IS NULL AND a.etype <> 'AwsServiceEvent'
  AND NOT EXISTS (SELECT 1 FROM successes s WHERE s.account = a.account AND s.itype = 'Root'
                  AND s.t > a.t - $root_window AND s.seq < a.seq)
UNION ALL
-- sign-in-after-failures: P's failures in (t - window, t] (a later same-second failure of P
-- still completes it), or those of unknown-user:<ip> stored so far, > threshold.
SELECT 'sign-in-after-failures', s.account || '#' || s.principal, s.seq, s.t, s.event_id,
       $window
FROM successes s
WHERE s.itype IN ('IAMUser', 'Root')
  AND ((SELECT count(*) FROM failures f WHERE f.account = s.account
        AND f.principal = s.principal AND f.t > s.t - $window AND f.t <= s.t) > $threshold
    OR (SELECT count(*) FROM failures f WHERE f.account = s.account
        AND f.principal = 'unknown-user:' || s.ip AND f.t > s.t - $window AND f.seq < s.seq)
       > $threshold)
UNION ALL
-- password-spray: distinct principals failing from the address so far in (t - window, t].
SELECT 'password-spray', f.account || '#ip:' || f.ip, f.seq, f.t, f.event_id, $window
FROM failures f
WHERE (SELECT count(DISTINCT g.principal) FROM failures g WHERE g.account = f.account
       AND g.ip = f.ip AND g.t > f.t - $window AND g.seq <= f.seq) > $spray;

-- One alert per window: the first anchor of a rule and scope alerts, then the first anchor at
-- least a window after the last alert, and so on.
CREATE TEMP TABLE chained AS
WITH RECURSIVE linked AS (
    SELECT a.*,
           (SELECT min(b.seq) FROM anchors b WHERE b.rule = a.rule AND b.scope = a.scope
            AND b.t >= a.t + a.w) AS next_seq,
           row_number() OVER (PARTITION BY a.rule, a.scope ORDER BY a.seq) AS k
    FROM anchors a
),
chain AS (
    SELECT rule, scope, seq, event_id, next_seq FROM linked WHERE k = 1
    UNION ALL
    SELECT l.rule, l.scope, l.seq, l.event_id, l.next_seq
    FROM chain c JOIN linked l ON l.rule = c.rule AND l.scope = c.scope AND l.seq = c.next_seq
)
SELECT rule, event_id FROM chain;

SELECT rule, CAST(event_id AS VARCHAR) AS event_id FROM one_off
UNION ALL
SELECT rule, CAST(event_id AS VARCHAR) FROM chained
ORDER BY rule, event_id;
"""


@dataclass(frozen=True, slots=True)
class PeerSettings:
    """The rule settings the query uses (ours' defaults unless told otherwise)."""

    threshold: int = 3
    window_minutes: int = 60
    root_window_minutes: int = 60
    spray_principals: int = 5
    lookback_days: int = 90


def alerts(folders: Sequence[Path], settings: PeerSettings) -> list[tuple[str, str]]:
    """(rule, event id) of every alert the query raises over the folders' ``.json.gz`` files."""
    import duckdb

    files = sorted(str(path) for folder in folders for path in folder.rglob("*.json.gz"))
    if not files:
        return []
    parameters: dict[str, Any] = {
        "files": files,
        "threshold": settings.threshold,
        "window": settings.window_minutes * 60,
        "root_window": settings.root_window_minutes * 60,
        "spray": settings.spray_principals,
        "lookback": settings.lookback_days * 86_400,
    }
    connection = duckdb.connect()
    try:
        statements = [s for s in _QUERY.replace("__RECORD__", _RECORD).split(";") if s.strip()]
        rows: list[tuple[str, str]] = []
        for index, statement in enumerate(statements):
            used = {name: value for name, value in parameters.items() if f"${name}" in statement}
            result = connection.execute(statement, used)
            if index == len(statements) - 1:
                rows = [(str(rule), str(event_id)) for rule, event_id in result.fetchall()]
        return rows
    finally:
        connection.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.duckdb_peer",
        description="Our detections as a DuckDB query over CloudTrail .json.gz files.",
    )
    parser.add_argument("folders", nargs="+", type=Path)
    defaults = PeerSettings()
    parser.add_argument("--threshold", type=int, default=defaults.threshold)
    parser.add_argument("--window-minutes", type=int, default=defaults.window_minutes)
    parser.add_argument("--root-window-minutes", type=int, default=defaults.root_window_minutes)
    parser.add_argument("--spray-principals", type=int, default=defaults.spray_principals)
    parser.add_argument("--lookback-days", type=int, default=defaults.lookback_days)
    return parser


def main(argv: Sequence[str]) -> int:
    """Print the alerts as JSON lines on stdout and their count on stderr; exit 0."""
    args = _parser().parse_args(argv)
    settings = PeerSettings(
        threshold=args.threshold,
        window_minutes=args.window_minutes,
        root_window_minutes=args.root_window_minutes,
        spray_principals=args.spray_principals,
        lookback_days=args.lookback_days,
    )
    found = alerts(args.folders, settings)
    out = sys.stdout
    for rule, event_id in found:
        out.write(json.dumps({"rule": rule, "event_id": event_id}) + "\n")
    out.flush()
    print(f"{len(found):,} alerts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
