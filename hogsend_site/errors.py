"""The project's exception root and the one DRF handler that renders errors.

Every API error body is `{"error": "..."}` (the reference's wire shape).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)


class HogsendError(Exception):
    """Root of the project's errors. `status` is the HTTP status an API answers with."""

    status = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(HogsendError):
    status = 404


class Conflict(HogsendError):
    status = 409


def _first_message(detail: Any, path: str = "") -> str:
    """Flatten DRF's nested validation detail into one readable sentence."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            prefix = f"{path}.{key}" if path else str(key)
            if key == "non_field_errors":
                prefix = path
            return _first_message(value, prefix)
    if isinstance(detail, list) and detail:
        if all(not isinstance(d, (dict, list)) for d in detail):
            return _first_message(detail[0], path)
        for index, item in enumerate(detail):
            if item:
                return _first_message(item, f"{path}[{index}]")
    text = str(detail)
    return f"{path}: {text}" if path else text


def error_message(detail: Any) -> str:
    return _first_message(detail)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, HogsendError):
        return Response({"error": exc.message, **exc.extra}, status=exc.status)
    if isinstance(exc, ValidationError):
        exc = drf_exceptions.ValidationError(exc.messages)
    if isinstance(exc, Http404):
        return Response({"error": "Not Found"}, status=404)
    if isinstance(exc, PermissionDenied):
        return Response({"error": "Forbidden: insufficient scope"}, status=403)
    if isinstance(exc, RequestDataTooBig):
        # Django refused a body past DATA_UPLOAD_MAX_MEMORY_SIZE before reading it;
        # on the API the limit that matters is the API's (hogsend_site/json_limits.py).
        limit = settings.API_MAX_BODY_BYTES
        return Response({"error": f"Request body too large: at most {limit} bytes"}, status=413)
    response = exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled API error", exc_info=exc)
        return Response({"error": "Internal Server Error"}, status=500)
    if isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        not_authenticated = isinstance(exc, drf_exceptions.NotAuthenticated)
        message = "Unauthorized" if not_authenticated else str(exc.detail)
    elif isinstance(exc, drf_exceptions.PermissionDenied):
        message = "Forbidden: insufficient scope"
    elif isinstance(exc, drf_exceptions.Throttled):
        message = "Rate limit exceeded"
    elif isinstance(exc, drf_exceptions.ParseError):
        message = f"Invalid JSON body: {exc.detail}"
    else:
        message = error_message(exc.detail)
    response.data = {"error": message}
    return response


def json_not_found(request, exception=None) -> JsonResponse:
    return JsonResponse({"error": "Not Found"}, status=404)


def json_server_error(request) -> JsonResponse:
    return JsonResponse({"error": "Internal Server Error"}, status=500)
