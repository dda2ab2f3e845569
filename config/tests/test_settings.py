"""Production settings, checked the way an operator would: `manage.py` in a subprocess with the
environment the README documents (no server is contacted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.base",
    "DATABASE_URL": "postgres://shop@db.internal:5432/shop",
    "REDIS_URL": "redis://redis.internal:6379/0",
    # Made by `secrets.token_urlsafe(50)`, as the README says.
    "DJANGO_SECRET_KEY": "q3VbJx0-sW9kT_LmZr7aYc2PdNe5HgUf8iKoBt1XjR4lMnQvEw6CyAzIp0SuDhFG7a",
    "DJANGO_ALLOWED_HOSTS": "shop.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_HSTS_SECONDS": "31536000",
    "DJANGO_HSTS_PRELOAD": "true",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "CSRF_TRUSTED_ORIGINS": "https://shop.example.com",
    "CORS_ALLOWED_ORIGINS": "https://app.shop.example.com",
}
_OURS = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "CACHE_REDIS_URL", "CELERY_BROKER_URL", "CORS_")


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_the_documented_production_env() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_without_the_production_env() -> None:
    bare = {
        k: v
        for k, v in PRODUCTION_ENV.items()
        if not k.startswith(("DJANGO_SECURE", "DJANGO_HSTS"))
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **bare)
    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W008" in result.stderr  # no SSL redirect


def test_a_short_secret_key_is_refused_with_how_to_make_one() -> None:
    result = _manage("check", **{**PRODUCTION_ENV, "DJANGO_SECRET_KEY": "a" * 24})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is 24 bytes; it must be at least 32" in result.stderr
    assert "secrets.token_urlsafe(50)" in result.stderr
