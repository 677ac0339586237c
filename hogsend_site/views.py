from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt

from hogsend_site.errors import json_not_found


def home(request: HttpRequest) -> HttpResponse:
    return redirect("admin:index")


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # health reports, never raises
        database = f"error: {exc.__class__.__name__}"
    healthy = database == "ok"
    return JsonResponse({"status": "healthy" if healthy else "unhealthy", "database": database},
                        status=200 if healthy else 503)


@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any unknown /v1 path, whatever the method (API clients send no CSRF token)."""
    return json_not_found(request)
