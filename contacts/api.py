"""Contacts API (data plane): upsert, find, delete.

Wire shapes follow the reference engine's, so its client SDKs work unchanged.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.identity import IdentityRequired, contact_delete, contact_find, contact_upsert
from hogsend_site.errors import HogsendError
from hogsend_site.json_limits import PropertiesField


class ContactOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    externalId = serializers.CharField(source="external_id", allow_null=True)
    email = serializers.CharField(allow_null=True)
    anonymousId = serializers.CharField(source="anonymous_id", allow_null=True)
    timezone = serializers.CharField()
    properties = serializers.DictField()
    firstSeenAt = serializers.DateTimeField(source="first_seen_at", allow_null=True)
    lastSeenAt = serializers.DateTimeField(source="last_seen_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class IdentityInputSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    userId = serializers.CharField(required=False, allow_null=True, max_length=255)

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("email") or attrs.get("userId")):
            raise IdentityRequired()
        return attrs


class DeletedSerializer(serializers.Serializer):
    deleted = serializers.BooleanField()


class ContactUpsertApi(APIView):
    # Browser pages may identify with a publishable key (hogsend_site/auth.py);
    # DELETE stays for secret keys.
    publishable_methods = frozenset({"PUT", "POST"})

    class InputSerializer(IdentityInputSerializer):
        anonymousId = serializers.CharField(required=False, allow_null=True, max_length=200)
        properties = PropertiesField(required=False, allow_null=True)
        lists = serializers.DictField(
            child=serializers.BooleanField(), required=False, allow_null=True
        )
        # An extension of the reference's body: the contact's IANA timezone,
        # which `ctx.when` schedules in.
        timezone = serializers.CharField(required=False, allow_null=True, max_length=64)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        created = serializers.BooleanField()
        linked = serializers.BooleanField()

    @extend_schema(
        operation_id="contacts_upsert",
        request=InputSerializer,
        responses={200: OutputSerializer},
        examples=[
            OpenApiExample(
                "Identify a customer",
                value={"userId": "u_123", "email": "ada@example.com",
                       "properties": {"plan": "pro", "trial": None}},
                request_only=True,
            )
        ],
    )
    def put(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        result = contact_upsert(
            user_id=data.get("userId"),
            email=data.get("email"),
            anonymous_id=data.get("anonymousId"),
            properties=data.get("properties"),
            tz=data.get("timezone"),
            lists=data.get("lists"),
            actor=str(request.user),
        )
        return Response({"id": str(result.contact.pk), "created": result.created,
                         "linked": result.linked})

    @extend_schema(operation_id="contacts_upsert_post", request=InputSerializer,
                   responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        # The reference accepts POST too (its browser SDK sends it).
        return self.put(request)

    @extend_schema(operation_id="contacts_delete", request=IdentityInputSerializer,
                   responses={200: DeletedSerializer})
    def delete(self, request: Request) -> Response:
        serializer = IdentityInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact_delete(email=serializer.validated_data.get("email"),
                       user_id=serializer.validated_data.get("userId"), actor=str(request.user))
        return Response({"deleted": True})


class ContactFindApi(APIView):
    class OutputSerializer(serializers.Serializer):
        contacts = ContactOutputSerializer(many=True)

    @extend_schema(
        operation_id="contacts_find",
        parameters=[OpenApiParameter("email", str, required=False),
                    OpenApiParameter("userId", str, required=False)],
        responses={200: OutputSerializer},
    )
    def get(self, request: Request) -> Response:
        email = request.query_params.get("email", "").strip()
        user_id = request.query_params.get("userId", "").strip()
        if not (email or user_id):
            raise IdentityRequired()
        if email and user_id:
            raise HogsendError("exactly one of email or userId is allowed")
        contacts = contact_find(email=email, user_id=user_id)
        return Response({"contacts": ContactOutputSerializer(contacts, many=True).data})
