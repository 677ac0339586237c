"""`manage.py check --deploy` is clean with `.env.production.example`."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

EXAMPLE = settings.BASE_DIR / ".env.production.example"


def example_env() -> dict[str, str]:
    values = {}
    for line in EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def test_the_production_example_turns_debug_off_and_https_on():
    env = example_env()
    assert env["DEBUG"] == "false"
    assert env["SECURE_SSL_REDIRECT"] == env["SESSION_COOKIE_SECURE"] == "true"
    assert env["CSRF_COOKIE_SECURE"] == "true" and int(env["SECURE_HSTS_SECONDS"]) >= 31536000
    assert len(env["SECRET_KEY"]) >= 50 and len(set(env["SECRET_KEY"])) >= 5
    assert env["ALLOWED_HOSTS"] == "example.com"


def test_check_deploy_is_clean_with_the_production_example():
    # Exactly the example's values (its database and Redis need not be reachable:
    # the deploy checks do not connect).
    env = {**os.environ, **example_env(), "DJANGO_SETTINGS_MODULE": "hogsend_site.settings"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
    assert "WARNING" not in output.upper().replace("--FAIL-LEVEL WARNING", "")
