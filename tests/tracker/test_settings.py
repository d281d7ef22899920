"""Settings are read from the environment and fail loudly on a bad value.

Each case runs the settings module in a fresh interpreter with a controlled environment,
so the suite's own settings are untouched.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Once per CI run: settings parsing.
pytestmark = pytest.mark.engines("once")

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import django; django.setup(); from django.conf import settings; print({expr})"


def _settings(env, expr="'ok'"):
    inherited = {"SECRET_KEY", "DEBUG", "DATABASE_URL", "SECURE_SSL_REDIRECT", "STATIC_MANIFEST"}
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    clean.update({"DJANGO_SETTINGS_MODULE": "tracker.settings"}, **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE.format(expr=expr)], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = _settings({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_is_off_unless_turned_on():
    result = _settings({"SECRET_KEY": "x" * 50}, "settings.DEBUG")
    assert result.stdout.strip() == "False"


def test_a_bad_boolean_names_the_variable():
    result = _settings({"SECRET_KEY": "x" * 50, "DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_a_bad_number_names_the_variable():
    result = _settings({"SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@h/db", "CONN_MAX_AGE": "soon"})
    assert result.returncode != 0
    assert "CONN_MAX_AGE must be a whole number" in result.stderr


def test_an_unsupported_database_is_refused():
    result = _settings({"SECRET_KEY": "x" * 50, "DATABASE_URL": "mysql://u@h/db"})
    assert result.returncode != 0
    assert "DATABASE_URL must be a sqlite:// or postgres:// URL" in result.stderr


def test_sqlite_is_the_default_database():
    result = _settings({"DEBUG": "true"}, "settings.DATABASES['default']['ENGINE']")
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_postgres_connections_persist_and_are_health_checked():
    expr = "(settings.DATABASES['default']['CONN_MAX_AGE'], settings.DATABASES['default']['CONN_HEALTH_CHECKS'])"
    result = _settings({"SECRET_KEY": "x" * 50, "DATABASE_URL": "postgres://u@h:5432/db"}, expr)
    assert result.stdout.strip() == "(60, True)"


@pytest.mark.parametrize(
    "flag", ["SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "STATIC_MANIFEST"]
)
def test_production_defaults_are_secure(flag):
    result = _settings({"SECRET_KEY": "x" * 50}, f"settings.{flag}")
    assert result.stdout.strip() == "True"


def test_production_settings_pass_the_deploy_check():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECURE_SSL_REDIRECT"}}
    env.update(
        {
            "SECRET_KEY": "a-long-random-production-like-secret-key-0123456789-abcdefghijkl",
            "ALLOWED_HOSTS": "tracker.example.org",
            "DEBUG": "false",
        }
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
