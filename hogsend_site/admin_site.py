"""The project's admin site: Django's, with failed sign-ins throttled and, for
support staff, the support home as its index (alerts/admin_home.py).

Failed sign-ins are counted per username and per client address in fixed windows
(`ADMIN_LOGIN_RATE_LIMIT`, `ADMIN_LOGIN_IP_RATE_LIMIT`, 5/min each). Once either
is used up, the login page answers 429 with `Retry-After` and checks no password,
right or wrong, until the window ends: a guesser gets a handful of tries a minute,
and the real user is let in again a minute later at most. Only failures count, so
people who type their password right are never slowed down.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from hogsend_site.ratelimit import client_ip, rate_limit_peek, rate_limit_reset, rate_limit_take

USERNAME_SCOPE = "admin-login-user"
IP_SCOPE = "admin-login-ip"


def _limits(request: HttpRequest, username: str) -> list[tuple[str, str, str | None]]:
    limits = [(IP_SCOPE, client_ip(request),
               getattr(settings, "ADMIN_LOGIN_IP_RATE_LIMIT", "5/min"))]
    if username:
        # Hashed: a username is arbitrary text, a cache key must not be.
        digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
        limits.append((USERNAME_SCOPE, digest,
                       getattr(settings, "ADMIN_LOGIN_RATE_LIMIT", "5/min")))
    return limits


def admin_login_wait(*, request: HttpRequest, username: str) -> int | None:
    """Seconds before this address or username may try a password again, or None."""
    waits = [rate_limit_peek(scope=scope, key=key, rate=rate)
             for scope, key, rate in _limits(request, username)]
    return max((wait for wait in waits if wait), default=None)


def admin_login_failed(*, request: HttpRequest, username: str) -> None:
    for scope, key, rate in _limits(request, username):
        rate_limit_take(scope=scope, key=key, rate=rate)


def admin_login_succeeded(*, request: HttpRequest, username: str) -> None:
    # The user's own typos are forgiven; the address's count stays, or signing in
    # to one's own account would reset a guesser's budget for every other one.
    for scope, key, rate in _limits(request, username):
        if scope == USERNAME_SCOPE:
            rate_limit_reset(scope=scope, key=key, rate=rate)


class ThrottledLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "throttled": "Too many failed sign-in attempts. Try again in %(wait)s seconds.",
    }
    # Seconds to wait when this attempt was refused unchecked (the view's 429).
    throttle_wait: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        self.throttle_wait = admin_login_wait(request=self.request, username=username)
        if self.throttle_wait:
            raise ValidationError(self.error_messages["throttled"], code="throttled",
                                  params={"wait": self.throttle_wait})
        try:
            cleaned = super().clean()
        except ValidationError:
            admin_login_failed(request=self.request, username=username)
            raise
        if self.get_user() is not None:
            admin_login_succeeded(request=self.request, username=username)
        return cleaned


class HogsendAdminSite(admin.AdminSite):
    login_form = ThrottledLoginForm

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None
              ) -> HttpResponse:
        response = super().login(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        wait = getattr(form, "throttle_wait", None)
        if wait:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None
              ) -> HttpResponse:
        # Imported here: the dashboard reads every app, and hogsend_site sits below them.
        from alerts.admin_home import support_home, support_home_visible

        context = dict(extra_context or {})
        if support_home_visible(request.user):
            context.update(title="Support home",
                           support_home=support_home(now=timezone.now()))
        return super().index(request, context)
