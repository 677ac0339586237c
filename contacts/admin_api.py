"""Contacts on the admin plane: list, detail, and preferences (read and write).

`{id}` is the contact's uuid or its external id (`userId`), as in the reference:
the win-back recipe writes `PUT /v1/admin/contacts/<userId>/preferences`.
A contact's timeline spans events, runs and sends, so it lives with the journeys
(`journeys/admin_api.py`).
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from contacts.api import ContactOutputSerializer
from contacts.identity import contact_get
from contacts.models import PreferenceChange
from contacts.preferences import LIST_ID_RE, preference_update
from contacts.selectors import contact_list, contact_preference
from hogsend_site.admin_api import (
    AdminApiView,
    PageQuerySerializer,
    PageSerializer,
    query_of,
)
from hogsend_site.paging import paged_response


class AdminPreferenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    userId = serializers.CharField(source="user_key")
    email = serializers.CharField()
    unsubscribedAll = serializers.BooleanField(source="unsubscribed_all")
    suppressed = serializers.BooleanField()
    bounceCount = serializers.IntegerField(source="bounce_count")
    categories = serializers.DictField(child=serializers.BooleanField())
    suppressedAt = serializers.DateTimeField(source="suppressed_at", allow_null=True)
    lastBounceAt = serializers.DateTimeField(source="last_bounce_at", allow_null=True)
    updatedAt = serializers.DateTimeField(source="updated_at")


class PreferencesBodySerializer(serializers.Serializer):
    preferences = AdminPreferenceSerializer(allow_null=True)


def _preferences_body(preference) -> dict:
    return {"preferences": AdminPreferenceSerializer(preference).data if preference else None}


class ContactListApi(AdminApiView):
    class InputSerializer(PageQuerySerializer):
        search = serializers.CharField(required=False, allow_blank=True, max_length=320,
                                       help_text="A part of the email or external id.")

    class OutputSerializer(PageSerializer):
        contacts = ContactOutputSerializer(many=True)

    @extend_schema(operation_id="admin_contacts_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(ContactListApi.InputSerializer, request)
        return paged_response("contacts", contact_list(search=query.get("search", "")),
                              ContactOutputSerializer, query)


class ContactDetailApi(AdminApiView):
    class OutputSerializer(serializers.Serializer):
        contact = ContactOutputSerializer()
        preferences = AdminPreferenceSerializer(allow_null=True)

    @extend_schema(operation_id="admin_contacts_get", responses={200: OutputSerializer})
    def get(self, request: Request, contact_ref: str) -> Response:
        contact = contact_get(ref=contact_ref)
        return Response({"contact": ContactOutputSerializer(contact).data,
                         **_preferences_body(contact_preference(contact=contact))})


class ContactPreferencesGetApi(AdminApiView):
    @extend_schema(operation_id="admin_contact_preferences_get",
                   responses={200: PreferencesBodySerializer})
    def get(self, request: Request, contact_ref: str) -> Response:
        contact = contact_get(ref=contact_ref)
        return Response(_preferences_body(contact_preference(contact=contact)))


class ContactPreferencesUpdateApi(AdminApiView):
    """Upsert the contact's preferences (the sunset recipe's global unsubscribe)."""

    audit_resource = "contact"

    class InputSerializer(serializers.Serializer):
        unsubscribedAll = serializers.BooleanField(required=False, allow_null=True)
        suppressed = serializers.BooleanField(required=False, allow_null=True)
        categories = serializers.DictField(child=serializers.BooleanField(), required=False,
                                           allow_null=True)

        def validate_categories(self, value: dict | None) -> dict | None:
            bad = [key for key in value or {} if not LIST_ID_RE.match(key)]
            if bad:
                raise serializers.ValidationError(f"invalid category id {bad[0]!r}")
            return value

    @extend_schema(
        operation_id="admin_contact_preferences_update",
        request=InputSerializer,
        responses={200: PreferencesBodySerializer},
        examples=[OpenApiExample("Sunset: unsubscribe from everything",
                                 value={"unsubscribedAll": True}, request_only=True)],
    )
    def put(self, request: Request, contact_ref: str) -> Response:
        serializer = ContactPreferencesUpdateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contact = contact_get(ref=contact_ref)
        preference = preference_update(
            contact=contact, email=contact.email or "",
            unsubscribed_all=data.get("unsubscribedAll"), suppressed=data.get("suppressed"),
            categories=data.get("categories"), source=PreferenceChange.Source.API,
            actor=self.actor,
        )
        return Response(_preferences_body(preference))
