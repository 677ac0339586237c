"""Receivers of anymail's tracking signal (connected in TrackingConfig.ready()).

Thin: hand the normalised event to `tracking.bounces`. Bad data is logged and
swallowed (an exception becomes HTTP 400 and the ESP would retry the batch
forever); only transient database errors propagate, so the ESP retries later.
"""

from __future__ import annotations

import logging
from typing import Any

from anymail.signals import AnymailTrackingEvent
from django.db import InterfaceError, OperationalError

from tracking.bounces import provider_event_record

logger = logging.getLogger(__name__)


def provider_event_received(sender: Any, event: AnymailTrackingEvent, esp_name: str,
                            **kwargs: Any) -> None:
    try:
        provider_event_record(event=event, esp_name=esp_name)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception("could not process %s event from %s", event.event_type, esp_name)
