"""Shared pieces of the operator UI (the Django admin): read-only history
tables, a paginator that never counts a big table, and cross-links."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import models
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from hogsend_site import times

# A changelist counts at most this many rows; past it the page list says "10,000+".
COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    """Counts up to COUNT_CAP rows (a LIMITed subquery), never the whole table."""

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, models.QuerySet):
            return self.object_list.order_by()[:COUNT_CAP].count()
        return min(len(self.object_list), COUNT_CAP)


class BigTableAdminMixin:
    """For tables that grow with traffic: no full COUNT(*) on any changelist."""

    show_full_result_count = False
    paginator = CappedCountPaginator
    list_per_page = 50


class ReadOnlyAdminMixin:
    """Append-only and audit tables: viewable, never added to, edited or deleted."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def admin_url(obj: models.Model) -> str | None:
    """The admin change page of `obj`, or None when its model is not registered."""
    meta = obj._meta
    try:
        return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return None


def admin_link(obj: models.Model | None, label: Any = None) -> SafeString | str:
    if obj is None:
        return "—"
    url = admin_url(obj)
    text = str(obj) if label is None else str(label)
    return format_html('<a href="{}">{}</a>', url, text) if url else text


def when(value: datetime | None) -> str:
    """A timestamp for a rendered admin table, in the staff zone, naming it."""
    if not value:
        return "—"
    local = value.astimezone(times.staff_zone())
    return f"{formats.date_format(local, 'Y-m-d H:i:s')} {times.zone_abbreviation(local)}"


def zoned(field: str, description: str) -> Callable[[Any, Any], str]:
    """A read-only admin column showing a timestamp with its zone (Django's own names none)."""

    @admin.display(description=description, ordering=field)
    def show(self: Any, obj: Any) -> str:
        return when(getattr(obj, field))

    show.__name__ = f"{field}_zoned"
    return show


def html_table(headers: tuple[str, ...], rows: Iterable[tuple[Any, ...]]) -> SafeString | str:
    """A small read-only table for a change page (escaped cell by cell)."""
    body = format_html_join(
        "", "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    if not body:
        return "—"
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


def pretty_json(value: Any) -> SafeString:
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )
