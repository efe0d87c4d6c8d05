"""lepsite: the public website of the Local Employment Partnerships."""

import os
from pathlib import Path

from flask import Flask

from . import errors, i18n, security, site, templating, translate
from .config import defaults, ensure_secret_key
from .content import ContentStore
from .extensions import babel, csrf, db, migrate
from .paths import site_dir
from .public import bp as public_bp


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``LEPSITE_*`` environment, then the test mapping."""
    app = Flask(
        __name__,
        # Where local data lives (SQLite, outbox, generated key); an operator may move it.
        instance_path=os.environ.get("LEPSITE_INSTANCE_PATH") or None,
        instance_relative_config=True,
        static_folder=str(site_dir("static")),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_prefixed_env("LEPSITE")
    if test_config is not None:
        app.config.from_mapping(test_config)
    ensure_secret_key(app)

    i18n.compile_catalogs(
        Path(app.config["TRANSLATIONS_SOURCE_DIR"]),
        Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]),
    )
    babel.init_app(app, locale_selector=i18n.current_language)
    csrf.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db)

    app.extensions["lepsite.content"] = ContentStore(
        Path(app.config["CONTENT_DIR"]), auto_reload=app.debug
    )

    i18n.init_app(app)
    app.register_blueprint(public_bp)
    app.register_blueprint(site.bp)
    app.register_blueprint(translate.bp)
    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    return app
