"""Campaigns on the data plane (a secret key with the `ingest` scope, as the
reference's client calls them): `POST /v1/campaigns`, `GET /v1/campaigns`,
`GET /v1/campaigns/<id>`, `POST /v1/campaigns/<id>/cancel`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from campaigns.models import Campaign
from campaigns.selectors import campaigns_page
from campaigns.services import campaign_cancel, campaign_create
from hogsend_site.admin_api import error_response
from hogsend_site.errors import HogsendError, NotFound

KEY_MAX = 255


class CampaignSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.values)
    audienceKind = serializers.CharField(source="audience_kind")
    audienceId = serializers.CharField(source="audience_id")
    templateKey = serializers.CharField(source="template_key")
    subject = serializers.CharField()
    origin = serializers.CharField(help_text="code (define_campaign) or api")
    totalRecipients = serializers.IntegerField(source="total_recipients", allow_null=True)
    sentCount = serializers.IntegerField(source="sent_count")
    skippedCount = serializers.IntegerField(source="skipped_count")
    failedCount = serializers.IntegerField(source="failed_count")
    skipReasons = serializers.DictField(source="skip_reasons", child=serializers.IntegerField())
    scheduledAt = serializers.DateTimeField(source="send_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    canceledAt = serializers.DateTimeField(source="canceled_at", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    note = serializers.CharField()


def _campaign(campaign_id: str) -> Campaign:
    found = Campaign.objects.filter(pk=campaign_id).first()
    if found is None:
        raise NotFound("Campaign not found")
    return found


class CampaignsApi(APIView):
    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                     max_length=200)
        list = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                     max_length=80, help_text="A list id (exactly one of list "
                                     "and bucket): its subscribed members.")
        bucket = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                       max_length=80, help_text="A bucket id: its active members.")
        template = serializers.CharField(max_length=200)
        props = serializers.DictField(required=False, allow_null=True)
        subject = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                        max_length=998)
        sendAt = serializers.DateTimeField(
            required=False, allow_null=True,
            help_text="When to send (ISO 8601); omitted: now. More than 60 s past is refused.")
        idempotencyKey = serializers.CharField(required=False, allow_null=True, max_length=255)

        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            # `from` is a Python keyword, so it cannot be declared as an attribute.
            fields["from"] = serializers.EmailField(required=False, allow_null=True,
                                                    allow_blank=True, max_length=320)
            return fields

    class CreatedSerializer(serializers.Serializer):
        campaignId = serializers.CharField()
        status = serializers.CharField()
        scheduledAt = serializers.DateTimeField()

    class QuerySerializer(serializers.Serializer):
        status = serializers.CharField(required=False, help_text="Comma-separated statuses.")
        limit = serializers.IntegerField(min_value=1, max_value=100, default=50)
        offset = serializers.IntegerField(min_value=0, max_value=1_000_000_000, default=0)

        def validate_status(self, value: str) -> list[str]:
            wanted = [part.strip() for part in value.split(",") if part.strip()]
            for item in wanted:
                if item not in Campaign.Status.values:
                    raise serializers.ValidationError(
                        f"unknown status {item!r} (one of {', '.join(Campaign.Status.values)})")
            return wanted

    class PageSerializer(serializers.Serializer):
        campaigns = CampaignSerializer(many=True)
        hasMore = serializers.BooleanField()

    @extend_schema(
        operation_id="campaigns_send",
        request=InputSerializer,
        responses={202: CreatedSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     required=False,
                                     description="Wins over the body's idempotencyKey.")],
        examples=[OpenApiExample("To a list, tomorrow morning", request_only=True, value={
            "name": "June update", "list": "digest", "template": "retention-weekly-digest",
            "subject": "Saved views are here", "sendAt": "2026-06-02T09:00:00Z",
            "idempotencyKey": "june-update"})],
    )
    def post(self, request: Request) -> Response:
        body = CampaignsApi.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        campaign, _created = campaign_create(
            template=data["template"], list_id=data.get("list") or None,
            bucket_id=data.get("bucket") or None, name=data.get("name"),
            props=data.get("props"), subject=data.get("subject"), from_email=data.get("from"),
            send_at=data.get("sendAt"),
            idempotency_key=_caller_key(request, data.get("idempotencyKey")))
        out = {"campaignId": campaign.pk, "status": campaign.status,
               "scheduledAt": campaign.send_at}
        return Response(CampaignsApi.CreatedSerializer(out).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="campaigns_list", parameters=[QuerySerializer],
                   responses={200: PageSerializer})
    def get(self, request: Request) -> Response:
        query = CampaignsApi.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows, more = campaigns_page(statuses=query.validated_data.get("status"),
                                    limit=query.validated_data["limit"],
                                    offset=query.validated_data["offset"])
        return Response({"campaigns": CampaignSerializer(rows, many=True).data, "hasMore": more})


def _caller_key(request: Request, body_key: str | None) -> str | None:
    """The `Idempotency-Key` header wins over the body's `idempotencyKey`."""
    header = request.headers.get("Idempotency-Key") or None
    if header is not None and len(header) > KEY_MAX:
        raise HogsendError(f"Idempotency-Key: at most {KEY_MAX} characters")
    return header or body_key or None


class CampaignDetailApi(APIView):
    @extend_schema(operation_id="campaigns_get", responses={200: CampaignSerializer})
    def get(self, request: Request, campaign_id: str) -> Response:
        return Response(CampaignSerializer(_campaign(campaign_id)).data)


class CampaignCancelApi(APIView):
    @extend_schema(operation_id="campaigns_cancel", request=None,
                   responses={200: CampaignSerializer,
                              409: error_response("The campaign already finished")})
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = campaign_cancel(campaign_id=campaign_id, actor=_actor(request))
        return Response(CampaignSerializer(campaign).data)


def _actor(request: Request) -> str:
    auth: Any = request.auth
    return f"api key {auth.name}" if getattr(auth, "name", None) else "api"
