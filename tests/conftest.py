"""Fixtures shared across test folders."""

from __future__ import annotations

from tests.concurrency import moto_server

__all__ = ["moto_server"]
