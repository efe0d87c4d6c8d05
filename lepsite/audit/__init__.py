"""The audit log (ASVS V16): who did what to which account or application, and when.

Stub: filled in by the audit work. ``record()`` is the one way to write an entry.
"""

from flask import Flask


def record(action: str, *, actor=None, subject: str = "", details: dict | None = None,
           email: str = "") -> None:
    """Add an audit entry to the current database session (committed with the caller's work)."""


def init_app(app: Flask) -> None:
    """Register the audit view and commands."""
