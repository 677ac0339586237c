from __future__ import annotations

import pytest

from tests.sources.vendors import SECRETS


@pytest.fixture(autouse=True)
def source_secrets(settings) -> dict[str, str]:
    """Every preset configured with a known secret (and nothing from the developer's .env)."""
    settings.ENABLED_SOURCES = "*"
    for name, value in SECRETS.items():
        setattr(settings, name, value)
    return SECRETS
