"""Production configuration (SECURITY.md A1, A3, A5): checked on the real settings module with a
production environment, in a subprocess so nothing of the test settings leaks in."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PROD_ENV = {
    "PATH": os.environ.get("PATH", ""),
    "DJANGO_SETTINGS_MODULE": "jiafang.settings",
    "SECRET_KEY": "prod-" + "k" * 60,
    "ALLOWED_HOSTS": "jiafang.example.edu.cn",
    "JIAFANG_VAR_DIR": "/tmp/jiafang-prod-check",
}


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env or PROD_ENV,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_has_no_findings():
    """A1: `check --deploy --fail-level WARNING` with production settings: 0 findings."""
    result = _run("manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (1 silenced)" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    env = {k: v for k, v in PROD_ENV.items() if k != "SECRET_KEY"}
    result = _run("manage.py", "check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _run("manage.py", "check", env={**PROD_ENV, "SECRET_KEY": "short"})
    assert result.returncode != 0
    assert "at least 50" in result.stderr


PROBE = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({k: getattr(s, k) for k in [
  "DEBUG", "SESSION_COOKIE_NAME", "CSRF_COOKIE_NAME", "SESSION_COOKIE_SECURE",
  "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SESSION_COOKIE_SAMESITE",
  "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
  "SESSION_COOKIE_AGE", "SESSION_ABSOLUTE_SECONDS", "SESSION_IDLE_SECONDS", "SESSION_SAVE_EVERY_REQUEST",
  "API_DOCS_ENABLED", "DEMO_MODE", "PASSWORD_COMPOSITION_RULES", "PASSWORD_MAX_AGE_DAYS",
  "AXES_FAILURE_LIMIT", "SECURE_PROXY_SSL_HEADER"] if hasattr(s, k)} | {
  "first_hasher": s.PASSWORD_HASHERS[0],
  "installed": s.INSTALLED_APPS}, default=str))
"""


@pytest.fixture(scope="module")
def prod_settings() -> dict:
    result = _run("-c", PROBE)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_production_cookies_are_host_prefixed_secure_and_httponly(prod_settings):
    """A3: __Host- names, Secure, HttpOnly session, SameSite set."""
    s = prod_settings
    assert s["SESSION_COOKIE_NAME"] == "__Host-sessionid"
    assert s["CSRF_COOKIE_NAME"] == "__Host-csrftoken"
    assert s["SESSION_COOKIE_SECURE"] and s["CSRF_COOKIE_SECURE"]
    assert s["SESSION_COOKIE_HTTPONLY"]
    assert s["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_production_https_and_sessions(prod_settings):
    s = prod_settings
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] == 31536000 and s["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert s["SECURE_PROXY_SSL_HEADER"] is None  # only when JIAFANG_BEHIND_PROXY says so
    assert s["SESSION_IDLE_SECONDS"] == 30 * 60  # inactivity, enforced by middleware
    assert s["SESSION_COOKIE_AGE"] >= s["SESSION_IDLE_SECONDS"]
    assert s["SESSION_ABSOLUTE_SECONDS"] == 12 * 60 * 60
    assert s["first_hasher"].endswith("Argon2PasswordHasher")
    assert s["AXES_FAILURE_LIMIT"] == 5


def test_production_has_no_demo_no_api_docs_no_admin(prod_settings):
    """A5: no demo mode, no interactive API docs, no admin site in production."""
    s = prod_settings
    assert s["DEMO_MODE"] is False
    assert s["API_DOCS_ENABLED"] is False
    assert "django.contrib.admin" not in s["installed"]


def test_password_policy_switches_are_off_by_default(prod_settings):
    assert prod_settings["PASSWORD_COMPOSITION_RULES"] is False
    assert prod_settings["PASSWORD_MAX_AGE_DAYS"] == 0
