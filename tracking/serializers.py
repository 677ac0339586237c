"""Wire shapes of the events API (camelCase, as the reference's SDKs send)."""

from __future__ import annotations

import math
import threading
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from rest_framework import serializers

from hogsend_site.json_limits import JSONSafeSerializerMixin, PropertiesField
from tracking.ingest import EventInput
from tracking.keys import reserved_key_problem

# Event names only the engine writes (bucket joins and leaves).
ENGINE_EVENT_PREFIXES = ("bucket:",)
# UserEvent.value is numeric(14, 2).
VALUE_MAX = Decimal("999999999999.99")


# The mixin: each item of a batch is checked here, so one bad event fails alone.
class EventInputSerializer(JSONSafeSerializerMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200, trim_whitespace=True)
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    userId = serializers.CharField(required=False, allow_null=True, max_length=255)
    anonymousId = serializers.CharField(required=False, allow_null=True, max_length=200)
    eventProperties = PropertiesField(required=False, allow_null=True)
    contactProperties = PropertiesField(required=False, allow_null=True)
    value = serializers.FloatField(required=False, allow_null=True)
    currency = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                     max_length=3)
    lists = serializers.DictField(child=serializers.BooleanField(), required=False, allow_null=True)
    # Stored on the event (UserEvent.groups), apart from its properties.
    groups = serializers.DictField(child=serializers.CharField(max_length=255), required=False,
                                   allow_null=True)
    idempotencyKey = serializers.CharField(required=False, allow_null=True, max_length=255)
    timestamp = serializers.DateTimeField(required=False, allow_null=True)

    def validate_value(self, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number")
        # Rounded as tracking.ingest stores it: past the column it would be a 500.
        if value is not None and (abs(value) >= 1e12 or abs(Decimal(str(value)).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)) > VALUE_MAX):
            raise serializers.ValidationError(f"must be between -{VALUE_MAX} and {VALUE_MAX}")
        return value

    def validate_name(self, value: str) -> str:
        # Bucket transitions are facts only the bucket engine may state: a caller
        # posting `bucket:entered:<id>` would start that bucket's journeys for anyone.
        if value.lower().startswith(ENGINE_EVENT_PREFIXES):
            raise serializers.ValidationError(
                f"event names starting with {value.split(':', 1)[0]!r}: are reserved for "
                "events the engine emits itself")
        return value

    def validate_idempotencyKey(self, value: str | None) -> str | None:
        if problem := reserved_key_problem(value):
            raise serializers.ValidationError(problem)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("email") or attrs.get("userId")):
            raise serializers.ValidationError("email or userId is required")
        return attrs

    def to_input(self, *, idempotency_key: str | None = None, source: str = "api") -> EventInput:
        return event_input(self.validated_data, idempotency_key=idempotency_key, source=source)


_checkers = threading.local()


def event_input_check(data: Any) -> dict[str, Any]:
    """`EventInputSerializer`'s validated data for one event body, or its
    ValidationError (the same detail `is_valid()` would hold).

    One serializer per thread checks every event: DRF builds a serializer's fields
    by deep-copying their declarations each time one is made, which cost more CPU
    than the rest of a batch's ingest. A serializer keeps no state of the data it
    checks (DRF's ListSerializer reuses its child the same way).
    """
    checker = getattr(_checkers, "event", None)
    if checker is None:
        checker = _checkers.event = EventInputSerializer()
    return checker.run_validation(data)


def event_input(data: dict[str, Any], *, idempotency_key: str | None = None,
                source: str = "api") -> EventInput:
    """The ingest's input for one checked event body."""
    return EventInput(
        name=data["name"],
        user_id=data.get("userId"),
        email=data.get("email"),
        anonymous_id=data.get("anonymousId"),
        properties=data.get("eventProperties") or {},
        contact_properties=data.get("contactProperties"),
        idempotency_key=idempotency_key or data.get("idempotencyKey"),
        occurred_at=data.get("timestamp"),
        source=source,
        value=data.get("value"),
        currency=data.get("currency"),
        groups=data.get("groups"),
    )


class ExitSerializer(serializers.Serializer):
    journeyId = serializers.CharField()
    stateId = serializers.CharField()
    exited = serializers.BooleanField()


class EventIngestOutputSerializer(serializers.Serializer):
    stored = serializers.BooleanField()
    exits = ExitSerializer(many=True)
    contactKey = serializers.CharField(allow_null=True)
    listsError = serializers.CharField(required=False)


class EventBatchInputSerializer(serializers.Serializer):
    # Items are validated one by one in the view so one bad event fails alone.
    events = serializers.ListField(child=serializers.JSONField(), min_length=1, max_length=1000)


class EventBatchResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    stored = serializers.BooleanField(required=False)
    contactKey = serializers.CharField(required=False, allow_null=True)
    error = serializers.CharField(required=False)


class EventBatchOutputSerializer(serializers.Serializer):
    results = EventBatchResultSerializer(many=True)
