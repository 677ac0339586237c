"""Buckets on the admin plane: the registry with membership counts, one bucket's
definition, its members (paged), and a staff member's manual add or remove.

Buckets are defined in code, so there is nothing to create or delete here. A
manual change goes through the engine (`bucket_membership_add` / `_remove`:
source `manual`, its own audit row, `bucket:entered`/`left` ingested like any
transition); the admin plane's request audit row comes on top.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from buckets.definition import Bucket
from buckets.models import BucketMembership
from buckets.registry import registry
from buckets.selectors import bucket_counts, bucket_members
from buckets.services import bucket_membership_add, bucket_membership_remove
from buckets.stats import Calendar, bucket_flow_counts
from contacts.identity import contact_find, contact_get
from contacts.models import Contact
from contacts.selectors import contacts_by_refs
from hogsend_site.admin_api import (
    AdminApiView,
    PageQuerySerializer,
    PageSerializer,
    error_response,
    query_of,
)
from hogsend_site.errors import HogsendError, NotFound
from hogsend_site.paging import found_or_404, paged_response, seconds
from journeys.engine.registry import registry as journeys

RECENT_MEMBERS = 10


def _registered(bucket_id: str) -> Bucket:
    return found_or_404(registry.get(bucket_id), "Bucket not found")


def feeds_journeys(bucket: Bucket) -> list[dict[str, str]]:
    """The journeys that start on this bucket's `entered` event or exit on its `left`."""
    fed = []
    for journey in sorted(journeys, key=lambda j: j.id):
        roles = [role for role, hit in (
            ("trigger", journey.trigger_event in (bucket.entered_event, bucket.left_event)),
            ("exit", bool({bucket.entered_event, bucket.left_event} & journey.exit_events)))
            if hit]
        if roles:
            fed.append({"id": journey.id, "name": journey.name, "role": "+".join(roles)})
    return fed


def bucket_summaries(buckets: list[Bucket]) -> list[dict[str, Any]]:
    """The list rows of many buckets: two queries (counts, joins/leaves) for all."""
    ids = [bucket.id for bucket in buckets]
    counts = bucket_counts(bucket_ids=ids)
    flow = bucket_flow_counts(bucket_ids=ids, calendar=Calendar.now())
    return [{
        "id": bucket.id, "name": bucket.name, "description": bucket.description,
        "enabled": True, "kind": "dynamic", "timeBased": bucket.time_based,
        "entryLimit": bucket.entry_limit,
        "counts": {**counts.get(bucket.id, {"active": 0, "left": 0}), **flow[bucket.id]},
    } for bucket in buckets]


def bucket_detail(bucket: Bucket) -> dict[str, Any]:
    return {
        **bucket_summaries([bucket])[0],
        "criteria": bucket.criteria,
        "entryPeriod": seconds(bucket.entry_period),
        "maxDwell": seconds(bucket.max_dwell),
        "backfillEmits": bucket.backfill_emits,
        "propertyKeys": sorted(bucket.property_keys),
        "eventNames": sorted(bucket.event_names),
        "criteriaHash": bucket.criteria_hash,
        "feedsJourneys": feeds_journeys(bucket),
        "recentMembers": list(bucket_members(bucket_id=bucket.id, status=None)[:RECENT_MEMBERS]),
    }


# --- serializers -------------------------------------------------------------------


class AdminBucketCountsSerializer(serializers.Serializer):
    active = serializers.IntegerField()
    left = serializers.IntegerField()
    joinedToday = serializers.IntegerField()
    joinedThisWeek = serializers.IntegerField()
    leftToday = serializers.IntegerField()
    leftThisWeek = serializers.IntegerField()


class AdminBucketSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    enabled = serializers.BooleanField()
    kind = serializers.CharField()
    timeBased = serializers.BooleanField()
    entryLimit = serializers.CharField()
    counts = AdminBucketCountsSerializer()


class AdminBucketMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    bucketId = serializers.CharField(source="bucket_id")
    contactId = serializers.UUIDField(source="contact_id")
    userId = serializers.CharField(source="contact.key")
    userEmail = serializers.CharField(source="contact.email", allow_null=True)
    status = serializers.CharField()
    enteredAt = serializers.DateTimeField(source="entered_at")
    leftAt = serializers.DateTimeField(source="left_at", allow_null=True)
    maxDwellAt = serializers.DateTimeField(source="max_dwell_at", allow_null=True)
    entryCount = serializers.IntegerField(source="entry_count")
    source = serializers.CharField()
    leaveReason = serializers.CharField(source="leave_reason")
    context = serializers.DictField(source="snapshot")


class AdminFedJourneySerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(help_text="trigger, exit or trigger+exit")


class AdminBucketDetailSerializer(AdminBucketSerializer):
    criteria = serializers.DictField()
    entryPeriod = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    maxDwell = serializers.IntegerField(allow_null=True, help_text="Seconds.")
    backfillEmits = serializers.BooleanField()
    propertyKeys = serializers.ListField(child=serializers.CharField())
    eventNames = serializers.ListField(child=serializers.CharField())
    criteriaHash = serializers.CharField()
    feedsJourneys = AdminFedJourneySerializer(many=True)
    recentMembers = AdminBucketMemberSerializer(many=True)


# --- operations --------------------------------------------------------------------


class BucketListApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        buckets = AdminBucketSerializer(many=True)

    @extend_schema(operation_id="admin_buckets_list", responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        buckets = sorted(registry, key=lambda bucket: bucket.id)
        return Response({"buckets": AdminBucketSerializer(bucket_summaries(buckets),
                                                          many=True).data})


class BucketDetailApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        bucket = AdminBucketDetailSerializer()

    @extend_schema(operation_id="admin_buckets_get", responses={200: OutputSerializer})
    def get(self, request: Request, bucket_id: str) -> Response:
        bucket = _registered(bucket_id)
        return Response({"bucket": AdminBucketDetailSerializer(bucket_detail(bucket)).data})


class BucketMemberListApi(AdminApiView):
    class InputSerializer(PageQuerySerializer):
        status = serializers.ChoiceField(BucketMembership.Status.values, required=False)
        userId = serializers.CharField(required=False, max_length=255)

    class OutputSerializer(PageSerializer):
        members = AdminBucketMemberSerializer(many=True)

    @extend_schema(operation_id="admin_bucket_members_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request, bucket_id: str) -> Response:
        query = query_of(BucketMemberListApi.InputSerializer, request)
        _registered(bucket_id)
        rows = bucket_members(bucket_id=bucket_id, status=query.get("status"))
        if query.get("userId"):
            rows = rows.filter(contact__in=contact_find(user_id=query["userId"]))
        return paged_response("members", rows, AdminBucketMemberSerializer, query)


def _member(bucket_id: str, contact: Contact) -> BucketMembership:
    return (BucketMembership.objects.select_related("contact")
            .get(bucket_id=bucket_id, contact=contact))


class BucketMemberAddApi(AdminApiView):
    """Put a person into a bucket by hand (source `manual`). The criteria stay in
    charge: someone who does not match leaves at their next evaluation."""

    audit_resource = "bucket"

    class InputSerializer(serializers.Serializer):
        userId = serializers.CharField(required=False, max_length=255)
        email = serializers.EmailField(required=False, max_length=320)
        contactId = serializers.UUIDField(required=False)

        def validate(self, attrs: dict) -> dict:
            if len([key for key in ("userId", "email", "contactId") if attrs.get(key)]) != 1:
                raise serializers.ValidationError("exactly one of userId, email or contactId "
                                                  "is required")
            return attrs

    class OutputSerializer(serializers.Serializer):
        member = AdminBucketMemberSerializer()
        emitted = serializers.BooleanField(
            help_text="Whether bucket:entered:<id> was ingested (the bucket's entry limit).")

    @extend_schema(
        operation_id="admin_bucket_members_add",
        request=InputSerializer,
        responses={201: OutputSerializer, 409: error_response("Already a member")},
        examples=[OpenApiExample("By user id", value={"userId": "u_ada"}, request_only=True)],
    )
    def post(self, request: Request, bucket_id: str) -> Response:
        serializer = BucketMemberAddApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        _registered(bucket_id)
        contact = self._contact(data)
        transition = bucket_membership_add(bucket_id=bucket_id, contact_id=contact.pk,
                                           actor=self.actor)
        body = {"member": AdminBucketMemberSerializer(_member(bucket_id, contact)).data,
                "emitted": transition.emitted}
        return Response(body, status=status.HTTP_201_CREATED)

    @staticmethod
    def _contact(data: dict[str, Any]) -> Contact:
        if data.get("contactId"):
            found = contacts_by_refs(refs=[str(data["contactId"])])
            contact = found.get(str(data["contactId"]))
        elif data.get("email"):
            found_list = contact_find(email=data["email"])
            contact = found_list[0] if len(found_list) == 1 else None
        else:
            found_list = contact_find(user_id=data["userId"])
            contact = found_list[0] if len(found_list) == 1 else None
        return found_or_404(contact, "Contact not found")


class BucketMemberRemoveApi(AdminApiView):
    """Take a person out of a bucket by hand (leave reason `manual`); someone who
    still matches is held out until they stop matching."""

    audit_resource = "bucket"

    class OutputSerializer(serializers.Serializer):
        member = AdminBucketMemberSerializer()
        emitted = serializers.BooleanField()

    @extend_schema(
        operation_id="admin_bucket_members_remove",
        request=None,
        responses={200: OutputSerializer, 409: error_response("Not a member")},
        examples=[OpenApiExample("Removed", response_only=True, value={"member": {
            "id": 7, "bucketId": "dormant-30d",
            "contactId": "0b7f3c1e-2d4a-4c5b-9e6f-7a8b9c0d1e2f", "userId": "u_ada",
            "userEmail": "ada@example.com", "status": "left",
            "enteredAt": "2026-03-31T12:00:00Z", "leftAt": "2026-04-02T09:15:00Z",
            "maxDwellAt": None, "entryCount": 1, "source": "manual", "leaveReason": "manual",
            "context": {}}, "emitted": True})],
    )
    def delete(self, request: Request, bucket_id: str, contact_ref: str) -> Response:
        _registered(bucket_id)
        contact = contact_get(ref=contact_ref)
        try:
            transition = bucket_membership_remove(bucket_id=bucket_id, contact_id=contact.pk,
                                                  actor=self.actor)
        except HogsendError as exc:
            if exc.status == 409 and not BucketMembership.objects.filter(
                    bucket_id=bucket_id, contact=contact).exists():
                raise NotFound("Contact is not a member of this bucket") from exc
            raise
        return Response({"member": AdminBucketMemberSerializer(_member(bucket_id, contact)).data,
                         "emitted": transition.emitted})
