"""Fixtures: an app per test on a temporary SQLite file, and factories that return callables."""

import textwrap
from pathlib import Path

import pytest

from lepsite import create_app
from lepsite.extensions import db


@pytest.fixture(autouse=True)
def isolated_instance(tmp_path, monkeypatch):
    """Keep every test's local data (database, compiled catalogs, outbox) in its own folder."""
    monkeypatch.setenv("LEPSITE_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)


@pytest.fixture
def app_factory(tmp_path):
    """Return a function that builds an app with extra settings, on its own database."""

    def make(**overrides):
        config = {
            "TESTING": True,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
            "SERVER_NAME": "lep.test",
            **overrides,
        }
        app = create_app(config)
        with app.app_context():
            db.create_all()
        return app

    return make


@pytest.fixture
def app(app_factory):
    """The app with the real content."""
    return app_factory()


@pytest.fixture
def client(app):
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for the app."""
    return app.test_cli_runner()


@pytest.fixture
def write_content(tmp_path):
    """Return a function that writes a content file and gives back the content root."""
    root = tmp_path / "content"

    def write(relative: str, text: str) -> Path:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return root

    return write


@pytest.fixture
def small_site(write_content):
    """A minimal content tree: home and about in English only, news and partnerships intros."""
    for lang in ("en",):
        write_content(f"{lang}/index.md", "---\ntitle: Home\nsummary: Welcome.\n---\nHello.\n")
    write_content(
        "en/about.md", "---\ntitle: About\nsummary: About us.\nnav: main\norder: 1\n---\nText.\n"
    )
    write_content(
        "uk/about.md", "---\ntitle: Про нас\nsummary: Про нас.\nnav: main\norder: 1\n---\nТекст.\n"
    )
    write_content("en/news/index.md", "---\ntitle: News\nsummary: What is new.\n---\n")
    write_content("en/partnerships/index.md", "---\ntitle: Partnerships\nsummary: All.\n---\n")
    return write_content(
        "en/contact.md", "---\ntitle: Contact\nsummary: Reach us.\nnav: footer\norder: 1\n---\n"
    )
