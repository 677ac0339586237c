"""Operator alerts on the admin plane: the queue, and acknowledging or resolving one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from alerts.models import Alert
from alerts.services import alert_set_status
from hogsend_site.admin_api import (
    AdminApiView,
    PageQuerySerializer,
    PageSerializer,
    query_of,
)
from hogsend_site.paging import paged_response


class AdminAlertSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    title = serializers.CharField()
    status = serializers.CharField()
    contactId = serializers.UUIDField(source="contact_id", allow_null=True)
    journeyStateId = serializers.UUIDField(source="journey_run_id", allow_null=True)
    emailSendId = serializers.UUIDField(source="email_send_id", allow_null=True)
    payload = serializers.DictField()
    acknowledgedBy = serializers.CharField(source="acknowledged_by")
    acknowledgedAt = serializers.DateTimeField(source="acknowledged_at", allow_null=True)
    resolvedBy = serializers.CharField(source="resolved_by")
    resolvedAt = serializers.DateTimeField(source="resolved_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class AlertBodySerializer(serializers.Serializer):
    alert = AdminAlertSerializer()


class AlertListApi(AdminApiView):
    class InputSerializer(PageQuerySerializer):
        status = serializers.ChoiceField(Alert.Status.values, required=False)
        kind = serializers.CharField(required=False, max_length=60)

    class OutputSerializer(PageSerializer):
        alerts = AdminAlertSerializer(many=True)

    @extend_schema(operation_id="admin_alerts_list", parameters=[InputSerializer],
                   responses={200: OutputSerializer})
    def get(self, request: Request) -> Response:
        query = query_of(AlertListApi.InputSerializer, request)
        alerts = Alert.objects.filter(**{
            name: query[name] for name in ("status", "kind") if query.get(name)})
        return paged_response("alerts", alerts.order_by("-created_at", "-pk"),
                              AdminAlertSerializer, query)


class _AlertStatusApi(AdminApiView):
    audit_resource = "alert"
    target_status = ""

    def post(self, request: Request, alert_id: int) -> Response:
        alert = alert_set_status(alert_id=alert_id, status=self.target_status, actor=self.actor)
        return Response({"alert": AdminAlertSerializer(alert).data})


class AlertAcknowledgeApi(_AlertStatusApi):
    target_status = Alert.Status.ACKNOWLEDGED

    @extend_schema(
        operation_id="admin_alerts_acknowledge", request=None,
        responses={200: AlertBodySerializer},
        examples=[OpenApiExample("Acknowledged", response_only=True, value={"alert": {
            "id": 7, "kind": "support.reopen", "status": "acknowledged",
            "acknowledgedBy": "ops-cli"}})],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        return super().post(request, alert_id)


class AlertResolveApi(_AlertStatusApi):
    target_status = Alert.Status.RESOLVED

    @extend_schema(
        operation_id="admin_alerts_resolve", request=None,
        responses={200: AlertBodySerializer},
        examples=[OpenApiExample("Resolved", response_only=True, value={"alert": {
            "id": 7, "kind": "support.reopen", "status": "resolved", "resolvedBy": "ops-cli"}})],
    )
    def post(self, request: Request, alert_id: int) -> Response:
        return super().post(request, alert_id)
