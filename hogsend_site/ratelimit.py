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

# Re-exported: the limiters and their callers count the one client address.
from hogsend_site.client_ip import client_ip

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


@dataclass(frozen=True)
class RateState:
    """One counted hit: the limit, what is left of it, and (over it) seconds to wait."""

    limit: int
    remaining: int
    wait: int | None


def rate_limit_hit(*, scope: str, key: str, rate: str | Rate | None) -> int | None:
    """Count one hit of `key` in `scope`; None if allowed, else seconds to wait."""
    state = rate_limit_take(scope=scope, key=key, rate=rate)
    return state.wait if state is not None else None


def rate_limit_take(*, scope: str, key: str, rate: str | Rate | None) -> RateState | None:
    """Count one hit of `key` in `scope`; None when `rate` sets no limit."""
    parsed = rate if isinstance(rate, Rate) else Rate.parse(rate)
    if parsed is None:
        return None
    now = timezone.now().timestamp()
    window = int(now // parsed.seconds)
    cache_key = _cache_key(scope, key, parsed, now)
    cache.add(cache_key, 0, timeout=parsed.seconds + 1)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=parsed.seconds + 1)
        hits = 1
    remaining = max(0, parsed.count - hits)
    if hits <= parsed.count:
        return RateState(limit=parsed.count, remaining=remaining, wait=None)
    wait = max(1, math.ceil((window + 1) * parsed.seconds - now))
    return RateState(limit=parsed.count, remaining=remaining, wait=wait)


def rate_limit_peek(*, scope: str, key: str, rate: str | Rate | None) -> int | None:
    """Counts nothing: None while `key` has hits left in this window, else seconds to
    wait (for limits counted after the fact, such as failed sign-ins)."""
    parsed = rate if isinstance(rate, Rate) else Rate.parse(rate)
    if parsed is None:
        return None
    now = timezone.now().timestamp()
    if (cache.get(_cache_key(scope, key, parsed, now)) or 0) < parsed.count:
        return None
    return max(1, math.ceil((int(now // parsed.seconds) + 1) * parsed.seconds - now))


def rate_limit_reset(*, scope: str, key: str, rate: str | Rate | None) -> None:
    """Forget `key`'s hits in this window."""
    parsed = rate if isinstance(rate, Rate) else Rate.parse(rate)
    if parsed is not None:
        cache.delete(_cache_key(scope, key, parsed, timezone.now().timestamp()))


def _cache_key(scope: str, key: str, rate: Rate, now: float) -> str:
    return f"rl:{scope}:{key}:{int(now // rate.seconds)}"


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


class AdminPlaneThrottle(BaseThrottle):
    """The admin plane's limit (`ADMIN_RATE_LIMIT`, 100/min per key), applied by
    default to every API view whose permissions require the admin scope, so an
    admin endpoint added later is limited without remembering to say so."""

    scope = "admin"
    # The last hit's count, for the X-RateLimit-* headers (None: not limited).
    state: RateState | None = None

    def allow_request(self, request: Any, view: Any) -> bool:
        from hogsend_site.auth import HasAdminScope

        self._wait = None
        permissions = getattr(view, "permission_classes", ()) or ()
        if not any(isinstance(p, type) and issubclass(p, HasAdminScope) for p in permissions):
            return True
        key = getattr(request.auth, "pk", None) or client_ip(request)
        rate = getattr(settings, "ADMIN_RATE_LIMIT", "100/min")
        self.state = rate_limit_take(scope=self.scope, key=str(key), rate=rate)
        self._wait = self.state.wait if self.state is not None else None
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait
