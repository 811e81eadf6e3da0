"""Twins: bodies (see bench/twins/__init__.py)."""

PG: dict[str, str] = {}
