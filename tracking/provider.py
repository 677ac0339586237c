"""The provider's side of a send: the `AnymailMessage` built from a written row,
the header the provider deduplicates on (if its backend declares one), and the
backend's session opened once for a batch."""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from anymail.message import AnymailMessage
from django.conf import settings
from django.utils.module_loading import import_string

from tracking import test_mode
from tracking.send_types import Row, SendRequest

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _idempotency_header(backend_path: str) -> str | None:
    """The header the provider behind `backend_path` deduplicates on, if it declares one."""
    return getattr(import_string(backend_path), "idempotency_key_header", None) or None


def provider_idempotency_header() -> str | None:
    return _idempotency_header(settings.EMAIL_BACKEND)


def provider_message(row: Row, request: SendRequest) -> AnymailMessage:
    """The message for `row` (its stored bodies), tagged and with its metadata."""
    headers = dict(request.headers)
    if header := provider_idempotency_header():
        # The journal key, not the row id: a retry after a provider error (a
        # timeout the provider had in fact accepted) writes a new row with the same key.
        headers[header] = row.idempotency_key or str(row.pk)
    metadata = {"emailSendId": str(row.pk), "templateKey": row.template_key,
                "journeyId": row.journey_id or request.origin.journey_name or row.template_key,
                "userId": row.user_key}
    if campaign_id := (row.metadata or {}).get("campaignId"):
        metadata["campaignId"] = campaign_id
    to, subject = test_mode.redirect(send_id=str(row.pk), to=row.to_email, subject=row.subject)
    message = AnymailMessage(
        subject=subject, body=row.text, from_email=row.from_email, to=[to],
        reply_to=[request.reply_to] if request.reply_to else None, headers=headers,
        tags=[row.template_key], metadata=metadata,
    )
    message.attach_alternative(row.html, "text/html")
    return message


def session_call(connection: Any, method: str) -> None:
    """open()/close() where the backend has them (every BaseEmailBackend does)."""
    if callable(getattr(connection, method, None)):
        try:
            getattr(connection, method)()
        except Exception:  # a session that cannot open fails each send on its own
            logger.warning("email backend %s() failed", method, exc_info=True)
