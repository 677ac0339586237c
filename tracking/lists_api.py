"""Lists API (data plane): `GET /v1/lists`, `POST /v1/lists/<id>/subscribe`,
`.../unsubscribe` and `POST /v1/lists/preferences`. Wire shapes follow the
reference engine's (its client SDKs work unchanged); `unsubscribedAll` beside
them is this server's addition, so a caller can tell why every list reads not
subscribed."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts.identity import IdentityRequired
from hogsend_site.auth import BrowserKeyRefused
from tracking.lists import (
    ListState,
    Subscriptions,
    list_subscription_set,
    subscriptions_find,
    subscriptions_unsubscribed_all_set,
)


class ListItemSerializer(serializers.Serializer):
    id = serializers.CharField(source="list.id")
    name = serializers.CharField(source="list.name")
    description = serializers.CharField(source="list.description")
    defaultOptIn = serializers.BooleanField(source="list.default_opt_in")
    kind = serializers.ChoiceField(source="list.kind", choices=["topic", "channel"])
    subscribed = serializers.BooleanField()


class SubscriptionsSerializer(serializers.Serializer):
    lists = ListItemSerializer(many=True)
    unsubscribedAll = serializers.BooleanField(source="unsubscribed_all")


class RecipientInputSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_null=True, max_length=320)
    userId = serializers.CharField(required=False, allow_null=True, max_length=255)

    def validate(self, attrs: dict) -> dict:
        if not (attrs.get("email") or attrs.get("userId")):
            raise IdentityRequired()
        return attrs


def _subscriptions_body(subscriptions: Subscriptions) -> dict:
    return SubscriptionsSerializer(subscriptions).data


class ListsApi(APIView):
    # A browser page may read the lists with a publishable key, but only the
    # catalogue: its key is public, so naming a person would show anyone that
    # person's subscriptions (there is no identity proof for browser reads).
    publishable_methods = frozenset({"GET"})

    class QuerySerializer(serializers.Serializer):
        email = serializers.EmailField(required=False, max_length=320)
        userId = serializers.CharField(required=False, max_length=255)

    @extend_schema(
        operation_id="lists_list",
        parameters=[OpenApiParameter("email", str, required=False),
                    OpenApiParameter("userId", str, required=False)],
        responses={200: SubscriptionsSerializer},
    )
    def get(self, request: Request) -> Response:
        query = self.QuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        email, user_id = query.validated_data.get("email"), query.validated_data.get("userId")
        if (email or user_id) and request.auth.is_publishable:
            raise BrowserKeyRefused(
                "Forbidden: a publishable key reads the lists without email or userId")
        return Response(_subscriptions_body(subscriptions_find(email=email, user_id=user_id)))


class ListSubscriptionApi(APIView):
    """Subscribe (`subscribed=True`) or unsubscribe one person; the URL says which."""

    publishable_methods = frozenset({"POST"})
    subscribed = True

    class OutputSerializer(serializers.Serializer):
        list = ListItemSerializer()
        subscribed = serializers.BooleanField()
        unsubscribedAll = serializers.BooleanField()

    def post(self, request: Request, list_id: str) -> Response:
        body = RecipientInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        state, after = list_subscription_set(
            list_id=list_id, subscribed=self.subscribed, email=body.validated_data.get("email"),
            user_id=body.validated_data.get("userId"), actor=str(request.user))
        return Response(self._body(state, after))

    @staticmethod
    def _body(state: ListState, after: Subscriptions) -> dict:
        return {"list": ListItemSerializer(state).data, "subscribed": state.subscribed,
                "unsubscribedAll": after.unsubscribed_all}


class ListSubscribeApi(ListSubscriptionApi):
    subscribed = True

    @extend_schema(operation_id="lists_subscribe", request=RecipientInputSerializer,
                   responses={200: ListSubscriptionApi.OutputSerializer},
                   examples=[OpenApiExample("By user id", value={"userId": "u_123"},
                                            request_only=True)])
    def post(self, request: Request, list_id: str) -> Response:
        return super().post(request, list_id)


class ListUnsubscribeApi(ListSubscriptionApi):
    subscribed = False

    @extend_schema(operation_id="lists_unsubscribe", request=RecipientInputSerializer,
                   responses={200: ListSubscriptionApi.OutputSerializer})
    def post(self, request: Request, list_id: str) -> Response:
        return super().post(request, list_id)


class ListPreferencesApi(APIView):
    publishable_methods = frozenset({"POST"})

    class InputSerializer(RecipientInputSerializer):
        unsubscribedAll = serializers.BooleanField()

    @extend_schema(
        operation_id="lists_preferences",
        request=InputSerializer,
        responses={200: SubscriptionsSerializer},
        examples=[OpenApiExample("Unsubscribe from everything",
                                 value={"email": "ada@example.com", "unsubscribedAll": True},
                                 request_only=True)],
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        after = subscriptions_unsubscribed_all_set(
            unsubscribed_all=body.validated_data["unsubscribedAll"],
            email=body.validated_data.get("email"), user_id=body.validated_data.get("userId"),
            actor=str(request.user))
        return Response(_subscriptions_body(after))
