"""Security fixtures: the tracking suite's sent follow-up, throwaway templates, and clean
rate-limit counters."""

from __future__ import annotations

from tests.tracking.conftest import extra_templates, followup, fresh_rate_limits

__all__ = ["extra_templates", "followup", "fresh_rate_limits"]
