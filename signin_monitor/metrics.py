"""CloudWatch metrics as embedded metric format (EMF): one JSON line per invocation on stdout.

Lambda ships each stdout line to CloudWatch Logs, which turns a JSON object carrying an
``_aws`` key into metric data points: no API call, no client, no cold-start cost. The handler
counts what each invocation did and prints the line once, also when the invocation fails.
Terraform alarms on ``AlertsNotDelivered``, ``EventsDropped`` and ``StoreErrors``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import IO, Final

__all__ = ["METRIC_NAMES", "NAMESPACE", "Metrics"]

NAMESPACE: Final = "SigninMonitor"
ALERTS_DELIVERED: Final = "AlertsDelivered"
ALERTS_NOT_DELIVERED: Final = "AlertsNotDelivered"
ALERTS_RETRYING: Final = "AlertsRetrying"
EVENTS_DROPPED: Final = "EventsDropped"
STORE_ERRORS: Final = "StoreErrors"
#: Every metric, printed on every line (zeros included) so each has data when things go well.
METRIC_NAMES: Final = (
    ALERTS_DELIVERED,
    ALERTS_NOT_DELIVERED,
    ALERTS_RETRYING,
    EVENTS_DROPPED,
    STORE_ERRORS,
)


class Metrics:
    """Counts for one invocation, printed as one EMF line by ``emit``.

    Usage::

        metrics = Metrics(function_name="signin-monitor")
        metrics.add(ALERTS_DELIVERED)
        metrics.emit()  # {"_aws": {...}, "FunctionName": "signin-monitor", "AlertsDelivered": 1}
    """

    def __init__(self, *, function_name: str, clock: Callable[[], float] = time.time) -> None:
        self.function_name = function_name
        self.counts = dict.fromkeys(METRIC_NAMES, 0)
        self._clock = clock

    def add(self, name: str, count: int = 1) -> None:
        """Count ``count`` more of ``name`` (one of ``METRIC_NAMES``)."""
        if name not in self.counts:
            raise ValueError(f"unknown metric {name!r}")
        self.counts[name] += count

    def document(self) -> dict[str, object]:
        """The EMF object: the ``_aws`` metadata, the dimension and every count."""
        return {
            "_aws": {
                "Timestamp": int(self._clock() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in METRIC_NAMES],
                    }
                ],
            },
            "FunctionName": self.function_name,
            **self.counts,
        }

    def emit(self, stream: IO[str] | None = None) -> None:
        """Print the EMF object as one line (stdout by default) and flush it."""
        out = sys.stdout if stream is None else stream
        out.write(json.dumps(self.document(), separators=(",", ":")) + "\n")
        out.flush()
