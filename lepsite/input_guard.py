"""Refuse control characters before they reach the database (stub, filled in by its work)."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the request check."""
