"""`POST /v1/webhooks/<source>`: the one view every inbound webhook source is served by.

Answers: 404 for a source that is not defined or not enabled; 413 for a body
over MAX_BODY; 401 when the request fails the source's check (one log line,
nothing stored); 400 for a verified sender's payload that cannot become an
event (nothing stored); 200 otherwise, including a delivery that is ignored
or already stored, so the sender stops retrying it.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from sources.auth import Unverified, secret_value
from sources.definition import Malformed, WebhookRequest
from sources.registry import enabled_source
from sources.services import source_webhook_receive

logger = logging.getLogger(__name__)

# Helpdesk, billing and analytics deliveries are a few kilobytes; a megabyte
# is generous and keeps a hostile body from being read, hashed and parsed.
MAX_BODY = 1024 * 1024


@csrf_exempt
def receive(request: HttpRequest, source_id: str) -> JsonResponse:
    if request.method != "POST":
        response = JsonResponse({"error": "Method Not Allowed"}, status=405)
        response["Allow"] = "POST"
        return response
    source = enabled_source(source_id)
    if source is None:
        return JsonResponse({"error": "Unknown webhook source"}, status=404)
    body = _body(request)
    if body is None:
        return JsonResponse({"error": f"Payload too large (limit {MAX_BODY} bytes)"}, status=413)
    delivery = WebhookRequest(source_id=source.id, body=body, headers=request.headers)
    try:
        source.auth.verify(delivery, secret_value(source.auth.secret_env), timezone.now())
    except Unverified as exc:
        logger.warning("webhook %s refused: %s", source.id, exc.reason)
        return _logged(JsonResponse({"error": f"Unauthorized: {exc.reason}"}, status=401))
    try:
        received = source_webhook_receive(source=source, request=delivery)
    except Malformed as exc:
        logger.warning("webhook %s rejected a payload: %s", source.id, exc.message)
        return _logged(JsonResponse({"error": "Invalid payload", "details": exc.message},
                                    status=400))
    if received.ignored:
        logger.info("webhook %s ignored a delivery: %s", source.id, received.ignored)
        return JsonResponse({"ok": True, "ignored": received.ignored})
    events = [{"name": result.input.name, "stored": result.stored,
               "contactKey": result.contact_key} for result in received.events]
    logger.info("webhook %s: %s", source.id,
                ", ".join(f"{e['name']} {'stored' if e['stored'] else 'duplicate'}"
                          for e in events))
    return JsonResponse({"ok": True, "events": events})


def _logged(response: JsonResponse) -> JsonResponse:
    # The line above says which source and why; Django's request logger would
    # add a second, bare "Unauthorized: <path>" for the same refusal.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def _body(request: HttpRequest) -> bytes | None:
    """The raw body, or None when it is over MAX_BODY (not read when it says so up front)."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY:
        return None
    try:
        body = request.body
    except RequestDataTooBig:
        return None
    return body if len(body) <= MAX_BODY else None
