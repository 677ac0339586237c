"""The bucket pages of the console: every bucket in code with its members and
joins/leaves, a page per bucket (definition, a daily joined/left chart, members
paged) and a staff member's manual add and remove.

The rows come from the registry, not from a table (`BucketOverview` is a proxy
that gives the pages their place in the index and their view permission).
Manual changes need `buckets.change_bucketmembership` and go through the
engine's `bucket_membership_add` / `_remove` (source `manual`, audited).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from buckets.admin_api import bucket_summaries, feeds_journeys
from buckets.definition import Bucket
from buckets.models import BucketMembership, BucketOverview
from buckets.registry import registry
from buckets.selectors import bucket_members, contact_memberships
from buckets.services import bucket_membership_add, bucket_membership_remove
from buckets.stats import CHART_DAYS, Calendar, bucket_daily_flow
from contacts.models import Contact
from contacts.selectors import contacts_by_refs
from hogsend_site import times
from hogsend_site.charts import Series, bar_chart, data_table, number
from hogsend_site.errors import HogsendError

MEMBER_PERMISSION = "buckets.change_bucketmembership"
MEMBERS_PER_PAGE = 50
STATUS_FILTERS = ("active", "left", "all")


def duration_words(value: timedelta | float | None) -> str:
    """14 days, 36 hours, 90 minutes: the largest whole unit."""
    if value is None:
        return ""
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'' if n == 1 else 's'}"
    return f"{seconds} seconds"


OPERATOR_WORDS = {"eq": "is", "neq": "is not", "gt": "is more than", "gte": "is at least",
                  "lt": "is less than", "lte": "is at most", "in": "is one of",
                  "contains": "contains", "exists": "is set", "not_exists": "is not set"}
COUNT_WORDS = {"eq": "exactly", "gt": "more than", "gte": "at least", "lt": "fewer than",
               "lte": "at most"}


def criteria_words(tree: dict[str, Any]) -> str:
    """The criteria as a sentence (a leaf) or a heading with a list (all/any/not)."""
    kind = tree["type"]
    if kind in ("all", "any", "not"):
        return ""
    if kind == "property":
        value = "" if tree["operator"] in ("exists", "not_exists") else f" {tree['value']!r}"
        return f"property {tree['property']} {OPERATOR_WORDS[tree['operator']]}{value}"
    window = f" in the last {duration_words(tree['within'])}" if tree["within"] else " ever"
    if tree["check"] == "count":
        return (f"{tree['event']} happened {COUNT_WORDS[tree['operator']]} {tree['value']} "
                f"time(s){window}")
    verb = "happened" if tree["check"] == "exists" else "did not happen"
    return f"{tree['event']} {verb}{window}"


def criteria_html(tree: dict[str, Any]) -> SafeString:
    """The criteria tree as nested lists of sentences."""
    kind = tree["type"]
    if kind in ("all", "any", "not"):
        heading = {"all": "all of", "any": "any of", "not": "none of"}[kind]
        children = tree["conditions"] if kind != "not" else [tree["condition"]]
        items = format_html_join("", "<li>{}</li>", ((criteria_html(c),) for c in children))
        return format_html("{}:<ul>{}</ul>", heading, items)
    return format_html("{}", criteria_words(tree))


def bucket_facts(bucket: Bucket) -> dict[str, Any]:
    """The definition as plain data for the template."""
    limit = bucket.entry_limit
    if limit == "once_per_period":
        limit = f"once per {duration_words(bucket.entry_period)} (counted from the last leave)"
    return {
        "id": bucket.id, "name": bucket.name, "description": bucket.description,
        "entry_limit": limit, "max_dwell": duration_words(bucket.max_dwell),
        "time_based": bucket.time_based, "backfill_emits": bucket.backfill_emits,
        "criteria": criteria_html(bucket.criteria), "source": bucket.source,
        "criteria_hash": bucket.criteria_hash, "entered_event": bucket.entered_event,
        "left_event": bucket.left_event, "feeds": feeds_journeys(bucket),
    }


def flow_chart(bucket: Bucket, calendar: Calendar) -> dict[str, Any]:
    """Joined and left per day over the last 30 days, as an inline SVG and a table."""
    flow = bucket_daily_flow(bucket_id=bucket.id, calendar=calendar)
    days: list[date] = calendar.days(CHART_DAYS)
    labels = [f"{day.day} {day:%b}" for day in days]
    series = [
        Series(name="Joined", values=[flow["joined"].get(day, 0) for day in days],
               colour="var(--link-fg, #417893)"),
        Series(name="Left", values=[flow["left"].get(day, 0) for day in days],
               colour="var(--error-fg, #ba2121)"),
    ]
    if not any(series[0].values) and not any(series[1].values):
        series = []  # thirty empty days draw as "no data yet", not a flat axis
    title = f"People who joined and left “{bucket.name}” per day"
    zone = calendar.zone.key
    return {
        "svg": bar_chart(chart_id=f"chart-bucket-{bucket.id}", title=title, labels=labels,
                         series=series, x_label=f"Day ({zone})", y_label="People", fmt=number),
        "table": data_table(caption=title, labels=labels, series=series, label_header="Day",
                            fmt=number),
    }


def member_row(row: BucketMembership) -> dict[str, Any]:
    contact = row.contact
    active = row.status == BucketMembership.Status.ACTIVE
    return {
        "row": row, "contact": contact, "active": active,
        "since": times.in_words(row.entered_at if active else row.left_at),
        "entered": times.in_words(row.entered_at),
        "contact_url": reverse("admin:contacts_contact_change", args=[contact.pk]),
    }


def contact_membership_rows(contact: Contact) -> list[dict[str, Any]]:
    """The contact page's "Buckets" section: every bucket the person ever entered,
    active first, with since when, how and how often (one query)."""
    rows = []
    for row in contact_memberships(contact_id=contact.pk):
        bucket = registry.get(row.bucket_id)
        active = row.status == BucketMembership.Status.ACTIVE
        rows.append({
            "row": row, "active": active,
            "name": bucket.name if bucket else f"{row.bucket_id} (no longer in code)",
            "url": (reverse("admin:buckets_bucketoverview_detail", args=[row.bucket_id])
                    if bucket else ""),
            "since": times.in_words(row.entered_at if active else row.left_at),
        })
    return rows


@admin.register(BucketOverview)
class BucketOverviewAdmin(admin.ModelAdmin):
    """The page behind "Buckets" in the admin index."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # manual add/remove has its own permission

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MEMBER_PERMISSION)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("bucket/<str:bucket_id>/", wrap(self.detail_view),
                 name="buckets_bucketoverview_detail"),
            path("bucket/<str:bucket_id>/members/add/", wrap(self.add_member_view),
                 name="buckets_bucketoverview_add_member"),
            path("bucket/<str:bucket_id>/members/remove/", wrap(self.remove_member_view),
                 name="buckets_bucketoverview_remove_member"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title,
                "can_manage": self.has_manage_permission(request),
                "zone": times.staff_zone().key, **extra}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        buckets = sorted(registry, key=lambda bucket: bucket.name.lower())
        rows = [{"bucket": bucket_facts(bucket), "summary": summary} for bucket, summary in
                zip(buckets, bucket_summaries(buckets), strict=True)]
        return TemplateResponse(request, "admin/buckets/overview.html",
                                self._context(request, "Buckets", rows=rows))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: Any = None) -> HttpResponse:
        # A state row's page is its bucket's page.
        return HttpResponseRedirect(
            reverse("admin:buckets_bucketoverview_detail", args=[object_id]))

    def _bucket(self, bucket_id: str) -> Bucket:
        bucket = registry.get(bucket_id)
        if bucket is None:
            raise Http404(f"No bucket {bucket_id!r} in code")
        return bucket

    def detail_view(self, request: HttpRequest, bucket_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        bucket = self._bucket(bucket_id)
        status = request.GET.get("status", "active")
        if status not in STATUS_FILTERS:
            status = "active"
        members = bucket_members(bucket_id=bucket.id, status=None if status == "all" else status)
        page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("p"))
        context = self._context(
            request, bucket.name, bucket=bucket_facts(bucket),
            summary=bucket_summaries([bucket])[0], chart=flow_chart(bucket, Calendar.now()),
            page=page, members=[member_row(row) for row in page.object_list],
            status=status, statuses=STATUS_FILTERS)
        return TemplateResponse(request, "admin/buckets/bucket_detail.html", context)

    def _back(self, bucket_id: str) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:buckets_bucketoverview_detail",
                                            args=[bucket_id]))

    @method_decorator(require_POST)
    def add_member_view(self, request: HttpRequest, bucket_id: str) -> HttpResponse:
        if not self.has_manage_permission(request):
            raise PermissionDenied
        bucket = self._bucket(bucket_id)
        ref = (request.POST.get("person") or "").strip()
        contact = contacts_by_refs(refs=[ref]).get(ref) if ref else None
        if contact is None:
            self.message_user(request, f"Nobody added: no contact {ref!r} (an email, an "
                                       "external id or a contact uuid).", messages.ERROR)
            return self._back(bucket.id)
        self._apply(request, bucket, contact, add=True)
        return self._back(bucket.id)

    @method_decorator(require_POST)
    def remove_member_view(self, request: HttpRequest, bucket_id: str) -> HttpResponse:
        if not self.has_manage_permission(request):
            raise PermissionDenied
        bucket = self._bucket(bucket_id)
        ref = (request.POST.get("contact") or "").strip()
        contact = contacts_by_refs(refs=[ref]).get(ref) if ref else None
        if contact is None:
            self.message_user(request, "Nobody removed: unknown contact.", messages.ERROR)
            return self._back(bucket.id)
        self._apply(request, bucket, contact, add=False)
        return self._back(bucket.id)

    def _apply(self, request: HttpRequest, bucket: Bucket, contact: Contact, *,
               add: bool) -> None:
        service = bucket_membership_add if add else bucket_membership_remove
        try:
            transition = service(bucket_id=bucket.id, contact_id=contact.pk,
                                 actor=request.user.get_username())
        except HogsendError as exc:
            self.message_user(request, f"{contact}: nothing changed ({exc.message}).",
                              messages.ERROR)
            return
        done = "added to" if add else "removed from"
        event = bucket.entered_event if add else bucket.left_event
        emitted = (f"{event} was sent to the journeys" if transition.emitted else
                   f"no {event} (the bucket's entry limit)")
        self.message_user(request, f"{contact} {done} {bucket.name}; {emitted}.")


__all__ = ["BucketOverviewAdmin", "contact_membership_rows", "criteria_html", "criteria_words",
           "duration_words"]
