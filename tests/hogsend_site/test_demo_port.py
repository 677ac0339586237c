"""`PORT=8080 make demo`: every link the product writes follows the port it serves on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def public_base_url(**env: str) -> str:
    """PUBLIC_BASE_URL as the real settings module computes it in a fresh process."""
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PUBLIC_BASE_URL", "PORT", "DJANGO_SETTINGS_MODULE")}
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE']='hogsend_site.settings';"
            "django.setup(); from django.conf import settings; print(settings.PUBLIC_BASE_URL)")
    result = subprocess.run([sys.executable, "-c", code], env={**clean, **env,
                            "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                            check=True, cwd=ROOT)
    return result.stdout.strip().splitlines()[-1]


pytestmark = pytest.mark.skipif(
    "PUBLIC_BASE_URL" in ((ROOT / ".env").read_text() if (ROOT / ".env").exists() else ""),
    reason="this checkout's .env sets PUBLIC_BASE_URL, which rightly wins over PORT")


def test_links_follow_the_port_the_demo_serves_on():
    assert public_base_url(PORT="8080") == "http://localhost:8080"


def test_without_a_port_links_point_at_the_default_8000():
    assert public_base_url() == "http://localhost:8000"


def test_an_explicit_public_base_url_wins_over_the_port():
    assert public_base_url(PORT="8080", PUBLIC_BASE_URL="https://mail.example.com/") == (
        "https://mail.example.com")


@pytest.mark.skipif(not Path("/usr/bin/make").exists(), reason="needs make")
def test_make_demo_hands_its_port_to_every_process():
    # `make -n` prints the recipe without running it; the exported PORT is what
    # settings read in the web server, qcluster and clock alike.
    recipe = subprocess.run(["make", "-n", "demo", "PORT=8080"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    assert "runserver 0.0.0.0:8080" in recipe
    makefile = (ROOT / "Makefile").read_text()
    assert "\nexport PORT\n" in makefile
