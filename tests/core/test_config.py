"""Configuration: working defaults for a first run, refusal of unsafe production settings."""

from __future__ import annotations

import pytest

from signatory import create_app
from signatory.core.config import ConfigError


def test_with_nothing_set_the_app_uses_its_instance_folder(tmp_path, monkeypatch):
    for name in ("SIGNATORY_DATABASE_URL", "SIGNATORY_MAIL_URL", "SIGNATORY_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'signatory.sqlite3'}"
    assert app.config["MAIL_URL"] == (tmp_path / "mail").as_uri()
    assert len(app.config["SECRET_KEY"]) >= 32


def test_the_generated_secret_is_kept_and_reused(tmp_path):
    first = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    second = create_app({"INSTANCE_PATH": str(tmp_path)}).config["SECRET_KEY"]
    assert first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_settings_come_from_the_prefixed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SIGNATORY_MAIL_FROM", "letters@coalition.example")
    monkeypatch.setenv("SIGNATORY_CONFIRM_TOKEN_MAX_AGE", "60")
    app = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert app.config["MAIL_FROM"] == "letters@coalition.example"
    assert app.config["CONFIRM_TOKEN_MAX_AGE"] == 60


def test_production_mode_refuses_development_defaults(tmp_path):
    with pytest.raises(ConfigError, match="SIGNATORY_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path), "ENV_PRODUCTION": True})


def test_production_mode_starts_with_real_settings(tmp_path):
    app = create_app(
        {
            "INSTANCE_PATH": str(tmp_path),
            "ENV_PRODUCTION": True,
            "SECRET_KEY": "s" * 48,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            "MAIL_URL": "smtp://127.0.0.1:2525",
        }
    )
    assert app.config["ENV_PRODUCTION"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("MAIL_URL", "carrier-pigeon://roof", "SIGNATORY_MAIL_URL"),
        ("DATABASE_URL", "mysql://x", "SIGNATORY_DATABASE_URL"),
        ("BASE_URL", "not a url", "SIGNATORY_BASE_URL"),
        ("CONFIRM_TOKEN_MAX_AGE", "soon", "SIGNATORY_CONFIRM_TOKEN_MAX_AGE"),
    ],
)
def test_unusable_settings_are_refused_with_the_variable_named(tmp_path, key, value, message):
    with pytest.raises(ConfigError, match=message):
        create_app({"INSTANCE_PATH": str(tmp_path), key: value})


def test_the_session_cookie_is_secure_when_served_over_https(tmp_path):
    https = create_app({"INSTANCE_PATH": str(tmp_path), "BASE_URL": "https://letters.example"})
    http = create_app({"INSTANCE_PATH": str(tmp_path), "BASE_URL": "http://127.0.0.1:5000"})
    assert https.config["SESSION_COOKIE_SECURE"] is True
    assert http.config["SESSION_COOKIE_SECURE"] is False


def test_behind_a_configured_proxy_the_forwarded_scheme_is_trusted(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "PROXY_FIX": 1})
    response = app.test_client().get(
        "/static/signatory.css", headers={"X-Forwarded-Proto": "https"}
    )
    response.close()
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
