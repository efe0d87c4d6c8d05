"""The statistics: report figures kept beside the applications, and ``/admin/reports``.

This package owns the statistics. ``models`` holds the figures (rollup tables), ``rollups``
keeps them right in the same transaction as every change to an application and rebuilds
them (``flask reports rebuild``), ``queries`` reads them (and lists them for ``bench/``),
``figures`` and ``charts`` turn them into tables, SVG charts and CSV, ``views`` serves them
to admins (every partnership) and coordinators (their own).
"""

from flask import Flask

from ..extensions import db
from . import models, rollups
from .cli import reports_cli
from .rollups import defer, rebuild

__all__ = ["defer", "init_app", "models", "rebuild", "reports_cli"]


def init_app(app: Flask) -> None:
    """Keep the figures with every transaction; serve the page; add the command."""
    from .views import bp

    rollups.listen(db.session.session_factory.class_)
    app.register_blueprint(bp)
    app.cli.add_command(reports_cli)
