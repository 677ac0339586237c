"""What the apps' admin-plane views share beyond `hogsend_site.admin_api`: one page
of a queryset (alone, or as the response), a looked-up row or definition or a 404, and a
duration as whole seconds on the wire.

It imports nothing from the apps (they import it), so any app's view can use it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.response import Response

from hogsend_site.errors import NotFound

T = TypeVar("T")


def page_of(queryset: QuerySet, query: dict[str, Any]) -> tuple[list[Any], int]:
    """One page of an ordered queryset, and the total it pages through."""
    offset, limit = query["offset"], query["limit"]
    return list(queryset[offset:offset + limit]), queryset.count()


def page_body(key: str, items: Any, total: int, query: dict[str, Any]) -> dict[str, Any]:
    return {key: items, "total": total, "limit": query["limit"], "offset": query["offset"]}


def paged_response(key: str, rows: QuerySet, serializer_class: type[serializers.Serializer],
                   query: dict[str, Any]) -> Response:
    """The page `query` asks for of an ordered queryset, serialized under `key` beside
    the total, limit and offset."""
    page, total = page_of(rows, query)
    return Response(page_body(key, serializer_class(page, many=True).data, total, query))


def found_or_404(item: T | None, message: str) -> T:
    """`item`, or a 404 `{"error": message}` when the lookup found nothing."""
    if item is None:
        raise NotFound(message)
    return item


def seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None
