"""Activity stores: the ``ActivityStore`` protocol and its SQLite and DynamoDB implementations.

The implementations are imported from their own modules so that the Lambda never loads sqlite
code and the command line never pays for boto3 unless it uses DynamoDB.
"""

from __future__ import annotations

from .base import ActivityStore, ClaimOutcome, ClaimStatus, HistoryQuery

__all__ = ["ActivityStore", "ClaimOutcome", "ClaimStatus", "HistoryQuery"]
