"""Lambda entry point (placeholder until the pipeline lands)."""
