"""Security fixtures: the tracking suite's sent follow-up, and clean rate-limit counters."""

from __future__ import annotations

from tests.tracking.conftest import followup, fresh_rate_limits

__all__ = ["followup", "fresh_rate_limits"]
