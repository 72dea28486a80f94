"""The audit report (``signin-monitor report``): a period's sign-in evidence as files.

``command`` is the CLI entry, ``sources`` reads a store, ``gather`` counts, ``page`` renders
the HTML (with ``svg`` charts), ``files`` writes the CSV, JSON Lines and manifest, and
``build`` ties them together. Nothing here is imported by the Lambda.
"""

from __future__ import annotations

__all__: list[str] = []
