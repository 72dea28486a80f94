"""Figure 6: dollars per million sign-in events, on paper, from this run's measurements.

Inputs measured by the other figures (defaults stand in, and say so, when a figure did not run):
the per-event time of ``handler.handler`` (figure 2), the bytes of log per event (figure 2), the
DynamoDB calls per event (figure 4) and the size of the items written (figure 4).

Prices are us-east-1 list prices, per the AWS pricing pages named beside each constant (free
tiers ignored: this is the marginal cost of a million events). The original design (EventBridge
-> Step Functions standard -> SNS) is priced beside ours as the baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

from .report import Figure, Row, format_table

__all__ = ["CostInputs", "run"]

# --- Prices, us-east-1 ---------------------------------------------------------------------
# AWS Lambda pricing (aws.amazon.com/lambda/pricing), arm64, first tier.
LAMBDA_GB_SECOND: Final = 0.0000133334
LAMBDA_PER_MILLION_REQUESTS: Final = 0.20
# Amazon DynamoDB on-demand (aws.amazon.com/dynamodb/pricing/on-demand): halved on 1 Nov 2024
# (was $1.25 / $0.25); these are the new prices.
DYNAMODB_PER_MILLION_WRU: Final = 0.625
DYNAMODB_PER_MILLION_RRU: Final = 0.125
DYNAMODB_GB_MONTH: Final = 0.25  # standard table class storage, beyond the free 25 GB
# Amazon EventBridge (aws.amazon.com/eventbridge/pricing): AWS service events on the default bus
# are free; events sent to another bus (our forwarding rules to the central bus) are custom
# events, $1.00 per million.
EVENTBRIDGE_PER_MILLION_FORWARDED: Final = 1.00
# AWS CloudTrail (aws.amazon.com/cloudtrail/pricing): the first copy of management events is free.
CLOUDTRAIL_PER_MILLION: Final = 0.0
# Amazon CloudWatch Logs (aws.amazon.com/cloudwatch/pricing): ingestion, standard class.
CLOUDWATCH_LOGS_PER_GB: Final = 0.50
# Lambda's own START/END/REPORT lines per invocation (text format), roughly.
PLATFORM_LOG_BYTES: Final = 300
# AWS X-Ray (aws.amazon.com/xray/pricing): $5.00 per million traces recorded. terraform/lambda.tf
# sets tracing "Active"; the default sampling rule (1 request/s + 5 %) records nearly every
# invocation at sign-in rates, so one trace per event is the honest upper bound.
XRAY_PER_MILLION_TRACES: Final = 5.00
# AWS Step Functions (aws.amazon.com/step-functions/pricing): standard workflows.
STEP_FUNCTIONS_PER_MILLION_TRANSITIONS: Final = 25.00
STEP_FUNCTIONS_TRANSITIONS_PER_EVENT: Final = 5
# Amazon SNS (aws.amazon.com/sns/pricing): publishes, and deliveries to HTTP/S endpoints.
SNS_PER_MILLION_PUBLISHES: Final = 0.50
SNS_PER_MILLION_HTTPS_DELIVERIES: Final = 0.60

# --- Model assumptions ----------------------------------------------------------------------
#: Our items project into 3 GSIs (INCLUDE: every audit field but the raw record), so each
#: stored event is written 4 times: the table item and a smaller copy in each index.
GSI_COPIES: Final = 3
FAILURE_SHARE: Final = 0.05  # ConsoleLogin failures among sign-in events (count query each)
ALERT_SHARE: Final = 0.01  # alerts per event (claim + mark each)
#: In-process time understates a real invocation: Lambda gives 128 MB about 1/14 of a vCPU
#: (a full one at 1,769 MB), each DynamoDB call waits a network round trip, and the runtime adds
#: its own overhead. Estimate = measured x (1769 / memory) + calls x 10 ms, never below 20 ms.
FULL_VCPU_MB: Final = 1769
ROUND_TRIP_MS: Final = 10.0
FLOOR_MS: Final = 20.0
MEMORY_SIZES_MB: Final = (128, 256)


@dataclass(frozen=True, slots=True, kw_only=True)
class CostInputs:
    """What the model needs from the other figures; ``measured`` says which were measured."""

    handler_us: float = 150.0
    log_bytes: float = 450.0
    activity_item_bytes: int = 1800
    index_item_bytes: int = 600
    claim_item_bytes: int = 210
    measured: tuple[str, ...] = ()

    @classmethod
    def from_figures(cls, figures: list[Figure]) -> CostInputs:
        """Take the measured values from figures 2 and 4 when they ran."""
        values: dict[str, Any] = {}
        measured = []
        for figure in figures:
            if figure.number == 2 and figure.error is None and figure.data:
                values["handler_us"] = figure.data["median_us"]["handler"]
                values["log_bytes"] = figure.data["log_bytes_per_event"]
                measured += ["per-event time", "log bytes"]
            if figure.number == 4 and figure.error is None and figure.data:
                sizes = figure.data["item_bytes"]
                for key, name in (
                    ("activity", "activity_item_bytes"),
                    ("index", "index_item_bytes"),
                    ("claim", "claim_item_bytes"),
                ):
                    if key in sizes:
                        values[name] = sizes[key]
                measured += ["item sizes"]
        return cls(**values, measured=tuple(measured))


def _units(size_bytes: float, unit_bytes: int) -> int:
    return max(1, math.ceil(size_bytes / unit_bytes))


def run(inputs: CostInputs) -> Figure:
    """The cost table: components x (ours at 128 MB, ours at 256 MB, Step Functions + SNS)."""
    million = 1_000_000
    calls = 1 + FAILURE_SHARE + 2 * ALERT_SHARE
    wru_table = _units(inputs.activity_item_bytes, 1024)
    wru_index = _units(inputs.index_item_bytes, 1024)
    wru_event = wru_table + wru_index * GSI_COPIES
    wru_claims = 2 * ALERT_SHARE * _units(inputs.claim_item_bytes, 1024)
    wru = wru_event + wru_claims
    rru = FAILURE_SHARE * 1  # one consistent COUNT query reading <= 4 KB of failure keys
    dynamodb = wru * DYNAMODB_PER_MILLION_WRU + rru * DYNAMODB_PER_MILLION_RRU
    log_gb = (inputs.log_bytes + PLATFORM_LOG_BYTES) * million / 1e9
    logs = log_gb * CLOUDWATCH_LOGS_PER_GB
    durations = {
        memory: max(
            FLOOR_MS,
            inputs.handler_us / 1000 * FULL_VCPU_MB / memory + calls * ROUND_TRIP_MS,
        )
        for memory in MEMORY_SIZES_MB
    }
    lambda_duration = {
        memory: math.ceil(ms) / 1000 * memory / 1024 * LAMBDA_GB_SECOND * million
        for memory, ms in durations.items()
    }
    ours = {
        memory: {
            "EventBridge (forward to central bus)": EVENTBRIDGE_PER_MILLION_FORWARDED,
            "CloudTrail management events": CLOUDTRAIL_PER_MILLION,
            "Lambda requests": LAMBDA_PER_MILLION_REQUESTS,
            "Lambda duration": lambda_duration[memory],
            "DynamoDB writes + reads": dynamodb,
            "CloudWatch Logs ingestion": logs,
            "X-Ray traces (tracing Active)": XRAY_PER_MILLION_TRACES,
            "Step Functions transitions": 0.0,
            "SNS publish + HTTPS delivery": 0.0,
        }
        for memory in MEMORY_SIZES_MB
    }
    original = {
        "EventBridge (forward to central bus)": EVENTBRIDGE_PER_MILLION_FORWARDED,
        "CloudTrail management events": CLOUDTRAIL_PER_MILLION,
        "Lambda requests": 0.0,
        "Lambda duration": 0.0,
        "DynamoDB writes + reads": dynamodb,
        "CloudWatch Logs ingestion": 0.0,
        "X-Ray traces (tracing Active)": 0.0,
        "Step Functions transitions": STEP_FUNCTIONS_PER_MILLION_TRANSITIONS
        * STEP_FUNCTIONS_TRANSITIONS_PER_EVENT,
        "SNS publish + HTTPS delivery": SNS_PER_MILLION_PUBLISHES
        + SNS_PER_MILLION_HTTPS_DELIVERIES,
    }
    totals = {memory: sum(parts.values()) for memory, parts in ours.items()}
    original_total = sum(original.values())
    without_xray = {memory: total - XRAY_PER_MILLION_TRACES for memory, total in totals.items()}
    table = [
        [name, *(f"${ours[m][name]:.3f}" for m in MEMORY_SIZES_MB), f"${original[name]:.3f}"]
        for name in original
    ]
    table.append(
        ["total", *(f"${totals[m]:.2f}" for m in MEMORY_SIZES_MB), f"${original_total:.2f}"]
    )
    table.append(
        ["total without X-Ray", *(f"${without_xray[m]:.2f}" for m in MEMORY_SIZES_MB), "-"]
    )
    storage_gb = (inputs.activity_item_bytes + inputs.index_item_bytes * GSI_COPIES) * million / 1e9
    figure = Figure(6, "Cost per million sign-in events (us-east-1, on paper)")
    figure.rows = [
        Row(
            metric=f"ours, {memory} MB Lambda",
            ours=totals[memory],
            baseline=original_total,
            unit="$",
            baseline_label="original design: EventBridge -> Step Functions standard -> SNS",
        )
        for memory in MEMORY_SIZES_MB
    ]
    figure.details = [
        "per million sign-in events:",
        *format_table(
            ["component", *(f"ours {m} MB" for m in MEMORY_SIZES_MB), "Step Fn + SNS"], table
        ),
        f"mix: {FAILURE_SHARE:.0%} failures (1 count query, 1 RRU), {ALERT_SHARE:.0%} alerts "
        f"(claim + mark, 1 WRU each) -> {calls:.2f} DynamoDB calls per event",
        f"writes: activity item {inputs.activity_item_bytes:,} B -> {wru_table} WRU in the table"
        f" + {GSI_COPIES} index copies of {inputs.index_item_bytes:,} B (no raw record) x "
        f"{wru_index} WRU = {wru_event} WRU per stored event",
        "Lambda duration per invocation: "
        + ", ".join(f"{m} MB {math.ceil(ms)} ms" for m, ms in durations.items())
        + f" = max({FLOOR_MS:g} ms, {inputs.handler_us:.0f} us measured x {FULL_VCPU_MB}/MB "
        f"+ {calls:.2f} calls x {ROUND_TRIP_MS:g} ms): the in-process time understates Lambda",
        f"logs: {inputs.log_bytes:.0f} B of ours + ~{PLATFORM_LOG_BYTES} B platform lines per "
        f"event at ${CLOUDWATCH_LOGS_PER_GB}/GB",
        f"storage (not in the totals): {storage_gb:.1f} GB per million events kept (table + "
        f"{GSI_COPIES} GSI copies) = ${storage_gb * DYNAMODB_GB_MONTH:.2f} per month kept",
        f"original design: {STEP_FUNCTIONS_TRANSITIONS_PER_EVENT} transitions per event, same "
        "DynamoDB writes, one SNS publish + HTTPS delivery per event (if it published only "
        "alerts, SNS is ~$0)",
        "prices: us-east-1 list prices, free tiers ignored; sources named in bench/cost.py; "
        f"measured inputs: {', '.join(inputs.measured) or 'none (defaults)'}",
    ]
    figure.data = {
        "inputs": {
            "handler_us": inputs.handler_us,
            "log_bytes": inputs.log_bytes,
            "activity_item_bytes": inputs.activity_item_bytes,
            "index_item_bytes": inputs.index_item_bytes,
            "claim_item_bytes": inputs.claim_item_bytes,
            "measured": list(inputs.measured),
        },
        "ours": {str(m): parts for m, parts in ours.items()},
        "original": original,
        "totals": {str(m): total for m, total in totals.items()},
        "original_total": original_total,
        "duration_ms": {str(m): ms for m, ms in durations.items()},
        "wru_per_event": wru,
        "storage_gb_per_million": storage_gb,
    }
    return figure
