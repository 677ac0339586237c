"""Journey runs in the admin: where every enrolment is, its step timeline, its emails."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString

from contacts.admin import ContactSearchMixin
from hogsend_site.admin_tools import (
    BigTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    admin_link,
    html_table,
    pretty_json,
    when,
)
from hogsend_site.errors import HogsendError
from journeys.engine.registry import registry
from journeys.models import LIVE_STATUSES, JourneyConfig, JourneyLog, JourneyRun, StepRecord
from journeys.services import journey_run_exit, journey_run_retry
from tracking.models import EmailSend

# DESIGN decision 13: a live run whose wake time passed more than this long ago
# is "stranded" (the clock should have woken it within seconds).
STRANDED_AFTER = timedelta(hours=1)


class StrandedFilter(admin.SimpleListFilter):
    title = "stranded"
    parameter_name = "stranded"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Waiting more than 1h past wake_at")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() != "yes":
            return queryset
        # Served by run_due_idx (wake_at, partial on live statuses).
        return queryset.filter(status__in=LIVE_STATUSES,
                               wake_at__lt=timezone.now() - STRANDED_AFTER)


class JourneyFilter(admin.SimpleListFilter):
    """The journeys in code, not a DISTINCT over every run ever stored."""

    title = "journey"
    parameter_name = "journey_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted((journey.id, journey.name) for journey in registry)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(journey_id=self.value()) if self.value() else queryset


class JourneyLogInline(ReadOnlyInline):
    model = JourneyLog
    verbose_name_plural = "timeline"
    fields = ("created_at", "action", "from_step", "to_step", "detail")
    readonly_fields = fields
    ordering = ("created_at", "id")


class StepRecordInline(ReadOnlyInline):
    model = StepRecord
    verbose_name_plural = "step journal"
    fields = ("at", "key", "kind", "done", "value")
    readonly_fields = fields
    ordering = ("at", "id")


@admin.register(JourneyRun)
class JourneyRunAdmin(ContactSearchMixin, BigTableAdminMixin, admin.ModelAdmin):
    list_display = ("short_id", "journey_id", "contact_link", "status", "current_step",
                    "wake_at", "waiting_event", "created_at")
    list_filter = (JourneyFilter, "status", StrandedFilter, "created_at")
    search_fields = ("=id", "=user_key", "=contact__email", "=contact__external_id")
    search_help_text = "Exact run id, user key, email, external id or contact uuid."
    list_select_related = ("contact",)
    raw_id_fields = ("contact", "trigger_event")
    ordering = ("-created_at",)
    actions = ("exit_runs", "retry_runs")
    inlines = (JourneyLogInline, StepRecordInline)
    fieldsets = (
        (None, {"fields": ("id", "journey_id", "status", "current_step", "contact_link",
                           "user_key", "user_email")}),
        ("Waiting", {"fields": ("wake_at", "waiting_event", "wait_deadline", "claimed_until")}),
        ("Outcome", {"fields": ("error_message", "exit_reason", "completed_at", "exited_at")}),
        ("Trigger", {"fields": ("trigger_event_link", "context_pretty", "version_hash",
                                "version_label")}),
        ("Emails", {"fields": ("emails",)}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = (
        "id", "journey_id", "status", "current_step", "contact_link", "user_key", "user_email",
        "wake_at", "waiting_event", "wait_deadline", "claimed_until", "error_message",
        "exit_reason", "completed_at", "exited_at", "trigger_event_link", "context_pretty",
        "version_hash", "version_label", "emails", "created_at", "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs start from events

    def has_change_permission(self, request: HttpRequest, obj: JourneyRun | None = None) -> bool:
        return False  # the engine owns the row; staff use the actions

    def has_delete_permission(self, request: HttpRequest, obj: JourneyRun | None = None) -> bool:
        return False

    def extra_search_q(self, term: str) -> Q:
        run_id = _uuid_or_none(term)
        return Q(user_key=term) | (Q(pk=run_id) if run_id else Q())

    @admin.display(description="run", ordering="id")
    def short_id(self, obj: JourneyRun) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: JourneyRun) -> SafeString | str:
        return admin_link(obj.contact) if obj.contact_id else obj.user_key

    @admin.display(description="trigger event")
    def trigger_event_link(self, obj: JourneyRun) -> SafeString | str:
        event = obj.trigger_event
        return admin_link(event, event and f"{event.event} #{event.pk}")

    @admin.display(description="context")
    def context_pretty(self, obj: JourneyRun) -> SafeString:
        return pretty_json(obj.context)

    @admin.display(description="emails sent by this run")
    def emails(self, obj: JourneyRun) -> SafeString | str:
        sends = EmailSend.objects.filter(journey_run_id=obj.pk).order_by("created_at").only(
            "id", "created_at", "template_key", "to_email", "subject", "status")
        return html_table(
            ("created", "template", "to", "subject", "status"),
            ((when(s.created_at), admin_link(s, s.template_key), s.to_email, s.subject, s.status)
             for s in sends),
        )

    @admin.action(description="Exit selected live runs")
    def exit_runs(self, request: HttpRequest, queryset: QuerySet[JourneyRun]) -> None:
        actor = request.user.get_username()
        self._each(request, queryset.filter(status__in=LIVE_STATUSES), "exited",
                   lambda run_id: journey_run_exit(run_id=run_id, reason=f"admin:{actor}"))

    @admin.action(description="Retry selected failed runs")
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[JourneyRun]) -> None:
        self._each(request, queryset.filter(status=JourneyRun.Status.FAILED), "retried",
                   lambda run_id: journey_run_retry(run_id=run_id))

    def _each(self, request: HttpRequest, queryset: QuerySet, verb: str, call: Any) -> None:
        done, refused = 0, []
        for run_id in queryset.values_list("pk", flat=True):
            try:
                call(run_id)
                done += 1
            except HogsendError as exc:
                refused.append(f"{str(run_id)[:8]}: {exc.message}")
        self.message_user(request, f"{done} run(s) {verb}.")
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), level="warning")


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        return None


class RunLinkMixin:
    """Timeline tables: a link to the run, and search by exact run id (or step key)."""

    search_step_key = False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        run_id = _uuid_or_none(term)
        query = Q(run_id=run_id) if run_id else Q(pk__in=[])
        if self.search_step_key:
            query |= Q(key=term)
        return queryset.filter(query), False

    @admin.display(description="run", ordering="run")
    def run_link(self, obj: Any) -> SafeString | str:
        return admin_link(obj.run, f"{obj.run.journey_id} · {str(obj.run_id)[:8]}")


@admin.register(JourneyLog)
class JourneyLogAdmin(RunLinkMixin, ReadOnlyAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "run_link", "action", "from_step", "to_step")
    list_filter = ("action", "created_at")
    search_fields = ("=run__id",)
    list_select_related = ("run",)
    raw_id_fields = ("run",)
    ordering = ("-created_at", "-id")
    fields = ("created_at", "run_link", "action", "from_step", "to_step", "detail_pretty")
    readonly_fields = fields

    @admin.display(description="detail")
    def detail_pretty(self, obj: JourneyLog) -> SafeString:
        return pretty_json(obj.detail)


@admin.register(StepRecord)
class StepRecordAdmin(RunLinkMixin, ReadOnlyAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    list_display = ("at", "run_link", "key", "kind", "done")
    list_filter = ("done",)
    search_fields = ("=run__id", "=key")
    search_step_key = True
    list_select_related = ("run",)
    raw_id_fields = ("run",)
    ordering = ("-at", "-id")
    fields = ("at", "run_link", "key", "kind", "done", "value_pretty")
    readonly_fields = fields

    @admin.display(description="value")
    def value_pretty(self, obj: StepRecord) -> SafeString:
        return pretty_json(obj.value)


@admin.register(JourneyConfig)
class JourneyConfigAdmin(admin.ModelAdmin):
    list_display = ("journey_id", "enabled", "updated_at")
    list_filter = ("enabled",)
    list_editable = ("enabled",)
    search_fields = ("journey_id",)
    readonly_fields = ("created_at", "updated_at")
    fields = ("journey_id", "enabled", "created_at", "updated_at")
