"""Delivering queued webhook deliveries: deferred work, signing, HTTP, retries.

What is delivered, to whom and in which shape is `alerts/destinations.py`
(its docstring has the catalogue and the delivery contract); this module is
the transport: the `webhook-deliveries` due source claims pending rows whose
`next_attempt_at` has come (and `sending` rows whose lease expired), POSTs each
with a 15 s timeout through the egress guard (alerts/egress.py: public
addresses only, checked and pinned at every attempt) and records the answer:
delivered, retried with backoff, failed (the dead letter) or discarded. A
destination the guard refuses fails at once: nothing was sent, and retrying
would repeat the refusal (staff re-drive it once the URL or allowlist is fixed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Min
from django.utils import timezone

from alerts import egress
from alerts.models import WebhookDelivery, WebhookEndpoint
from hogsend_site.due import DueSource, claim_due

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
ACTION = "email.action"
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=5)
BACKOFF_JITTER = timedelta(seconds=5)
BACKOFF_CAP = timedelta(hours=6)
POST_TIMEOUT = 15  # seconds, per request
SNIPPET_BYTES = 1024
# A batch is POSTed one by one: 10 x 15 s stays inside the lease and Q_TIMEOUT.
BATCH_SIZE = 10
LEASE = timedelta(minutes=5)


def posthog_capture_enabled() -> bool:
    return bool(getattr(settings, "POSTHOG_CAPTURE_ANSWERS", False)
                and getattr(settings, "POSTHOG_HOST", "")
                and getattr(settings, "POSTHOG_PROJECT_API_KEY", ""))


def claim(now: datetime, limit: int) -> list[Any]:
    # A `sending` row is leased; once its lease expires (killed worker) it is
    # claimed again. Every claim counts as an attempt, so a delivery whose
    # worker keeps dying still runs out.
    return claim_due(
        WebhookDelivery.objects.filter(status__in=[Status.PENDING, Status.SENDING]),
        due_field="next_attempt_at", now=now, limit=limit, lease=LEASE,
        extra_update={"status": Status.SENDING, "attempts": F("attempts") + 1,
                      "last_attempt_at": now})


def process(ids: list[Any]) -> None:
    for delivery_id in ids:
        try:
            delivery_attempt(delivery_id)
        except Exception:
            # Left `sending`: the lease expires and the next run_due tries again.
            logger.exception("webhook delivery %s failed unexpectedly", delivery_id)


def next_due() -> datetime | None:
    pending = WebhookDelivery.objects.filter(status=Status.PENDING)
    return pending.aggregate(at=Min("next_attempt_at"))["at"]


DUE_SOURCE = DueSource(name="webhook-deliveries", claim=claim, process=process,
                       batch_size=BATCH_SIZE, next_due=next_due)


@dataclass(frozen=True)
class Response:
    status: int | None
    snippet: str = ""
    error: str = ""
    # A request that never left (a refused URL) is not worth retrying.
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        if self.status is None:
            return not self.refused
        return self.status in (408, 429) or self.status >= 500


class Unavailable(Exception):
    """The destination cannot be called any more (the delivery is discarded)."""


def delivery_attempt(delivery_id: Any) -> str:
    """POST one claimed delivery and record the outcome; returns the new status."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(
        pk=delivery_id, status=Status.SENDING).first()
    if delivery is None:
        return "gone"
    if delivery.endpoint.disabled:
        return _finish(delivery, Status.DISCARDED, error="endpoint disabled")
    if delivery.attempts > MAX_ATTEMPTS:
        return _finish(delivery, Status.FAILED, error=delivery.last_error or (
            f"gave up after {MAX_ATTEMPTS} attempts (the last never finished)"))
    try:
        url, body, headers = request_for(delivery, timezone.now())
    except Unavailable as exc:
        return _finish(delivery, Status.DISCARDED, error=str(exc))
    # The PostHog URL comes from POSTHOG_HOST (the operator's environment, which
    # staff cannot edit), so a self-hosted PostHog on the private network works.
    trusted = delivery.endpoint.kind == WebhookEndpoint.Kind.POSTHOG
    allow = (urlsplit(url).hostname or "",) if trusted else ()
    return _record(delivery, http_post(url, body, headers, allow=allow))


def request_for(delivery: WebhookDelivery, now: datetime) -> tuple[str, bytes, dict[str, str]]:
    endpoint = delivery.endpoint
    if endpoint.kind == WebhookEndpoint.Kind.POSTHOG:
        return _posthog_request(delivery)
    # `id` repeats the webhook-id header (stable across retries) for receivers
    # that dedupe on the body alone.
    body = json.dumps({"id": delivery.webhook_id, "type": delivery.event_type,
                       "timestamp": delivery.created_at, "data": delivery.payload},
                      cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)
    timestamp = int(now.timestamp())
    headers = {"content-type": "application/json", "user-agent": "Hogsend-Webhooks/1",
               "webhook-id": delivery.webhook_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(endpoint.secret, delivery.webhook_id, timestamp, body)}
    return endpoint.url, body.encode(), headers


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """Standard Webhooks: `v1,` + base64 HMAC-SHA256 over `<id>.<timestamp>.<body>`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def _posthog_request(delivery: WebhookDelivery) -> tuple[str, bytes, dict[str, str]]:
    if not posthog_capture_enabled():
        raise Unavailable("PostHog capture is not configured (POSTHOG_CAPTURE_ANSWERS)")
    data = delivery.payload
    properties = {**(data.get("properties") or {}), "emailSendId": data.get("emailSendId"),
                  "templateKey": data.get("templateKey"), "linkId": data.get("linkId"),
                  "$lib": "hogsend"}
    body = {"api_key": settings.POSTHOG_PROJECT_API_KEY, "event": data.get("event"),
            "distinct_id": data.get("userId"), "properties": properties,
            "timestamp": data.get("at"),
            # Stable across retries, so PostHog can drop a duplicate.
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, delivery.webhook_id))}
    url = f"{settings.POSTHOG_HOST.rstrip('/')}/capture/"
    return url, json.dumps(body).encode(), {"content-type": "application/json"}


def http_post(url: str, body: bytes, headers: dict[str, str], *,
              allow: tuple[str, ...] = ()) -> Response:
    """POST through the egress guard (alerts/egress.py): public addresses (or
    allowed hosts) only, pinned at connect, redirects answered, not followed."""
    try:
        answer = egress.post(url, body, headers, timeout=POST_TIMEOUT,
                             read_limit=SNIPPET_BYTES, allow=allow)
    except egress.Refused as exc:
        # Nothing was sent and nothing is kept from the destination.
        return Response(None, error=f"refused: {exc}", refused=True)
    except (http.client.HTTPException, OSError, ValueError) as exc:
        return Response(None, error=f"{type(exc).__name__}: {exc}")
    snippet = answer.body.decode("utf-8", "replace")[:SNIPPET_BYTES]
    error = "" if 200 <= answer.status < 300 else f"HTTP {answer.status}"
    return Response(answer.status, snippet, error=error)


def backoff(attempt: int) -> timedelta:
    jitter = BACKOFF_JITTER * random.random()  # spreads retries; not a secret
    return min(BACKOFF_BASE * 2**attempt + jitter, BACKOFF_CAP)


def _record(delivery: WebhookDelivery, response: Response) -> str:
    now = timezone.now()
    fields: dict[str, Any] = {"response_status": response.status,
                              "response_body_snippet": response.snippet,
                              "last_error": response.error[:4000]}
    if response.ok:
        status = Status.DELIVERED
        fields.update(delivered_at=now, next_attempt_at=None, last_error="")
    elif response.retryable and delivery.attempts < MAX_ATTEMPTS:
        status = Status.PENDING
        fields["next_attempt_at"] = now + backoff(delivery.attempts)
    else:
        status = Status.FAILED
        fields["next_attempt_at"] = None
    if status != Status.DELIVERED:
        logger.warning("webhook %s to endpoint %s: %s (attempt %s) -> %s", delivery.webhook_id,
                       delivery.endpoint_id, response.error, delivery.attempts, status)
    return _finish(delivery, status, **fields)


def _finish(delivery: WebhookDelivery, status: str, *, error: str | None = None,
            **fields: Any) -> str:
    if error is not None:
        fields["last_error"] = error
    WebhookDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        status=status, claimed_until=None, updated_at=timezone.now(), **fields)
    return status
