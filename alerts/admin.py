"""The support queue (alerts), the jobs of on-event handlers, and webhook destinations."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from alerts import destinations
from alerts.destinations import webhook_deliveries_redrive
from alerts.handlers import handlers
from alerts.models import Alert, HandlerJob, WebhookDelivery, WebhookEndpoint
from alerts.selectors import alert_summary
from alerts.services import alert_set_status
from contacts.admin import ContactSearchMixin
from hogsend_site import times
from hogsend_site.admin_tools import (
    BigTableAdminMixin,
    ReadOnlyAdminMixin,
    admin_link,
    html_table,
    pretty_json,
    when,
    zoned,
)
from hogsend_site.labels import alert_kind_label, labelled

HANDLE_PERMISSION = "alerts.change_alert"


@admin.register(Alert)
class AlertAdmin(ContactSearchMixin, BigTableAdminMixin, admin.ModelAdmin):
    """The operator queue: open alerts first, newest first within each status."""

    change_form_template = "admin/alerts/alert/change_form.html"
    list_display = ("title", "kind_label", "status", "contact_link", "run_link", "age")
    list_filter = ("status", "kind", "created_at")
    search_fields = ("=dedupe_key", "=contact__email", "=contact__external_id")
    list_select_related = ("contact", "journey_run")
    raw_id_fields = ("contact", "journey_run", "email_send")
    actions = ("acknowledge", "resolve")
    readonly_fields = ("kind_label", "title", "contact_link", "run_link", "email_send_link",
                       "listed_runs", "payload_pretty", "dedupe_key", "status",
                       "acknowledged_by", "acknowledged_at_zoned", "resolved_by",
                       "resolved_at_zoned", "created_at_zoned", "updated_at_zoned")
    # The summary (the template) and the first fieldsets are for people; the
    # last one sits behind the "Technical details" fold.
    fieldsets = (
        (None, {"fields": ("title", "kind_label", "status")}),
        ("Handling", {"fields": ("acknowledged_by", "acknowledged_at_zoned", "resolved_by",
                                 "resolved_at_zoned")}),
        ("Technical details", {"fields": ("contact_link", "run_link", "email_send_link",
                                          "dedupe_key", "payload_pretty", "created_at_zoned",
                                          "updated_at_zoned")}),
    )
    acknowledged_at_zoned = zoned("acknowledged_at", "acknowledged at")
    resolved_at_zoned = zoned("resolved_at", "resolved at")
    created_at_zoned = zoned("created_at", "raised at")
    updated_at_zoned = zoned("updated_at", "updated at")

    def get_fieldsets(self, request: HttpRequest, obj: Alert | None = None) -> Any:
        if obj is not None and (obj.payload or {}).get("runs"):
            # A stranded-runs alert: its runs are what a person acts on.
            return (self.fieldsets[0], ("Runs", {"fields": ("listed_runs",)}),
                    *self.fieldsets[1:])
        return self.fieldsets

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "",
                           obj: Alert | None = None) -> HttpResponse:
        if obj is not None:
            context.update(summary=alert_summary(obj), staff_zone_name=times.staff_zone().key)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_ordering(self, request: HttpRequest) -> Any:
        # Served by alert_queue_idx (status, kind, created_at).
        rank = Case(When(status=Alert.Status.OPEN, then=Value(0)),
                    When(status=Alert.Status.ACKNOWLEDGED, then=Value(1)),
                    default=Value(2), output_field=IntegerField())
        return (rank.asc(), "-created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are raised by handlers, never typed in

    def has_change_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False  # state changes only through the actions (they record who and when)

    def has_handle_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(HANDLE_PERMISSION)

    def extra_search_q(self, term: str) -> Q:
        return Q(dedupe_key=term)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<int:alert_id>/acknowledge/", wrap(self.acknowledge_view),
                 name="alerts_alert_acknowledge"),
            path("<int:alert_id>/resolve/", wrap(self.resolve_view), name="alerts_alert_resolve"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"can_handle": self.has_handle_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    @method_decorator(require_POST)
    def acknowledge_view(self, request: HttpRequest, alert_id: int) -> HttpResponse:
        return self._button(request, alert_id, Alert.Status.ACKNOWLEDGED)

    @method_decorator(require_POST)
    def resolve_view(self, request: HttpRequest, alert_id: int) -> HttpResponse:
        return self._button(request, alert_id, Alert.Status.RESOLVED)

    def _button(self, request: HttpRequest, alert_id: int, status: str) -> HttpResponse:
        if not self.has_handle_permission(request):
            raise PermissionDenied
        alert = get_object_or_404(Alert, pk=alert_id)
        self._set_status(request, Alert.objects.filter(pk=alert.pk).exclude(status=status),
                         status)
        return HttpResponseRedirect(reverse("admin:alerts_alert_change", args=[alert.pk]))

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: Alert) -> SafeString | str:
        return admin_link(obj.contact)

    @admin.display(description="journey run")
    def run_link(self, obj: Alert) -> SafeString | str:
        return admin_link(obj.journey_run, obj.journey_run and obj.journey_run.journey_id)

    @admin.display(description="kind", ordering="kind")
    def kind_label(self, obj: Alert) -> SafeString:
        return labelled(alert_kind_label(obj.kind), obj.kind)

    @admin.display(description="page email")
    def email_send_link(self, obj: Alert) -> SafeString | str:
        send = obj.email_send
        return admin_link(send, send and f"{send.subject} → {send.to_email}")

    @admin.display(description="age", ordering="created_at")
    def age(self, obj: Alert) -> str:
        return timesince(obj.created_at, timezone.now())

    @admin.display(description="runs listed")
    def listed_runs(self, obj: Alert) -> SafeString | str:
        """A stranded-runs alert names its runs in the payload: link each one."""
        runs = (obj.payload or {}).get("runs") or []
        return html_table(("run", "journey", "status", "why"), (
            (_run_link(item.get("id")), item.get("journeyId", ""), item.get("status", ""),
             item.get("reason", "")) for item in runs if isinstance(item, dict)))

    @admin.display(description="payload")
    def payload_pretty(self, obj: Alert) -> SafeString:
        return pretty_json(obj.payload)

    @admin.action(description="Acknowledge selected alerts", permissions=["handle"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._set_status(request, queryset.filter(status=Alert.Status.OPEN),
                         Alert.Status.ACKNOWLEDGED)

    @admin.action(description="Resolve selected alerts", permissions=["handle"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._set_status(request, queryset.exclude(status=Alert.Status.RESOLVED),
                         Alert.Status.RESOLVED)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Alert], status: str) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        for alert_id in ids:
            alert_set_status(alert_id=alert_id, status=status, actor=request.user.get_username())
        self.message_user(request, f"Marked {len(ids)} alert(s) {status}.")


def _run_link(run_id: Any) -> SafeString | str:
    try:
        url = reverse("admin:journeys_journeyrun_change", args=[run_id])
    except NoReverseMatch:
        return str(run_id or "—")
    return format_html('<a href="{}">{}</a>', url, str(run_id)[:8])


class HandlerFilter(admin.SimpleListFilter):
    """The handlers in code, not a DISTINCT over every job ever stored."""

    title = "handler"
    parameter_name = "handler"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(handlers.by_name)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(handler=self.value()) if self.value() else queryset


@admin.register(HandlerJob)
class HandlerJobAdmin(ContactSearchMixin, ReadOnlyAdminMixin, BigTableAdminMixin,
                      admin.ModelAdmin):
    list_display = ("handler", "event_link", "contact_link", "status", "attempts", "due_at")
    list_filter = ("status", HandlerFilter, "created_at")
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


# --- Outbound destinations (alerts/destinations.py) ------------------------------------


class EventTypesField(forms.CharField):
    """Event types one per line (or comma-separated), stored as a JSON list."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return "\n".join(value or [])

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [part.strip() for part in re.split(r"[,\n]", text) if part.strip()]


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    event_types = EventTypesField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One per line. Empty or * = every catalogue event ("
                  + ", ".join(sorted(destinations.CATALOGUE)) + "). Your own events by name "
                  "(support.followup_answered) or prefix (support.*).")

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "event_types", "disabled")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ("__str__", "url", "kind", "event_types_display", "disabled")
    list_filter = ("disabled", "kind")
    search_fields = ("url", "description")
    ordering = ("-created_at",)
    readonly_fields = ("kind", "secret_masked", "recent_deliveries", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("url", "description", "event_types", "disabled")}),
        ("Signing", {"fields": ("kind", "secret_masked")}),
        ("Recent deliveries", {"fields": ("recent_deliveries",)}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if lookup.split("__")[0] == "secret":
            return False  # no probing the signing secret through changelist filters
        return super().lookup_allowed(lookup, value, request)

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any,
                   change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(request, format_html(
                "Signing secret of {}: <code>{}</code> — copy it now, it is not shown again.",
                obj, obj.secret), messages.WARNING)

    @admin.display(description="event types")
    def event_types_display(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.event_types or []) or "all catalogue events"

    @admin.display(description="signing secret")
    def secret_masked(self, obj: WebhookEndpoint) -> str:
        return f"{obj.secret[:10]}…" if obj.secret else "—"

    @admin.display(description="last 20")
    def recent_deliveries(self, obj: WebhookEndpoint) -> SafeString | str:
        rows = obj.deliveries.order_by("-created_at").defer("payload", "response_body_snippet")
        return html_table(
            ("delivery", "event", "status", "attempts", "response", "created"),
            ((admin_link(d, d.webhook_id), d.event_type, d.status, d.attempts,
              d.response_status or "—", when(d.created_at)) for d in rows[:20]))


class DeliveryEventTypeFilter(admin.SimpleListFilter):
    """The catalogue and the names endpoints subscribe to, not a DISTINCT over deliveries."""

    title = "event type"
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        names = set(destinations.CATALOGUE)
        for types in WebhookEndpoint.objects.values_list("event_types", flat=True):
            names.update(t for t in types or [] if not t.endswith("*"))
        return [(name, name) for name in sorted(names)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(event_type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "event_type", "endpoint_link", "status", "attempts",
                    "response_status")
    list_filter = ("status", DeliveryEventTypeFilter, "endpoint", "created_at")
    search_fields = ("=webhook_id", "=dedupe_key")
    list_select_related = ("endpoint",)
    ordering = ("-created_at",)
    actions = ("redrive",)
    fields = ("webhook_id", "endpoint_link", "event_type", "dedupe_key", "status", "attempts",
              "next_attempt_at", "claimed_until", "last_attempt_at", "response_status",
              "response_body_snippet", "delivered_at", "last_error", "payload_pretty",
              "created_at", "updated_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The changelist never loads bodies; the change page reads them on demand.
        return super().get_queryset(request).defer("payload", "response_body_snippet")

    def has_redrive_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("alerts.change_webhookdelivery")

    @admin.action(description="Re-drive selected failed/discarded deliveries",
                  permissions=["redrive"])
    def redrive(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        moved = webhook_deliveries_redrive(delivery_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"Re-driving {moved} delivery(ies); others were left alone "
                                   "(only failed or discarded ones are re-driven).")

    @admin.display(description="endpoint", ordering="endpoint")
    def endpoint_link(self, obj: WebhookDelivery) -> SafeString | str:
        return admin_link(obj.endpoint)

    @admin.display(description="payload")
    def payload_pretty(self, obj: WebhookDelivery) -> SafeString:
        return pretty_json(obj.payload)
