"""Admin-plane fixtures: the journeys `register` fixture. (Rate-limit counters start
empty in every test: tests/conftest.py clears the cache.)"""

from __future__ import annotations

from tests.journeys.conftest import register

__all__ = ["register"]
