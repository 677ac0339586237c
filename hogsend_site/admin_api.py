"""The admin plane (`/v1/admin/*`): its shared base, and the site-wide operations
(API keys, the audit log).

Every admin view derives from `AdminApiView`: an `admin`-scope key (an `ingest`
key is 403), the admin rate limit with its `X-RateLimit-*` headers, and an
`AuditLog` row for every successful write. Lists take `limit` (1-100, default
50) and `offset` and answer `{<items>: [...], total, limit, offset}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hogsend_site.auth import (
    HasAdminScope,
    api_key_create,
    api_key_grant_check,
    api_keys_revoke,
)
from hogsend_site.browser_keys import OriginError
from hogsend_site.errors import NotFound
from hogsend_site.models import ApiKey, AuditLog
from hogsend_site.paging import paged_response
from hogsend_site.ratelimit import AdminPlaneThrottle, client_ip
from hogsend_site.schema import ErrorSerializer
from hogsend_site.services import audit_log_record

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Deeper than this an offset page is no use to anyone (and past 2**63 the
# database cannot even parse it).
MAX_OFFSET = 1_000_000_000


def error_response(description: str) -> OpenApiResponse:
    """An operation-specific error (409, 502) for the schema; the common ones
    (400, 401, 403, 404, 429) are added to every operation by hogsend_site.schema."""
    return OpenApiResponse(ErrorSerializer, description=description)


# --- the base view -------------------------------------------------------------------


class AdminApiView(APIView):
    """Base of every admin-plane operation (see the module docstring)."""

    permission_classes = [HasAdminScope]
    throttle_classes = [AdminPlaneThrottle]
    # What a write is recorded against ("contact", "journey-run", ...).
    audit_resource = ""

    @property
    def actor(self) -> str:
        """Who is acting: the API key's name (PreferenceChange, alerts, audit rows)."""
        return self.request.auth.name

    def get_throttles(self) -> list[Any]:
        # Kept so the response can carry the limiter's count.
        self._throttles = super().get_throttles()
        return self._throttles

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        for throttle in getattr(self, "_throttles", ()):
            state = getattr(throttle, "state", None)
            if state is not None:
                response["X-RateLimit-Limit"] = str(state.limit)
                response["X-RateLimit-Remaining"] = str(state.remaining)
        if (request.method in WRITE_METHODS and 200 <= response.status_code < 300
                and isinstance(request.auth, ApiKey)):
            self._audit(request, response)
        return response

    def audit_resource_id(self, response: Any) -> str:
        """The last path argument, else the `id` of what a create answered."""
        if self.kwargs:
            return str(list(self.kwargs.values())[-1])
        data = getattr(response, "data", None)
        return str(data.get("id", "")) if isinstance(data, dict) else ""

    def _audit(self, request: Request, response: Any) -> None:
        match = request.resolver_match
        route = match.url_name if match is not None else type(self).__name__
        body = request.data if isinstance(request.data, dict) else {}
        audit_log_record(
            actor=self.actor, action=f"{request.method} {route}",
            resource=self.audit_resource or route, resource_id=self.audit_resource_id(response),
            detail={"status": response.status_code, "body": dict(body)}, ip=client_ip(request),
        )


def route(*views: type[APIView]) -> Callable[..., Any]:
    """The view of one path answering several operations.

    Each operation stays its own class (STYLE 18); a path with two methods (`GET`
    and `PUT .../preferences`) is served by a class inheriting both. Such handlers
    name their nested serializers through their own class
    (`ContactPreferencesUpdateApi.InputSerializer`): `self.InputSerializer` would
    find the first base's.
    """
    if len(views) == 1:
        return views[0].as_view()
    methods = [m for view in views for m in APIView.http_method_names if m in vars(view)]
    if len(methods) != len(set(methods)):
        raise ImproperlyConfigured(f"two operations answer the same method: {views}")
    name = "".join(view.__name__.removesuffix("Api") for view in views) + "Api"
    return type(name, views, {"__module__": views[0].__module__}).as_view()


# --- pagination and filters ------------------------------------------------------------


class PageQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=50)
    offset = serializers.IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


class WindowQuerySerializer(PageQuerySerializer):
    """A page plus `from` / `to` (ISO timestamps, inclusive)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        # `from` is a Python keyword, so it cannot be declared as an attribute.
        fields["from"] = serializers.DateTimeField(required=False)
        fields["to"] = serializers.DateTimeField(required=False)
        return fields


class PageSerializer(serializers.Serializer):
    """The envelope of a list; subclasses add the items field."""

    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


def query_of(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """The validated query string (a bad value is a 400 naming the parameter)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def within(queryset: QuerySet, field: str, query: dict[str, Any]) -> QuerySet:
    """Apply the `from` / `to` window of `query` to `field`."""
    if query.get("from") is not None:
        queryset = queryset.filter(**{f"{field}__gte": query["from"]})
    if query.get("to") is not None:
        queryset = queryset.filter(**{f"{field}__lte": query["to"]})
    return queryset


# --- API keys ----------------------------------------------------------------------------


class AdminApiKeySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    keyPrefix = serializers.CharField(source="prefix")
    scopes = serializers.ListField(child=serializers.CharField())
    allowedOrigins = serializers.ListField(child=serializers.CharField(),
                                           source="allowed_origins")
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class ApiKeyListApi(AdminApiView):
    class OutputSerializer(PageSerializer):
        apiKeys = AdminApiKeySerializer(many=True)

    @extend_schema(operation_id="admin_api_keys_list", parameters=[PageQuerySerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(PageQuerySerializer, request)
        return paged_response("apiKeys", ApiKey.objects.order_by("-created_at", "-id"),
                              AdminApiKeySerializer, query)


class ApiKeyCreateApi(AdminApiView):
    audit_resource = "api-key"

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=120)
        scopes = serializers.ListField(child=serializers.ChoiceField(ApiKey.Scope.values),
                                       min_length=1)
        # With scopes ["ingest-public"]: a publishable browser key (pk_...) for
        # these origins only.
        allowedOrigins = serializers.ListField(child=serializers.CharField(max_length=300),
                                               required=False, max_length=100)
        expiresAt = serializers.DateTimeField(required=False, allow_null=True)

        def validate_expiresAt(self, value: Any) -> Any:  # the wire name
            if value is not None and value <= timezone.now():
                raise serializers.ValidationError("must be in the future")
            return value

        def validate(self, attrs: dict) -> dict:
            try:
                attrs["scopes"], attrs["allowedOrigins"] = api_key_grant_check(
                    scopes=attrs["scopes"], allowed_origins=attrs.get("allowedOrigins"))
            except ValueError as exc:
                field = "allowedOrigins" if isinstance(exc, OriginError) else "scopes"
                raise serializers.ValidationError({field: str(exc)}) from exc
            return attrs

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        key = serializers.CharField(help_text="The secret: shown once, never again.")
        keyPrefix = serializers.CharField(source="prefix")
        scopes = serializers.ListField(child=serializers.CharField())
        allowedOrigins = serializers.ListField(child=serializers.CharField(),
                                               source="allowed_origins")
        expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
        createdAt = serializers.DateTimeField(source="created_at")

    @extend_schema(
        operation_id="admin_api_keys_create",
        request=InputSerializer,
        responses={201: OutputSerializer},
        examples=[OpenApiExample("An ingest key for the backend",
                                 value={"name": "backend", "scopes": ["ingest"]},
                                 request_only=True),
                  OpenApiExample("A publishable key for the web app",
                                 value={"name": "web", "scopes": ["ingest-public"],
                                        "allowedOrigins": ["https://app.example.com"]},
                                 request_only=True)],
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyCreateApi.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key, secret = api_key_create(name=data["name"], scopes=data["scopes"],
                                     expires_at=data.get("expiresAt"),
                                     allowed_origins=data["allowedOrigins"])
        key.key = secret  # for the serializer only; the secret is never stored
        return Response(ApiKeyCreateApi.OutputSerializer(key).data,
                        status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(AdminApiView):
    audit_resource = "api-key"

    class OutputSerializer(serializers.Serializer):
        revoked = serializers.BooleanField()

    @extend_schema(
        operation_id="admin_api_keys_revoke",
        request=None,
        responses={200: OutputSerializer},
        examples=[OpenApiExample("Revoked", value={"revoked": True}, response_only=True)],
    )
    def delete(self, request: Request, key_id: int) -> Response:
        if not ApiKey.objects.filter(pk=key_id).exists():
            raise NotFound("API key not found")
        api_keys_revoke(key_ids=[key_id])
        return Response({"revoked": True})


# --- the audit log -------------------------------------------------------------------


class AdminAuditLogSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    actor = serializers.CharField()
    action = serializers.CharField()
    resource = serializers.CharField()
    resourceId = serializers.CharField(source="resource_id")
    detail = serializers.DictField()
    ip = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class AuditLogListApi(AdminApiView):
    class InputSerializer(WindowQuerySerializer):
        actor = serializers.CharField(required=False)
        resource = serializers.CharField(required=False)
        action = serializers.CharField(required=False)

    class OutputSerializer(PageSerializer):
        auditLogs = AdminAuditLogSerializer(many=True)

    @extend_schema(operation_id="admin_audit_logs_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(AuditLogListApi.InputSerializer, request)
        rows = AuditLog.objects.filter(**{
            name: query[name] for name in ("actor", "resource", "action") if query.get(name)
        })
        return paged_response("auditLogs",
                              within(rows, "created_at", query).order_by("-created_at", "-id"),
                              AdminAuditLogSerializer, query)
