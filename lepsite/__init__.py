"""lepsite: the public website of the Local Employment Partnerships."""

import os
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    accounts,
    audit,
    database,
    demo,
    errors,
    i18n,
    input_guard,
    mail,
    reports,
    request_log,
    search,
    security,
    site,
    static_files,
    templating,
    translate,
    urls,
)
from .admin import bp as admin_bp
from .admin import search as admin_search
from .config import (
    defaults,
    ensure_base_url,
    ensure_secret_key,
    ensure_time_zone,
    secure_cookies_by_default,
)
from .content import ContentStore
from .content_cli import content_cli
from .extensions import babel, csrf, db, limiter, migrate
from .mail import mail_cli
from .membership import bp as membership_bp
from .membership.cli import applications_cli
from .paths import site_dir
from .public import bp as public_bp
from .public import caching


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``LEPSITE_*`` environment, then the test mapping."""
    app = Flask(
        __name__,
        # Where local data lives (SQLite, outbox, generated key); an operator may move it.
        instance_path=os.environ.get("LEPSITE_INSTANCE_PATH") or None,
        instance_relative_config=True,
        static_folder=str(site_dir("static")),
    )
    # Ids in URLs fit the database's integers, before any route is added.
    app.url_map.converters["int"] = urls.BoundedIntegerConverter
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(defaults(app.instance_path))
    app.config.from_prefixed_env("LEPSITE")
    if test_config is not None:
        app.config.from_mapping(test_config)
    ensure_secret_key(app)
    ensure_base_url(app)
    secure_cookies_by_default(app)
    ensure_time_zone(app)

    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(
        i18n.compile_catalogs(
            Path(app.config["TRANSLATIONS_SOURCE_DIR"]),
            Path(app.config["BABEL_TRANSLATION_DIRECTORIES"]),
        )
    )
    babel.init_app(app, locale_selector=i18n.current_language)
    csrf.init_app(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = database.engine_options(app.config)
    db.init_app(app)
    with app.app_context():
        database.init_engine(db.engine, app)
    migrate.init_app(
        app,
        db,
        directory=str(site_dir("migrations")),
        render_as_batch=True,
        include_name=admin_search.in_models,  # the FTS5 table and trigram index: not models
    )
    limiter.init_app(app)
    accounts.init_app(app)
    if app.config["PROXY_COUNT"]:
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    app.extensions["lepsite.content"] = ContentStore(
        Path(app.config["CONTENT_DIR"]), auto_reload=app.debug
    )
    caching.init_app(app)

    i18n.init_app(app)
    app.register_blueprint(public_bp)
    search.init_app(app)  # indexes the pages loaded above; serves /<lang>/search
    app.register_blueprint(membership_bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(site.bp)
    app.register_blueprint(translate.bp)
    app.cli.add_command(mail_cli)
    app.cli.add_command(accounts.users_cli)
    app.cli.add_command(demo.demo_cli)
    app.cli.add_command(applications_cli)
    app.cli.add_command(content_cli)
    audit.init_app(app)
    reports.init_app(app)  # the statistics, kept with every change to an application
    mail.init_app(app)
    input_guard.init_app(app)
    errors.init_app(app)
    request_log.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    static_files.init_app(app)
    return app
