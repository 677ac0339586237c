"""Events and emails API: `POST /v1/events`, `POST /v1/events/batch`, `POST /v1/emails`."""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.identity import contact_find
from contacts.preferences import contact_lists_apply
from hogsend_site.errors import HogsendError, NotFound, error_message
from hogsend_site.models import ApiKey
from hogsend_site.ratelimit import KeyRateThrottle
from tracking.categories import category_problem
from tracking.ingest import Ingested, event_ingest, events_ingest
from tracking.keys import reserved_key_problem
from tracking.mailer import email_send
from tracking.send_types import Sender
from tracking.serializers import (
    EventBatchInputSerializer,
    EventBatchOutputSerializer,
    EventIngestOutputSerializer,
    EventInputSerializer,
    event_input,
    event_input_check,
)
from tracking.templates_registry import get_template

logger = logging.getLogger(__name__)

KEY_MAX = 255  # UserEvent and EmailSend idempotency keys are varchar(255)


def _caller_key(request: Request, body_key: str | None) -> str | None:
    """The caller's idempotency key: the `Idempotency-Key` header wins over the body's
    (which its serializer has already checked)."""
    header = request.headers.get("Idempotency-Key") or None
    if header is not None and len(header) > KEY_MAX:
        raise HogsendError(f"Idempotency-Key: at most {KEY_MAX} characters")
    if problem := reserved_key_problem(header):
        raise HogsendError(f"Idempotency-Key: {problem}")
    return header or body_key


class JsonNegotiation(DefaultContentNegotiation):
    """The JSON renderer, without parsing the Accept header, when the client takes
    JSON or anything (DRF's own negotiation answers the same, at a twentieth of an
    ingest's CPU); any other Accept or a ?format= is negotiated as before."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT")
        first = renderers[0]
        if (not format_suffix and not request.META.get("QUERY_STRING")
                and accept in (None, "*/*", "application/json")
                and first.media_type == "application/json"):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)


def _ingest_body(result: Ingested) -> dict:
    return {"stored": result.stored, "exits": result.exits, "contactKey": result.contact_key}


class EventIngestApi(APIView):
    # Browser pages may send events with a publishable key (hogsend_site/auth.py).
    publishable_methods = frozenset({"POST"})
    content_negotiation_class = JsonNegotiation

    @extend_schema(
        operation_id="events_ingest",
        request=EventInputSerializer,
        responses={202: EventIngestOutputSerializer},
        examples=[
            OpenApiExample(
                "Ticket resolved",
                value={"name": "ticket.resolved", "userId": "u_123", "email": "ada@example.com",
                       "eventProperties": {"ticket_id": "T-9"},
                       "idempotencyKey": "zendesk:T-9:resolved"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = event_input_check(request.data)
        key = _caller_key(request, data.get("idempotencyKey"))
        result = event_ingest(event_input(data, idempotency_key=key))
        body = _ingest_body(result)
        lists = data.get("lists")
        if lists and result.stored and result.contact is not None:
            # After the ingest, and never failing it: a caller that retried on a
            # list error would ingest the event twice.
            try:
                contact_lists_apply(contact=result.contact, lists=lists,
                                    actor=str(request.user))
            except HogsendError as exc:
                body["listsError"] = exc.message
        return Response(body, status=status.HTTP_202_ACCEPTED)


class EventBatchIngestApi(APIView):
    # The parser leaves each event's content to EventInputSerializer (json_limits).
    json_items = "events"
    content_negotiation_class = JsonNegotiation

    @extend_schema(
        operation_id="events_ingest_batch",
        request=EventBatchInputSerializer,
        responses={202: EventBatchOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        envelope = EventBatchInputSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        results: list[dict | None] = []
        inputs, positions = [], []
        for index, raw in enumerate(envelope.validated_data["events"]):
            if not isinstance(raw, dict):
                results.append({"index": index, "error": "event must be a JSON object"})
                continue
            try:
                data = event_input_check(raw)
            except ValidationError as exc:
                results.append({"index": index, "error": error_message(exc.detail)})
                continue
            results.append(None)
            inputs.append(event_input(data))
            positions.append(index)
        for index, ingested in zip(positions, events_ingest(inputs), strict=True):
            if ingested.error:
                results[index] = {"index": index, "error": ingested.error}
            else:
                results[index] = {"index": index, "stored": ingested.stored,
                                  "contactKey": ingested.contact_key}
        return Response({"results": results}, status=status.HTTP_202_ACCEPTED)


# --- POST /v1/emails ----------------------------------------------------------------


class EmailsRateThrottle(KeyRateThrottle):
    scope = "emails"
    setting = "EMAILS_RATE_LIMIT"
    default = "30/min"


class AdminScopeRequired(HogsendError):
    status = 403


class ProviderFailed(HogsendError):
    status = 502


def provider_failed(exc: Exception) -> ProviderFailed:
    """The 502 for a send the provider refused. Its text stays in the log (the
    mailer logs it with the send id): a provider's error can quote credentials,
    account ids or another recipient, none of which an API caller should read."""
    logger.error("email provider error: %s: %s", type(exc).__name__, exc)
    return ProviderFailed("Email provider error")


class EmailSendApi(APIView):
    """Send one tracked email (`POST /v1/emails`): the same mailer as journeys use.

    `to` or `userId`; `Idempotency-Key` header wins over `idempotencyKey`;
    `skipPreferenceCheck` needs an admin key; never subject to journey suppress.
    """

    throttle_classes = [EmailsRateThrottle]

    class InputSerializer(serializers.Serializer):
        to = serializers.EmailField(required=False, allow_null=True, max_length=320)
        userId = serializers.CharField(required=False, allow_null=True, max_length=255)
        template = serializers.CharField(max_length=200)
        props = serializers.DictField(required=False, allow_null=True)
        subject = serializers.CharField(required=False, allow_null=True, max_length=998)
        replyTo = serializers.EmailField(required=False, allow_null=True, max_length=320)
        category = serializers.CharField(required=False, allow_null=True, max_length=64)
        skipPreferenceCheck = serializers.BooleanField(required=False, default=False)
        idempotencyKey = serializers.CharField(required=False, allow_null=True, max_length=255)

        def validate_idempotencyKey(self, value: str | None) -> str | None:
            if problem := reserved_key_problem(value):
                raise serializers.ValidationError(problem)
            return value

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            # `from` is a Python keyword, so it cannot be declared as an attribute.
            fields["from"] = serializers.CharField(required=False, allow_null=True,
                                                   max_length=320)
            return fields

        def validate_category(self, value: str | None) -> str | None:
            problem = category_problem(value) if value else None
            if problem:
                raise serializers.ValidationError(problem)
            return value

        def validate(self, attrs: dict) -> dict:
            if not (attrs.get("to") or attrs.get("userId")):
                raise serializers.ValidationError("to or userId is required")
            return attrs

    class OutputSerializer(serializers.Serializer):
        emailSendId = serializers.CharField()
        status = serializers.CharField()
        reason = serializers.CharField(required=False)

    @extend_schema(operation_id="emails_send", request=InputSerializer,
                   responses={202: OutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["skipPreferenceCheck"] and not request.auth.has_scope(ApiKey.Scope.ADMIN):
            raise AdminScopeRequired("skipPreferenceCheck requires an admin key")
        get_template(data["template"])  # unknown template: 400 before any lookup
        to = data.get("to") or self._address_of(data["userId"])
        key = _caller_key(request, data.get("idempotencyKey"))
        # A send by address to someone we know is theirs: the row, its `email.sent`
        # webhook (userId) and its unsubscribe link all name that contact.
        contact = None if data.get("userId") else next(iter(contact_find(email=to)), None)
        try:
            result = email_send(
                to=to, template=data["template"], subject=data.get("subject"),
                props=data.get("props") or {}, user_id=data.get("userId"), contact=contact,
                category=data.get("category"), skip_preference_check=data["skipPreferenceCheck"],
                idempotency_key=key,
                sender=Sender(from_email=data.get("from"), reply_to=data.get("replyTo")))
        except HogsendError:
            raise
        except Exception as exc:
            raise provider_failed(exc) from exc
        body = {"emailSendId": result.email_send_id, "status": result.status}
        if result.reason:
            body["reason"] = result.reason
        return Response(body, status=status.HTTP_202_ACCEPTED)

    @staticmethod
    def _address_of(user_id: str) -> str:
        contact = next(iter(contact_find(user_id=user_id)), None)
        if contact is None or not contact.email:
            raise NotFound("No email address for this userId")
        return contact.email


__all__ = ["EmailSendApi", "EventBatchIngestApi", "EventIngestApi", "HogsendError"]
