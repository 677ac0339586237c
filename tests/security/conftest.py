"""Security fixtures: the tracking suite's sent follow-up and throwaway templates.
(Rate-limit counters start empty in every test: tests/conftest.py clears the cache.)"""

from __future__ import annotations

from tests.tracking.conftest import extra_templates, followup

__all__ = ["extra_templates", "followup"]
