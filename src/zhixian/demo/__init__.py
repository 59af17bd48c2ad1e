"""Deterministic synthetic demo data (a fictional but plausible county) for demos, docs and tests."""
