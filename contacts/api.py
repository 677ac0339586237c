"""Contacts API (data plane): upsert, find, delete."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.services import IdentityRequired, contact_delete, contact_find, contact_upsert


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


class ContactUpsertApi(APIView):
    class InputSerializer(IdentityInputSerializer):
        anonymousId = serializers.CharField(required=False, allow_null=True, max_length=200)
        properties = serializers.DictField(required=False, allow_null=True)
        lists = serializers.DictField(child=serializers.BooleanField(), required=False, allow_null=True)

    class OutputSerializer(serializers.Serializer):
        id = serializers.UUIDField()
        created = serializers.BooleanField()
        linked = serializers.BooleanField()

    @extend_schema(operation_id="contacts_upsert", request=InputSerializer,
                   responses={200: OutputSerializer})
    def put(self, request: Request) -> Response:
        data = self._valid(request)
        result = contact_upsert(
            user_id=data.get("userId"), email=data.get("email"),
            anonymous_id=data.get("anonymousId"), properties=data.get("properties"),
        )
        return Response({"id": str(result.contact.pk), "created": result.created,
                         "linked": result.linked})

    @extend_schema(operation_id="contacts_upsert_post", request=InputSerializer,
                   responses={200: OutputSerializer})
    def post(self, request: Request) -> Response:
        return self.put(request)

    def _valid(self, request: Request) -> dict:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(operation_id="contacts_delete", request=IdentityInputSerializer,
                   responses={200: serializers.DictField()})
    def delete(self, request: Request) -> Response:
        serializer = IdentityInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact_delete(email=serializer.validated_data.get("email"),
                       user_id=serializer.validated_data.get("userId"))
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
        email, user_id = request.query_params.get("email"), request.query_params.get("userId")
        if bool(email) == bool(user_id):
            from hogsend_site.errors import HogsendError

            raise HogsendError("exactly one of email or userId is required")
        contacts = contact_find(email=email, user_id=user_id)
        return Response({"contacts": ContactOutputSerializer(contacts, many=True).data})
