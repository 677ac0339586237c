"""Events API: `POST /v1/events` and `POST /v1/events/batch`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hogsend_site.errors import HogsendError, error_message
from tracking.ingest import Ingested, event_ingest, events_ingest
from tracking.serializers import (
    EventBatchInputSerializer,
    EventBatchOutputSerializer,
    EventIngestOutputSerializer,
    EventInputSerializer,
)


def _ingest_body(result: Ingested) -> dict:
    return {"stored": result.stored, "exits": result.exits, "contactKey": result.contact_key}


class EventIngestApi(APIView):
    @extend_schema(
        operation_id="events_ingest",
        request=EventInputSerializer,
        responses={202: EventIngestOutputSerializer},
        examples=[
            OpenApiExample(
                "Ticket resolved",
                value={"name": "ticket.resolved", "userId": "u_123", "email": "ada@example.com",
                       "eventProperties": {"ticket_id": "T-9"}, "idempotencyKey": "zendesk:T-9:resolved"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = EventInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        header_key = request.headers.get("Idempotency-Key") or None
        result = event_ingest(serializer.to_input(idempotency_key=header_key))
        return Response(_ingest_body(result), status=status.HTTP_202_ACCEPTED)


class EventBatchIngestApi(APIView):
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
            item = EventInputSerializer(data=raw) if isinstance(raw, dict) else None
            if item is None:
                results.append({"index": index, "error": "event must be a JSON object"})
            elif not item.is_valid():
                results.append({"index": index, "error": error_message(item.errors)})
            else:
                results.append(None)
                inputs.append(item.to_input())
                positions.append(index)
        for index, ingested in zip(positions, events_ingest(inputs), strict=True):
            if ingested.error:
                results[index] = {"index": index, "error": ingested.error}
            else:
                results[index] = {"index": index, "stored": ingested.stored,
                                  "contactKey": ingested.contact_key}
        return Response({"results": results}, status=status.HTTP_202_ACCEPTED)


__all__ = ["EventBatchIngestApi", "EventIngestApi", "HogsendError"]
