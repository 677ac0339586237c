"""OpenAPI schema generation (drf-spectacular): component names and the bearer scheme."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every API error body (hogsend_site.errors.api_exception_handler)."""

    error = serializers.CharField()


# What any authenticated operation may answer besides its success: bad input,
# a missing/unknown key, a key without the scope, an unknown contact or template,
# a rate limit (`Retry-After` in whole seconds).
ERROR_RESPONSES = {
    "400": "Invalid request", "401": "Missing or unknown API key",
    "403": "The key lacks the scope", "404": "Not found", "429": "Rate limit exceeded",
}


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not self.get_auth():
            return responses
        for code, description in ERROR_RESPONSES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description), code,
                    direction=direction)
        return responses

    def get_serializer_name(self, serializer: Any, direction: str) -> str:
        # Every API nests its own InputSerializer/OutputSerializer (STYLE 18);
        # name them after the API ("ContactUpsertInput") so they never collide.
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer and "<" not in outer:
            return outer.replace(".", "").removesuffix("Api") + inner.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "hogsend_site.auth.BearerKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`hsk_...`): `python manage.py create_api_key`.",
        }
