"""Start-up configuration: secret key rules and the LEPSITE_ environment."""

import pytest

from lepsite import create_app
from lepsite.config import ConfigurationError


def test_refuses_to_start_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LEPSITE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("LEPSITE_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="LEPSITE_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_refuses_a_short_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LEPSITE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LEPSITE_SECRET_KEY", "short")
    with pytest.raises(ConfigurationError):
        create_app()


def test_debug_generates_a_key_once_into_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("LEPSITE_SECRET_KEY", raising=False)
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("LEPSITE_INSTANCE_PATH", str(tmp_path / "instance"))
    settings = {}
    first = create_app(settings)
    second = create_app(settings)
    assert len(first.config["SECRET_KEY"]) >= 32
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_the_prefixed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LEPSITE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LEPSITE_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("LEPSITE_MAIL_PORT", "587")
    monkeypatch.setenv("LEPSITE_MAIL_USE_TLS", "false")
    monkeypatch.setenv("LEPSITE_BASE_URL", "https://lep.example.org")
    app = create_app({"TESTING": False, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == "k" * 40
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_USE_TLS"] is False
