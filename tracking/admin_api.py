"""Events, emails and templates on the admin plane.

Lists, details, event replay, email resend, template previews (which write
nothing) and test sends (which bypass preferences).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from hogsend_site.admin_api import (
    AdminApiView,
    PageSerializer,
    WindowQuerySerializer,
    error_response,
    query_of,
)
from hogsend_site.errors import HogsendError, NotFound
from hogsend_site.paging import paged_response
from tracking.api import provider_failed
from tracking.mailer import email_send
from tracking.models import EmailSend, UserEvent
from tracking.selectors import (
    email_get,
    email_list,
    event_list,
    template_catalogue,
    template_preview,
)
from tracking.services import email_resend, events_replay_by_id
from tracking.templates_registry import discovered_keys

# --- events ------------------------------------------------------------------------


class AdminEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    userId = serializers.CharField(source="user_key")
    contactId = serializers.UUIDField(source="contact_id", allow_null=True)
    event = serializers.CharField()
    properties = serializers.DictField()
    groups = serializers.DictField()
    source = serializers.CharField()
    idempotencyKey = serializers.CharField(source="idempotency_key", allow_null=True)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False,
                                     allow_null=True)
    currency = serializers.CharField()
    occurredAt = serializers.DateTimeField(source="occurred_at")
    createdAt = serializers.DateTimeField(source="created_at")


class EventListApi(AdminApiView):
    class InputSerializer(WindowQuerySerializer):
        userId = serializers.CharField(required=False, max_length=255)
        event = serializers.CharField(required=False, max_length=200)

    class OutputSerializer(PageSerializer):
        events = AdminEventSerializer(many=True)

    @extend_schema(operation_id="admin_events_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(EventListApi.InputSerializer, request)
        events = event_list(user_id=query.get("userId", ""), event=query.get("event", ""),
                            since=query.get("from"), until=query.get("to"))
        return paged_response("events", events, AdminEventSerializer, query)


class EventDetailApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        event = AdminEventSerializer()

    @extend_schema(operation_id="admin_events_get", responses={200: OutputSerializer})
    def get(self, request: Request, event_id: int) -> Response:
        event = UserEvent.objects.filter(pk=event_id).first()
        if event is None:
            raise NotFound("Event not found")
        return Response({"event": AdminEventSerializer(event).data})


class AdminReplayErrorSerializer(serializers.Serializer):
    eventId = serializers.IntegerField()
    error = serializers.CharField()


class EventReplayApi(AdminApiView):
    """Re-ingest stored events through the whole pipeline (every guard applies)."""

    audit_resource = "event"

    class InputSerializer(serializers.Serializer):
        # Bounded by the id column (BIGINT): a larger number is a 400, not a 500.
        eventIds = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
            min_length=1, max_length=1000)

    class OutputSerializer(serializers.Serializer):
        replayed = serializers.IntegerField()
        errors = AdminReplayErrorSerializer(many=True)

    @extend_schema(
        operation_id="admin_events_replay",
        request=InputSerializer,
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample("Replay two events", value={"eventIds": [41, 42]}, request_only=True),
            OpenApiExample("One unknown id", response_only=True, value={
                "replayed": 1, "errors": [{"eventId": 42, "error": "Event not found"}]}),
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = EventReplayApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = events_replay_by_id(event_ids=serializer.validated_data["eventIds"])
        return Response({"replayed": report.replayed, "errors": report.errors})

    def audit_resource_id(self, response: Any) -> str:
        return ",".join(map(str, self.request.data.get("eventIds", [])))[:255]


# --- emails ------------------------------------------------------------------------


class AdminEmailSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    journeyStateId = serializers.UUIDField(source="journey_run_id", allow_null=True)
    journeyId = serializers.CharField(source="journey_id")
    templateKey = serializers.CharField(source="template_key")
    messageId = serializers.CharField(source="message_id")
    fromEmail = serializers.CharField(source="from_email")
    toEmail = serializers.CharField(source="to_email")
    subject = serializers.CharField()
    category = serializers.CharField()
    status = serializers.CharField()
    reason = serializers.CharField()
    userId = serializers.CharField(source="user_key")
    contactId = serializers.UUIDField(source="contact_id", allow_null=True)
    sentAt = serializers.DateTimeField(source="sent_at", allow_null=True)
    deliveredAt = serializers.DateTimeField(source="delivered_at", allow_null=True)
    openedAt = serializers.DateTimeField(source="opened_at", allow_null=True)
    clickedAt = serializers.DateTimeField(source="clicked_at", allow_null=True)
    bouncedAt = serializers.DateTimeField(source="bounced_at", allow_null=True)
    complainedAt = serializers.DateTimeField(source="complained_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class AdminLinkClickSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    clickedAt = serializers.DateTimeField(source="clicked_at")
    ipAddress = serializers.CharField(source="ip_address")
    userAgent = serializers.CharField(source="user_agent")
    method = serializers.CharField()
    isBot = serializers.BooleanField(source="is_bot")
    outcome = serializers.CharField()


class AdminTrackedLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    url = serializers.CharField(source="original_url")
    event = serializers.CharField()
    eventProperties = serializers.DictField(source="event_properties")
    clickCount = serializers.IntegerField(source="click_count")
    createdAt = serializers.DateTimeField(source="created_at")
    clicks = AdminLinkClickSerializer(many=True, source="clicks.all")


class EmailListApi(AdminApiView):
    class InputSerializer(WindowQuerySerializer):
        toEmail = serializers.CharField(required=False, max_length=320)
        templateKey = serializers.CharField(required=False, max_length=200)
        status = serializers.ChoiceField(EmailSend.Status.values, required=False)
        category = serializers.CharField(required=False, max_length=64)
        journeyId = serializers.CharField(required=False, max_length=100)
        userId = serializers.CharField(required=False, max_length=255)

    class OutputSerializer(PageSerializer):
        emails = AdminEmailSerializer(many=True)

    @extend_schema(operation_id="admin_emails_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(EmailListApi.InputSerializer, request)
        sends = email_list(
            to_email=query.get("toEmail", ""), template_key=query.get("templateKey", ""),
            status=query.get("status", ""), category=query.get("category", ""),
            journey_id=query.get("journeyId", ""), user_id=query.get("userId", ""),
            since=query.get("from"), until=query.get("to"))
        return paged_response("emails", sends, AdminEmailSerializer, query)


class AdminEmailDetailSerializer(AdminEmailSerializer):
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    links = AdminTrackedLinkSerializer(many=True, source="links.all")


class EmailDetailApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        email = AdminEmailDetailSerializer()

    @extend_schema(operation_id="admin_emails_get", responses={200: OutputSerializer})
    def get(self, request: Request, email_id: uuid.UUID) -> Response:
        send = email_get(email_send_id=email_id)
        return Response({"email": AdminEmailDetailSerializer(send).data})


class EmailResendApi(AdminApiView):
    """Send a failed or bounced email again (409 for any other status)."""

    audit_resource = "email"

    class OutputSerializer(serializers.Serializer):
        emailId = serializers.CharField(help_text="The new send's id.")
        status = serializers.CharField()
        reason = serializers.CharField(required=False)

    @extend_schema(
        operation_id="admin_emails_resend",
        request=None,
        responses={202: OutputSerializer,
                   409: error_response("Not failed or bounced, or already resent"),
                   502: error_response("The email provider refused the send")},
        examples=[OpenApiExample("Sent again", response_only=True, status_codes=["202"],
                                 value={"emailId": "6f1c2a9e-8a43-4f55-9d8e-1b2c3d4e5f60",
                                        "status": "sent"})],
    )
    def post(self, request: Request, email_id: uuid.UUID) -> Response:
        try:
            result = email_resend(email_send_id=email_id)
        except HogsendError:
            raise
        except Exception as exc:
            raise provider_failed(exc) from exc
        body = {"emailId": result.email_send_id, "status": result.status}
        if result.reason:
            body["reason"] = result.reason
        return Response(body, status=status.HTTP_202_ACCEPTED)


# --- templates ----------------------------------------------------------------------


class AdminTemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    defaultSubject = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField()
    hasPreview = serializers.BooleanField()


class TemplateListApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        templates = AdminTemplateSerializer(many=True)

    @extend_schema(operation_id="admin_templates_list", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        templates = [{"key": entry.key, "defaultSubject": entry.subject,
                      "category": entry.category, "description": entry.description,
                      "hasPreview": has_files}
                     for entry, has_files in template_catalogue()]
        return Response({"templates": AdminTemplateSerializer(templates, many=True).data})


class InvalidProps(HogsendError):
    def __init__(self) -> None:
        super().__init__("props must be a base64-encoded JSON object")


def _decoded_props(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        padded = raw.strip() + "=" * (-len(raw.strip()) % 4)
        decoded = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        props = json.loads(decoded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidProps() from exc
    if not isinstance(props, dict):
        raise InvalidProps()
    return props


class TemplatePreviewApi(AdminApiView):
    """Render a template without sending it; no row of any kind is written."""

    class InputSerializer(serializers.Serializer):
        props = serializers.CharField(required=False, allow_blank=True,
                                      help_text="The template's props: base64 of a JSON object.")
        format = serializers.ChoiceField(["html", "text"], required=False,
                                         help_text="Answer with the raw body instead of JSON.")

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        subject = serializers.CharField()
        category = serializers.CharField()
        html = serializers.CharField()
        text = serializers.CharField()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `?format=` is this endpoint's own parameter, not DRF's renderer override
        # (which would answer 404 for a format no renderer has).
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="admin_templates_preview",
        parameters=[InputSerializer],
        responses={(200, "application/json"): OutputSerializer,
                   (200, "text/html"): OpenApiTypes.STR, (200, "text/plain"): OpenApiTypes.STR},
    )
    def get(self, request: Request, key: str) -> Any:
        query = query_of(TemplatePreviewApi.InputSerializer, request)
        preview = template_preview(key=key, props=_decoded_props(query.get("props", "")))
        if query.get("format") == "html":
            return HttpResponse(preview.html, content_type="text/html; charset=utf-8")
        if query.get("format") == "text":
            return HttpResponse(preview.text, content_type="text/plain; charset=utf-8")
        return Response({"key": preview.template.key, "subject": preview.subject,
                         "category": preview.template.category, "html": preview.html,
                         "text": preview.text})


class TemplateSendTestApi(AdminApiView):
    """Send a template to any address, bypassing preferences (a test send)."""

    audit_resource = "template"

    class InputSerializer(serializers.Serializer):
        to = serializers.EmailField(max_length=320)
        props = serializers.DictField(required=False, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        status = serializers.CharField()
        emailSendId = serializers.CharField()

    @extend_schema(
        operation_id="admin_templates_send_test",
        request=InputSerializer,
        responses={202: OutputSerializer,
                   502: error_response("The email provider refused the send")},
        parameters=[OpenApiParameter("key", str, OpenApiParameter.PATH,
                                     description="Template key, e.g. support/followup")],
        examples=[OpenApiExample("Send the follow-up to yourself", request_only=True,
                                 value={"to": "me@example.com", "props": {"ticketId": "T-1"}})],
    )
    def post(self, request: Request, key: str) -> Response:
        serializer = TemplateSendTestApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if key not in discovered_keys():
            raise NotFound("Template not found")
        try:
            result = email_send(to=data["to"], template=key, props=data.get("props") or {},
                                skip_preference_check=True,
                                idempotency_key=f"send-test:{uuid.uuid4()}")
        except HogsendError:
            raise
        except Exception as exc:
            raise provider_failed(exc) from exc
        return Response({"status": result.status, "emailSendId": result.email_send_id},
                        status=status.HTTP_202_ACCEPTED)
