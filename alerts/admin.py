"""The support queue (alerts) and the jobs of on-event handlers."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from alerts.models import Alert, HandlerJob
from alerts.services import alert_set_status
from contacts.admin import ContactSearchMixin
from hogsend_site.admin_tools import (
    BigTableAdminMixin,
    ReadOnlyAdminMixin,
    admin_link,
    pretty_json,
)


@admin.register(Alert)
class AlertAdmin(ContactSearchMixin, BigTableAdminMixin, admin.ModelAdmin):
    list_display = ("title", "kind", "status", "contact_link", "run_link", "created_at",
                    "acknowledged_by", "resolved_by")
    list_filter = ("status", "kind", "created_at")
    search_fields = ("=dedupe_key", "=contact__email", "=contact__external_id")
    list_select_related = ("contact", "journey_run")
    raw_id_fields = ("contact", "journey_run", "email_send")
    ordering = ("-created_at",)
    actions = ("acknowledge", "resolve")
    readonly_fields = ("kind", "title", "contact_link", "run_link", "email_send",
                       "payload_pretty", "dedupe_key", "status", "acknowledged_by",
                       "acknowledged_at", "resolved_by", "resolved_at", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("title", "kind", "status", "dedupe_key")}),
        ("About", {"fields": ("contact_link", "run_link", "email_send", "payload_pretty")}),
        ("Handling", {"fields": ("acknowledged_by", "acknowledged_at", "resolved_by",
                                 "resolved_at", "created_at", "updated_at")}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by handlers, never typed in

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False  # state changes only through the actions (they record who and when)

    def extra_search_q(self, term: str) -> Q:
        return Q(dedupe_key=term)

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: Alert) -> SafeString | str:
        return admin_link(obj.contact)

    @admin.display(description="journey run")
    def run_link(self, obj: Alert) -> SafeString | str:
        return admin_link(obj.journey_run, obj.journey_run and obj.journey_run.journey_id)

    @admin.display(description="payload")
    def payload_pretty(self, obj: Alert) -> SafeString:
        return pretty_json(obj.payload)

    @admin.action(description="Acknowledge selected alerts")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._set_status(request, queryset.filter(status=Alert.Status.OPEN),
                         Alert.Status.ACKNOWLEDGED)

    @admin.action(description="Resolve selected alerts")
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._set_status(request, queryset.exclude(status=Alert.Status.RESOLVED),
                         Alert.Status.RESOLVED)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Alert], status: str) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        for alert_id in ids:
            alert_set_status(alert_id=alert_id, status=status, actor=request.user.get_username())
        self.message_user(request, f"Marked {len(ids)} alert(s) {status}.")


@admin.register(HandlerJob)
class HandlerJobAdmin(ContactSearchMixin, ReadOnlyAdminMixin, BigTableAdminMixin,
                      admin.ModelAdmin):
    list_display = ("handler", "event_link", "contact_link", "status", "attempts", "due_at",
                    "created_at")
    list_filter = ("status", "handler", "created_at")
    search_fields = ("=contact__email", "=contact__external_id")
    list_select_related = ("event", "contact")
    raw_id_fields = ("event", "contact")
    ordering = ("-created_at",)
    fields = ("handler", "event_link", "contact_link", "status", "attempts", "due_at",
              "claimed_until", "result_pretty", "last_error", "created_at", "updated_at")
    readonly_fields = fields

    @admin.display(description="event")
    def event_link(self, obj: HandlerJob) -> SafeString | str:
        return admin_link(obj.event, f"{obj.event.event} #{obj.event_id}")

    @admin.display(description="contact")
    def contact_link(self, obj: HandlerJob) -> SafeString | str:
        return admin_link(obj.contact)

    @admin.display(description="result")
    def result_pretty(self, obj: HandlerJob) -> SafeString:
        return pretty_json(obj.result)
