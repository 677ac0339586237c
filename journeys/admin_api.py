"""Journeys on the admin plane: the registry with run counts, the runtime switch,
runs (list, detail, cancel, retry), manual enrolment, and a contact's timeline
(events, runs and sends: it spans every app below this one).

`enabled` is the journey's effective state: on in code AND not switched off by
an admin (`JourneyConfig`).
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.identity import contact_get
from hogsend_site.admin_api import (
    AdminApiView,
    PageQuerySerializer,
    PageSerializer,
    error_response,
    query_of,
)
from hogsend_site.errors import HogsendError, NotFound
from hogsend_site.paging import found_or_404, page_body, paged_response, seconds
from journeys.engine.definition import Journey
from journeys.engine.registry import registry
from journeys.models import JourneyRun
from journeys.selectors import (
    contact_timeline,
    journey_overrides,
    journey_run_counts,
    journey_run_list,
)
from journeys.services import (
    MANUAL_ENROLL_MAX,
    Enrollment,
    journey_config_set,
    journey_enroll_manual,
    journey_run_exit,
    journey_run_retry,
)
from tracking.admin_api import AdminEmailSerializer, AdminEventSerializer

RECENT_STATES = 10
COUNT_KEYS = {"active": "active", "waiting": "waiting", "completed": "completed",
              "failed": "failed", "exited": "exited", "held_out": "heldOut"}


def _registered(journey_id: str) -> Journey:
    return found_or_404(registry.get(journey_id), "Journey not found")


def _summary(journey: Journey, overrides: dict[str, bool], counts: dict[str, int]) -> dict:
    return {
        "id": journey.id, "name": journey.name, "description": journey.description,
        "enabled": journey.enabled and overrides.get(journey.id, True),
        "trigger": {"event": journey.trigger_event}, "entryLimit": journey.entry_limit,
        "counts": {key: counts.get(status, 0) for status, key in COUNT_KEYS.items()},
    }


def _summaries(journeys: list[Journey]) -> list[dict]:
    """Summaries of many journeys: two queries (switches, counts) for all of them."""
    overrides = journey_overrides()
    counts = journey_run_counts(journey_ids=[j.id for j in journeys])
    return [_summary(j, overrides, counts[j.id]) for j in journeys]


# --- serializers -------------------------------------------------------------------


class AdminJourneyTriggerSerializer(serializers.Serializer):
    event = serializers.CharField()
    where = serializers.ListField(child=serializers.DictField(), required=False)


class AdminJourneyCountsSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    waiting = serializers.IntegerField()
    completed = serializers.IntegerField()
    failed = serializers.IntegerField()
    exited = serializers.IntegerField()
    heldOut = serializers.IntegerField()


class AdminJourneySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    trigger = AdminJourneyTriggerSerializer()
    entryLimit = serializers.CharField()
    counts = AdminJourneyCountsSerializer()


class AdminJourneyStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    journeyId = serializers.CharField(source="journey_id")
    userId = serializers.CharField(source="user_key")
    contactId = serializers.UUIDField(source="contact_id", allow_null=True)
    userEmail = serializers.CharField(source="user_email")
    status = serializers.CharField()
    currentNodeId = serializers.CharField(source="current_step")
    context = serializers.DictField()
    errorMessage = serializers.CharField(source="error_message")
    exitReason = serializers.CharField(source="exit_reason")
    waitingEvent = serializers.CharField(source="waiting_event")
    wakeAt = serializers.DateTimeField(source="wake_at", allow_null=True)
    waitDeadline = serializers.DateTimeField(source="wait_deadline", allow_null=True)
    versionHash = serializers.CharField(source="version_hash")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    exitedAt = serializers.DateTimeField(source="exited_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class AdminJourneyDetailSerializer(AdminJourneySerializer):
    enabledInCode = serializers.BooleanField()
    exitOn = AdminJourneyTriggerSerializer(many=True)
    suppress = serializers.IntegerField(allow_null=True, help_text="Seconds between sends.")
    entryPeriod = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    category = serializers.CharField(allow_null=True)
    version = serializers.CharField()
    versionHash = serializers.CharField()
    recentStates = AdminJourneyStateSerializer(many=True)


class AdminJourneyLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    fromNodeId = serializers.CharField(source="from_step")
    toNodeId = serializers.CharField(source="to_step")
    action = serializers.CharField()
    detail = serializers.DictField()
    createdAt = serializers.DateTimeField(source="created_at")


class AdminEnrollUserSerializer(serializers.Serializer):
    userId = serializers.CharField(required=False, allow_null=True, max_length=255)
    userEmail = serializers.EmailField(required=False, allow_null=True, max_length=320)
    properties = serializers.DictField(required=False, allow_null=True)


class AdminEnrollResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    userId = serializers.CharField(allow_null=True)
    userEmail = serializers.CharField(allow_null=True)
    enrolled = serializers.BooleanField()
    reason = serializers.CharField(allow_null=True)
    stateId = serializers.UUIDField(allow_null=True)


def _users(items: list[dict]) -> list[dict[str, Any]]:
    return [{"user_id": item.get("userId"), "email": item.get("userEmail"),
             "properties": item.get("properties") or {}} for item in items]


def _result(index: int, item: dict, enrollment: Enrollment) -> dict[str, Any]:
    enrolled = enrollment.status == "enrolled"
    return {"index": index, "userId": item.get("userId"), "userEmail": item.get("userEmail"),
            "enrolled": enrolled, "reason": None if enrolled else enrollment.reason,
            "stateId": str(enrollment.run.pk) if enrollment.run is not None else None}


# --- journeys ----------------------------------------------------------------------


class JourneyListApi(AdminApiView):
    class InputSerializer(PageQuerySerializer):
        enabled = serializers.BooleanField(required=False, allow_null=True, default=None)

    class OutputSerializer(PageSerializer):
        journeys = AdminJourneySerializer(many=True)

    @extend_schema(operation_id="admin_journeys_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(JourneyListApi.InputSerializer, request)
        items = _summaries(sorted(registry, key=lambda j: j.id))
        if query["enabled"] is not None:
            items = [item for item in items if item["enabled"] == query["enabled"]]
        page = items[query["offset"]: query["offset"] + query["limit"]]
        return Response(page_body("journeys", AdminJourneySerializer(page, many=True).data,
                                  len(items), query))


class JourneyDetailApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        journey = AdminJourneyDetailSerializer()

    @extend_schema(operation_id="admin_journeys_get", responses={200: OutputSerializer})
    def get(self, request: Request, journey_id: str) -> Response:
        journey = _registered(journey_id)
        recent = journey_run_list(journey_id=journey.id)[:RECENT_STATES]
        detail = {
            **_summaries([journey])[0],
            "enabledInCode": journey.enabled,
            "trigger": {"event": journey.trigger_event, "where": journey.trigger_where},
            "exitOn": [{"event": rule.event, "where": rule.where} for rule in journey.exit_on],
            "suppress": seconds(journey.suppress), "entryPeriod": seconds(journey.entry_period),
            "category": journey.category, "version": journey.version,
            "versionHash": journey.version_hash,
            "recentStates": list(recent),
        }
        return Response({"journey": AdminJourneyDetailSerializer(detail).data})


class JourneyUpdateApi(AdminApiView):
    """The runtime on/off switch; applies to new enrolments only."""

    audit_resource = "journey"

    class InputSerializer(serializers.Serializer):
        enabled = serializers.BooleanField()

    class OutputSerializer(serializers.Serializer):
        journey = AdminJourneySerializer()

    @extend_schema(
        operation_id="admin_journeys_update",
        request=InputSerializer,
        responses={200: OutputSerializer},
        examples=[OpenApiExample("Pause a journey", value={"enabled": False},
                                 request_only=True)],
    )
    def patch(self, request: Request, journey_id: str) -> Response:
        serializer = JourneyUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        journey = _registered(journey_id)
        journey_config_set(journey_id=journey.id, enabled=serializer.validated_data["enabled"],
                           actor=self.actor)
        return Response({"journey": AdminJourneySerializer(_summaries([journey])[0]).data})


# --- runs ("states", as the reference calls them) --------------------------------------


def _run_of(journey_id: str, state_id: uuid.UUID) -> JourneyRun:
    return found_or_404(JourneyRun.objects.filter(pk=state_id, journey_id=journey_id).first(),
                        "Run not found")


class JourneyStateListApi(AdminApiView):
    class InputSerializer(PageQuerySerializer):
        status = serializers.ChoiceField(JourneyRun.Status.values, required=False)
        userId = serializers.CharField(required=False, max_length=255)

    class OutputSerializer(PageSerializer):
        states = AdminJourneyStateSerializer(many=True)

    @extend_schema(operation_id="admin_journey_states_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request, journey_id: str) -> Response:
        query = query_of(JourneyStateListApi.InputSerializer, request)
        runs = journey_run_list(journey_id=journey_id, status=query.get("status", ""),
                                user_id=query.get("userId", ""))
        # A journey removed from code still lists (and cancels) its old runs.
        if journey_id not in registry and not JourneyRun.objects.filter(
                journey_id=journey_id).exists():
            raise NotFound("Journey not found")
        return paged_response("states", runs, AdminJourneyStateSerializer, query)


class JourneyStateDetailApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        state = AdminJourneyStateSerializer()
        logs = AdminJourneyLogSerializer(many=True)

    @extend_schema(operation_id="admin_journey_states_get", responses={200: OutputSerializer})
    def get(self, request: Request, journey_id: str, state_id: uuid.UUID) -> Response:
        run = _run_of(journey_id, state_id)
        logs = run.logs.order_by("created_at", "id")
        return Response({"state": AdminJourneyStateSerializer(run).data,
                         "logs": AdminJourneyLogSerializer(logs, many=True).data})


class AdminCancelledStateSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    exitedAt = serializers.DateTimeField(source="exited_at", allow_null=True)


class JourneyStateCancelApi(AdminApiView):
    """Cancel a live run (it becomes `exited`); 409 when it already ended."""

    audit_resource = "journey-state"

    class OutputSerializer(serializers.Serializer):
        state = AdminCancelledStateSerializer()

    @extend_schema(
        operation_id="admin_journey_states_cancel",
        request=None,
        responses={200: OutputSerializer, 409: error_response("The run already ended")},
        examples=[OpenApiExample("Cancelled", response_only=True, value={"state": {
            "id": "0b7f3c1e-2d4a-4c5b-9e6f-7a8b9c0d1e2f", "status": "exited",
            "exitedAt": "2026-06-16T14:40:00Z"}})],
    )
    def delete(self, request: Request, journey_id: str, state_id: uuid.UUID) -> Response:
        run = _run_of(journey_id, state_id)
        run = journey_run_exit(run_id=run.pk, reason=f"cancelled by {self.actor}",
                               source="admin")
        return Response({"state": AdminCancelledStateSerializer(run).data})


class JourneyStateRetryApi(AdminApiView):
    """Put a failed run back in line (409 unless it failed)."""

    audit_resource = "journey-state"

    class OutputSerializer(serializers.Serializer):
        state = AdminJourneyStateSerializer()

    @extend_schema(
        operation_id="admin_journey_states_retry",
        request=None,
        responses={202: OutputSerializer,
                   409: error_response("The run did not fail, or a newer run is live")},
        examples=[OpenApiExample("Queued again", response_only=True, status_codes=["202"],
                                 value={"state": {"id": "0b7f3c1e-2d4a-4c5b-9e6f-7a8b9c0d1e2f",
                                                  "status": "active"}})],
    )
    def post(self, request: Request, journey_id: str, state_id: uuid.UUID) -> Response:
        run = _run_of(journey_id, state_id)
        run = journey_run_retry(run_id=run.pk)
        return Response({"state": AdminJourneyStateSerializer(run).data},
                        status=status.HTTP_202_ACCEPTED)


# --- manual enrolment ---------------------------------------------------------------


class JourneyEnrollApi(AdminApiView):
    """Enrol one person by ingesting the journey's trigger event: every guard applies."""

    audit_resource = "journey"

    class InputSerializer(AdminEnrollUserSerializer):
        def validate(self, attrs: dict) -> dict:
            if not (attrs.get("userId") or attrs.get("userEmail")):
                raise serializers.ValidationError("userId or userEmail is required")
            return attrs

    class OutputSerializer(serializers.Serializer):
        enrolled = serializers.BooleanField()
        reason = serializers.CharField(allow_null=True)
        event = serializers.CharField()
        userId = serializers.CharField(allow_null=True)
        stateId = serializers.UUIDField(allow_null=True)

    @extend_schema(
        operation_id="admin_journeys_enroll",
        request=InputSerializer,
        responses={202: OutputSerializer},
        examples=[
            OpenApiExample("Enrol a customer", request_only=True, value={
                "userId": "u_123", "userEmail": "ada@example.com",
                "properties": {"ticket_id": "T-9"}}),
            OpenApiExample("Skipped by a guard", response_only=True, status_codes=["202"],
                           value={"enrolled": False, "reason": "already_entered_once",
                                  "event": "trial.started", "userId": "u_123",
                                  "stateId": None}),
        ],
    )
    def post(self, request: Request, journey_id: str) -> Response:
        serializer = JourneyEnrollApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        journey = _registered(journey_id)
        outcome = journey_enroll_manual(journey_id=journey.id, users=_users([data]),
                                        actor=self.actor)[0]
        if outcome.status == "error":
            raise HogsendError(outcome.reason)
        result = _result(0, data, outcome)
        return Response({"enrolled": result["enrolled"], "reason": result["reason"],
                         "event": journey.trigger_event, "userId": data.get("userId"),
                         "stateId": result["stateId"]}, status=status.HTTP_202_ACCEPTED)


class JourneyEnrollBatchApi(AdminApiView):
    """Enrol up to 500 people; one person's failure never stops the others."""

    audit_resource = "journey"

    class InputSerializer(serializers.Serializer):
        users = AdminEnrollUserSerializer(many=True, allow_empty=False,
                                          max_length=MANUAL_ENROLL_MAX)

    class OutputSerializer(serializers.Serializer):
        enrolled = serializers.IntegerField()
        skipped = serializers.IntegerField()
        results = AdminEnrollResultSerializer(many=True)

    @extend_schema(
        operation_id="admin_journeys_enroll_batch",
        request=InputSerializer,
        responses={202: OutputSerializer},
        examples=[OpenApiExample("Two customers", request_only=True, value={"users": [
            {"userId": "u_1", "userEmail": "one@example.com"}, {"userId": "u_2"}]})],
    )
    def post(self, request: Request, journey_id: str) -> Response:
        serializer = JourneyEnrollBatchApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = serializer.validated_data["users"]
        journey = _registered(journey_id)
        outcomes = journey_enroll_manual(journey_id=journey.id, users=_users(items),
                                         actor=self.actor)
        results = [_result(i, item, outcome)
                   for i, (item, outcome) in enumerate(zip(items, outcomes, strict=True))]
        enrolled = sum(1 for r in results if r["enrolled"])
        return Response({"enrolled": enrolled, "skipped": len(results) - enrolled,
                         "results": results}, status=status.HTTP_202_ACCEPTED)


# --- a contact's timeline -----------------------------------------------------------


class AdminTimelineItemSerializer(serializers.Serializer):
    type = serializers.ChoiceField(["event", "journey", "email"])
    timestamp = serializers.DateTimeField()
    data = serializers.DictField(help_text="The event, run (state) or email, as their own "
                                           "endpoints show them.")


TIMELINE_DATA = {"event": AdminEventSerializer, "journey": AdminJourneyStateSerializer,
                 "email": AdminEmailSerializer}


class ContactTimelineApi(AdminApiView):
    class InputSerializer(PageQuerySerializer):
        type = serializers.ChoiceField(["event", "journey", "email"], required=False)

    class OutputSerializer(PageSerializer):
        timeline = AdminTimelineItemSerializer(many=True)

    @extend_schema(operation_id="admin_contact_timeline", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request, contact_ref: str) -> Response:
        query = query_of(ContactTimelineApi.InputSerializer, request)
        contact = contact_get(ref=contact_ref)
        items, total = contact_timeline(contact=contact, kind=query.get("type", ""),
                                        limit=query["limit"], offset=query["offset"])
        timeline = [{"type": item.type, "timestamp": item.timestamp,
                     "data": TIMELINE_DATA[item.type](item.row).data} for item in items]
        return Response(page_body("timeline",
                                  AdminTimelineItemSerializer(timeline, many=True).data,
                                  total, query))
