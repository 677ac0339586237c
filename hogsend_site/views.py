from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from hogsend_site.errors import json_not_found
from hogsend_site.health import health_report
from hogsend_site.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from hogsend_site.metrics import render as render_metrics


def home(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker, cluster heartbeat and lateness (hogsend_site/health.py);
    503 with the failing checks named when anything is unhealthy."""
    healthy, body = health_report()
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics behind `Authorization: Bearer <METRICS_TOKEN>` (404 without one)."""
    token = getattr(settings, "METRICS_TOKEN", "") or ""
    if not token:
        return json_not_found(request)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not constant_time_compare(given.strip(), token):
        response = JsonResponse({"error": "Unauthorized"}, status=401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=METRICS_CONTENT_TYPE)


@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any unknown /v1 path, whatever the method (API clients send no CSRF token)."""
    return json_not_found(request)
