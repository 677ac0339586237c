"""Journey runs in the admin: where every enrolment is, its step timeline, its emails,
its answers, the events that moved it; stranded runs; exit and retry.

The run row belongs to the engine: staff never edit it, they act on it through
the actions and the run page's buttons, which call `journey_run_exit` and
`journey_run_retry` (permission: `journeys.change_journeyrun`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from contacts.admin import ContactSearchMixin
from hogsend_site import times
from hogsend_site.admin_tools import (
    BigTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    admin_link,
    html_table,
    pretty_json,
    when,
    zoned,
)
from hogsend_site.errors import HogsendError
from hogsend_site.labels import answer_text, event_label
from journeys.admin_overview import JourneyOverviewAdmin  # noqa: F401  (registers the page)
from journeys.engine.registry import registry
from journeys.models import (
    LIVE_STATUSES,
    JourneyConfig,
    JourneyLog,
    JourneyRun,
    StepRecord,
    StrandedRun,
)
from journeys.selectors import STRANDED_AFTER, stranded_q, stranded_reason, stranded_runs
from journeys.services import journey_config_set, journey_run_exit, journey_run_retry
from journeys.story import RunStory, run_story
from tracking.admin import answer_value, preview_iframe
from tracking.models import CHANGED_SUFFIX, COMMENT_SUFFIX, UserEvent

ACT_PERMISSION = "journeys.change_journeyrun"


def _answer_row_kind(event: UserEvent) -> str:
    if event.event.endswith(COMMENT_SUFFIX):
        return "comment"
    return "changed answer" if event.event.endswith(CHANGED_SUFFIX) else "answer"


class StrandedFilter(admin.SimpleListFilter):
    title = "stranded"
    parameter_name = "stranded"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        hours = int(STRANDED_AFTER.total_seconds() // 3600)
        return [("yes", f"Stranded ({hours} h past deadline, or failed)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() != "yes":
            return queryset
        return queryset.filter(stranded_q(timezone.now()))


class JourneyFilter(admin.SimpleListFilter):
    """The journeys in code, not a DISTINCT over every run ever stored."""

    title = "journey"
    parameter_name = "journey_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return sorted((journey.id, journey.name) for journey in registry)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(journey_id=self.value()) if self.value() else queryset


class StepRecordInline(ReadOnlyInline):
    model = StepRecord
    verbose_name_plural = "step journal"
    fields = ("at", "key", "kind", "done", "value")
    readonly_fields = fields
    ordering = ("at", "id")


class RunActionsMixin:
    """Exit and retry, as changelist actions and as buttons on the run page."""

    def has_act_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(ACT_PERMISSION)

    @admin.action(description="Exit selected live runs", permissions=["act"])
    def exit_runs(self, request: HttpRequest, queryset: QuerySet[JourneyRun]) -> None:
        actor = request.user.get_username()
        self._each(request, queryset.filter(status__in=LIVE_STATUSES), "exited",
                   lambda run_id: journey_run_exit(run_id=run_id, reason=f"admin:{actor}"))

    @admin.action(description="Retry selected failed runs", permissions=["act"])
    def retry_runs(self, request: HttpRequest, queryset: QuerySet[JourneyRun]) -> None:
        self._each(request, queryset.filter(status=JourneyRun.Status.FAILED), "retried",
                   lambda run_id: journey_run_retry(run_id=run_id))

    def _each(self, request: HttpRequest, queryset: QuerySet, verb: str,
              call: Callable[[Any], Any]) -> None:
        done, refused = 0, []
        for run_id in queryset.values_list("pk", flat=True):
            try:
                call(run_id)
                done += 1
            except HogsendError as exc:
                refused.append(f"{str(run_id)[:8]}: {exc.message}")
        self.message_user(request, f"{done} run(s) {verb}.")
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), messages.WARNING)

    def get_urls(self) -> list[Any]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:run_id>/exit/", wrap(self.exit_view), name=f"{prefix}_exit"),
            path("<uuid:run_id>/retry/", wrap(self.retry_view), name=f"{prefix}_retry"),
            *super().get_urls(),
        ]

    def _one(self, request: HttpRequest, run_id: Any, verb: str,
             call: Callable[[], Any]) -> HttpResponse:
        if not self.has_act_permission(request):
            raise PermissionDenied
        get_object_or_404(JourneyRun, pk=run_id)
        try:
            call()
            self.message_user(request, f"Run {str(run_id)[:8]} {verb}.")
        except HogsendError as exc:
            self.message_user(request, f"Run {str(run_id)[:8]} not {verb}: {exc.message}",
                              messages.WARNING)
        # Back to the run's own page (a stranded-run page would be gone once it is handled).
        return HttpResponseRedirect(reverse("admin:journeys_journeyrun_change", args=[run_id]))

    @method_decorator(require_POST)
    def exit_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        reason = f"admin:{request.user.get_username()}"
        return self._one(request, run_id, "exited",
                         lambda: journey_run_exit(run_id=run_id, reason=reason))

    @method_decorator(require_POST)
    def retry_view(self, request: HttpRequest, run_id: Any) -> HttpResponse:
        return self._one(request, run_id, "retried", lambda: journey_run_retry(run_id=run_id))


@admin.register(JourneyRun)
class JourneyRunAdmin(RunActionsMixin, ContactSearchMixin, BigTableAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/journeys/journeyrun/change_form.html"
    list_display = ("short_id", "journey_id", "contact_link", "status", "wake_at", "created_at")
    list_filter = (JourneyFilter, "status", StrandedFilter, "created_at")
    search_fields = ("=id", "=user_key", "=contact__email", "=contact__external_id")
    search_help_text = "Exact run id, user key, email, external id or contact uuid."
    list_select_related = ("contact",)
    raw_id_fields = ("contact", "trigger_event")
    ordering = ("-created_at",)
    actions = ("exit_runs", "retry_runs")
    inlines = (StepRecordInline,)
    # The first fieldset and the story (the template) are for people; every
    # other fieldset and the step journal sit behind the "Technical details" fold.
    fieldsets = (
        (None, {"fields": ("state_summary", "journey_link", "contact_link")}),
        ("Run", {"fields": ("id", "status", "current_step", "user_key", "user_email")}),
        ("Step timeline", {"fields": ("timeline",)}),
        ("Emails and answers", {"fields": ("emails", "answers")}),
        ("Events", {"fields": ("moving_events",)}),
        ("Waiting", {"fields": ("wake_at_zoned", "waiting_event", "wait_deadline_zoned",
                                "claimed_until_zoned", "timezone")}),
        ("Outcome", {"fields": ("error_message", "exit_reason", "completed_at_zoned",
                                "exited_at_zoned")}),
        ("Trigger", {"fields": ("trigger_event_link", "context_pretty", "version_hash",
                                "version_label")}),
        ("Timestamps", {"fields": ("created_at_zoned", "updated_at_zoned")}),
    )
    readonly_fields = (
        "state_summary", "id", "journey_link", "status", "current_step", "contact_link",
        "user_key", "user_email", "timeline", "wake_at_zoned", "waiting_event", "timezone",
        "wait_deadline_zoned", "claimed_until_zoned", "error_message", "exit_reason",
        "completed_at_zoned", "exited_at_zoned", "emails", "answers", "moving_events",
        "trigger_event_link", "context_pretty", "version_hash", "version_label",
        "created_at_zoned", "updated_at_zoned",
    )
    wake_at_zoned = zoned("wake_at", "wake at")
    wait_deadline_zoned = zoned("wait_deadline", "wait deadline")
    claimed_until_zoned = zoned("claimed_until", "claimed until")
    completed_at_zoned = zoned("completed_at", "completed at")
    exited_at_zoned = zoned("exited_at", "exited at")
    created_at_zoned = zoned("created_at", "created at")
    updated_at_zoned = zoned("updated_at", "updated at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs start from events

    def has_change_permission(self, request: HttpRequest, obj: JourneyRun | None = None) -> bool:
        return False  # the engine owns the row; staff use the actions

    def has_delete_permission(self, request: HttpRequest, obj: JourneyRun | None = None) -> bool:
        return False

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"can_act": self.has_act_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "",
                           obj: JourneyRun | None = None) -> HttpResponse:
        if obj is not None:
            context.update(story=story_of(obj), staff_zone_name=times.staff_zone().key)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def extra_search_q(self, term: str) -> Q:
        run_id = _uuid_or_none(term)
        return Q(user_key=term) | (Q(pk=run_id) if run_id else Q())

    @admin.display(description="run", ordering="id")
    def short_id(self, obj: JourneyRun) -> str:
        return str(obj.pk)[:8]

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: JourneyRun) -> SafeString | str:
        return admin_link(obj.contact) if obj.contact_id else obj.user_key

    @admin.display(description="where it is")
    def state_summary(self, obj: JourneyRun) -> SafeString:
        now = timezone.now()
        text = story_of(obj).state
        if JourneyRun.objects.filter(stranded_q(now), pk=obj.pk).exists():
            return format_html("<strong>{}</strong><br>Stranded — {}", text,
                               stranded_reason(obj, now))
        return format_html("<strong>{}</strong>", text)

    @admin.display(description="journey")
    def journey_link(self, obj: JourneyRun) -> SafeString | str:
        if registry.get(obj.journey_id) is None:
            return f"{obj.journey_id} (not in code)"
        url = reverse("admin:journeys_journeyoverview_detail", args=[obj.journey_id])
        return format_html('<a href="{}">{}</a>', url, obj.journey_id)

    @admin.display(description="step timeline")
    def timeline(self, obj: JourneyRun) -> SafeString | str:
        return html_table(
            ("at", "what", "from", "to", "detail"),
            ((when(log.created_at), log.action, log.from_step or "—", log.to_step or "—",
              _detail_text(log.detail)) for log in story_of(obj).logs))

    @admin.display(description="trigger event")
    def trigger_event_link(self, obj: JourneyRun) -> SafeString | str:
        # Kept by id only (no constraint): a pruned trigger event is shown as gone.
        event = story_of(obj).events.get(obj.trigger_event_id) or (
            UserEvent.objects.filter(pk=obj.trigger_event_id).first()
            if obj.trigger_event_id else None)
        if event is None and obj.trigger_event_id:
            return f"#{obj.trigger_event_id} (gone)"
        return admin_link(event, event and f"{event.event} #{event.pk}")

    @admin.display(description="context")
    def context_pretty(self, obj: JourneyRun) -> SafeString:
        return pretty_json(obj.context)

    @admin.display(description="emails sent by this run")
    def emails(self, obj: JourneyRun) -> SafeString | str:
        sends = story_of(obj).sends
        return html_table(
            ("created", "template", "to", "subject", "status", "preview"),
            ((when(s.created_at), admin_link(s, s.template_key), s.to_email, s.subject, s.status,
              format_html("<details><summary>show</summary>{}</details>", preview_iframe(s.html,
                          height=480)) if s.html else "—")
             for s in sends),
        )

    @admin.display(description="answers and comments")
    def answers(self, obj: JourneyRun) -> SafeString | str:
        rows = story_of(obj).answer_rows
        return html_table(
            ("when", "kind", "event", "answer", "comment"),
            ((when(e.occurred_at),
              _answer_row_kind(e),
              event_cell(e), format_html("{} <small>{}</small>", answer_text(
                  e.event, e.properties), answer_value(e.properties)),
              (e.properties or {}).get("comment", "")) for e in rows),
        )

    @admin.display(description="events that started, woke or exited it")
    def moving_events(self, obj: JourneyRun) -> SafeString | str:
        story = story_of(obj)
        return html_table(("log", "at", "event", "source", "occurred"),
                          run_moving_events(obj, story.logs, story.events))


def run_moving_events(run: JourneyRun, logs: list[JourneyLog] | None = None,
                      events: dict[int, UserEvent] | None = None) -> list[tuple[Any, ...]]:
    """Rows for the events named by the run's timeline: the trigger ("entered"),
    the events that woke a wait ("resume") and the exit event ("exited")."""
    if logs is None:
        logs = list(run.logs.order_by("created_at", "id"))
    logs = [log for log in logs if isinstance(log.detail, dict) and log.detail.get("event_id")]
    if events is None:
        events = UserEvent.objects.in_bulk([log.detail["event_id"] for log in logs])
    rows = []
    for log in logs:
        event = events.get(log.detail["event_id"])
        action = log.action + (" (timed out)" if log.detail.get("timed_out") else "")
        if event is None:
            rows.append((action, when(log.created_at), f"#{log.detail['event_id']} (gone)", "",
                         ""))
            continue
        rows.append((action, when(log.created_at), event_cell(event), event.source,
                     when(event.occurred_at)))
    return rows


def event_cell(event: UserEvent) -> SafeString:
    """The event's label, then its raw name and id (linked), small."""
    return format_html("{} <small>{}</small>", event_label(event.event, event.properties),
                       admin_link(event, f"{event.event} #{event.pk}"))


def _detail_text(detail: Any) -> str:
    """A log row's detail on one line ("event=ticket.resolved, event_id=1"); a
    failure's traceback stays in the raw log (JourneyLog admin)."""
    if not isinstance(detail, dict):
        return str(detail or "")
    return ", ".join(f"{key}={value}" for key, value in detail.items() if key != "trace")


def story_of(run: JourneyRun) -> RunStory:
    """The run's story, read once per page (the state line and the template share it)."""
    if getattr(run, "_hs_story", None) is None:
        run._hs_story = run_story(run)
    return run._hs_story


@admin.register(StrandedRun)
class StrandedRunAdmin(JourneyRunAdmin):
    """Runs that need a person: stuck past their deadline, or failed."""

    list_display = ("short_id", "journey_id", "contact_link", "reason", "deadline", "updated_at")
    list_filter = (JourneyFilter, "status")
    ordering = ("updated_at",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return stranded_runs(timezone.now()).select_related("contact")

    @admin.display(description="why it is here")
    def reason(self, obj: JourneyRun) -> str:
        return stranded_reason(obj, timezone.now())

    @admin.display(description="deadline")
    def deadline(self, obj: JourneyRun) -> str:
        return when(obj.wake_at or obj.wait_deadline)


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


class JourneyConfigForm(forms.ModelForm):
    journey_id = forms.ChoiceField(
        choices=lambda: sorted((j.id, f"{j.name} ({j.id})") for j in registry))

    class Meta:
        model = JourneyConfig
        fields = ("journey_id", "enabled")


@admin.register(JourneyConfig)
class JourneyConfigAdmin(admin.ModelAdmin):
    form = JourneyConfigForm
    list_display = ("journey_id", "enabled", "updated_at")
    list_filter = ("enabled",)
    list_editable = ("enabled",)
    search_fields = ("journey_id",)
    readonly_fields = ("created_at", "updated_at")
    fields = ("journey_id", "enabled", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: JourneyConfig | None = None) -> Any:
        return ("journey_id", *self.readonly_fields) if obj else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: JourneyConfig, form: forms.Form,
                   change: bool) -> None:
        # The switch has one write path (the overview page and the API share it).
        saved = journey_config_set(journey_id=obj.journey_id, enabled=obj.enabled,
                                   actor=request.user.get_username())
        obj.pk, obj.created_at, obj.updated_at = saved.pk, saved.created_at, saved.updated_at
        obj._state.adding = False
