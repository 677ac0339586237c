"""Public (no API key) pages linked from emails, and the ESP webhooks, under /v1/.

The ESP webhooks are anymail's tracking views (`/v1/webhooks/email/<esp>/tracking/`)
behind `ANYMAIL["WEBHOOK_SECRET"]` basic auth; without a secret they answer 403
instead of accepting anyone (anymail alone would only warn).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from anymail import urls as anymail_urls
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, HttpResponseNotFound
from django.urls import URLPattern, include, path
from django.views.decorators.csrf import csrf_exempt

from tracking import views

app_name = "tracking-public"


def _require_webhook_secret(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @csrf_exempt
    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not (getattr(settings, "ANYMAIL", {}) or {}).get("WEBHOOK_SECRET"):
            return HttpResponseForbidden("ANYMAIL_WEBHOOK_SECRET is not configured")
        try:
            return view(request, *args, **kwargs)
        except ImproperlyConfigured:
            # An ESP this install does not use (its signing key or SDK is missing):
            # refuse the request instead of answering 500 to anyone who asks.
            return HttpResponseNotFound("This provider's webhook is not configured")

    return guarded


webhook_patterns = [
    URLPattern(pattern.pattern, _require_webhook_secret(pattern.callback), name=pattern.name)
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern) and (pattern.name or "").endswith("_tracking_webhook")
]

urlpatterns = [
    path("t/c/<str:link_id>", views.click, name="click"),
    path("t/o/<str:send_id>", views.open_pixel, name="open"),
    path("t/a/<str:link_id>", views.answer, name="answer"),
    path("t/a/<str:link_id>/seen", views.answer_beacon, name="answer-beacon"),
    path("email/unsubscribe", views.unsubscribe_page, name="unsubscribe"),
    path("email/preferences", views.preferences_page, name="preferences"),
    path("webhooks/email/", include((webhook_patterns, "anymail"))),
]
