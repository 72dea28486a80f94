"""Benchmarks for signin-monitor: every figure measured beside its baseline, in the same run.

Machines are noisy, so no figure is an absolute time: each one is a ratio to a baseline measured
in the same run, interleaved with it, as the median of several runs. ``python -m bench`` (or
``make bench``) prints one section per figure; ``--json`` also writes the results to a file.

Modules, one per figure:

* ``cold_import`` - fresh-process ``import handler`` vs ``import boto3``.
* ``per_event`` - in-process parse + normalize + rules vs ``json.loads`` + ``json.dumps``.
* ``replay`` - ``signin-monitor replay`` over a generated corpus vs reading the same files,
  beside ``duckdb_peer`` (the same detections as a DuckDB query; its alerts must be ours) and
  the store write rates of ``bulk_writes`` (DynamoDB under moto, SQLite).
* ``round_trips`` - DynamoDB calls per event, counted with botocore hooks under moto.
* ``package`` - the Lambda zip's size vs Lambda's limits.
* ``cost`` - dollars per million sign-in events, from the measured figures.

``corpus`` generates the CloudTrail corpus; ``memory_store`` is the in-memory fake store.
The test suite never runs these (``bench/`` is outside ``tests/``); ``tests/test_round_trips.py``
reuses only the round-trip counter, and asserts counts, never times.
"""

from __future__ import annotations
