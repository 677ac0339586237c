"""A small fixed-window rate limiter on Django's cache (Redis when REDIS_URL is set).

Rates are strings like `"30/min"`, `"100/hour"`, `"5/s"` (or `None`/`""` for
no limit), read from settings at request time. `rate_limit_hit()` counts one
hit and answers how many seconds to wait when the limit is exceeded;
`KeyRateThrottle` plugs it into DRF (per API key) and answers 429 with
`Retry-After` through the project's exception handler.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
           "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str | None) -> Rate | None:
        if not text:
            return None
        count, _, period = str(text).partition("/")
        return cls(count=int(count), seconds=PERIODS[period.strip().lower() or "min"])


def rate_limit_hit(*, scope: str, key: str, rate: str | Rate | None) -> int | None:
    """Count one hit of `key` in `scope`; None if allowed, else seconds to wait."""
    parsed = rate if isinstance(rate, Rate) else Rate.parse(rate)
    if parsed is None:
        return None
    now = timezone.now().timestamp()
    window = int(now // parsed.seconds)
    cache_key = f"rl:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=parsed.seconds + 1)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=parsed.seconds + 1)
        hits = 1
    if hits <= parsed.count:
        return None
    return max(1, math.ceil((window + 1) * parsed.seconds - now))


def client_ip(request: Any) -> str:
    forwarded = (request.META.get("HTTP_X_FORWARDED_FOR") or "").split(",")[0].strip()
    return forwarded or request.META.get("HTTP_X_REAL_IP") or request.META.get("REMOTE_ADDR", "")


class KeyRateThrottle(BaseThrottle):
    """DRF throttle per API key. Subclasses set `scope` and `setting` (+ `default`)."""

    scope = "api"
    setting = ""
    default: str | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        key = getattr(request.auth, "pk", None) or client_ip(request)
        rate = getattr(settings, self.setting, self.default) if self.setting else self.default
        self._wait = rate_limit_hit(scope=self.scope, key=str(key), rate=rate)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
