"""The journeys overview: every journey in code with its runs by status, its answer
rate and its on/off switch; a page per journey; and manual enrolment.

The rows come from the registry, not from a table. Writes go through
`journey_config_set` (the switch, permission `journeys.change_journeyconfig`)
and `journey_enroll_manual` (enrolment, permission `journeys.change_journeyrun`),
which ingests the trigger event so every guard applies.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from contacts.selectors import contacts_by_refs
from hogsend_site.errors import HogsendError
from journeys.engine.definition import Journey
from journeys.engine.registry import registry
from journeys.models import JourneyOverview
from journeys.selectors import journey_answer_stats, journey_overrides, journey_run_counts
from journeys.services import MANUAL_ENROLL_MAX, journey_config_set, journey_enroll_manual

SWITCH_PERMISSION = "journeys.change_journeyconfig"
ENROL_PERMISSION = "journeys.change_journeyrun"
# Answer-rate windows offered on the page (days; 0 = all time).
WINDOWS = (7, 30, 90, 0)
DEFAULT_WINDOW = 30
STATUSES = ("active", "waiting", "completed", "exited", "failed", "held_out")
STATUS_LABELS = [status.replace("_", " ") for status in STATUSES]
# How many names a skip-reason message lists before "and N more".
NAMES_SHOWN = 10


def _window(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", DEFAULT_WINDOW))
    except ValueError:
        return DEFAULT_WINDOW
    return days if days in WINDOWS else DEFAULT_WINDOW


def journey_facts(journey: Journey) -> dict[str, Any]:
    """The definition as plain data: a `Journey` is callable, and templates call
    callables instead of reading them."""
    return {
        "id": journey.id, "name": journey.name, "description": journey.description,
        "enabled": journey.enabled, "trigger_event": journey.trigger_event,
        "trigger_where": journey.trigger_where, "entry_limit": journey.entry_limit,
        "entry_period": journey.effective_entry_period, "suppress": journey.suppress,
        "exit_events": sorted(journey.exit_events), "holdout_percent": journey.holdout_percent,
        "version": journey.version, "version_hash": journey.version_hash,
        "source": journey.source,
    }


def journey_rows(journeys: list[Journey], *, days: int) -> list[dict[str, Any]]:
    """One row per journey: switch state, runs per status, sends and answers.

    Three queries whatever the number of journeys: overrides, run counts
    (one aggregate), answer stats (one aggregate)."""
    ids = [journey.id for journey in journeys]
    overrides = journey_overrides()
    counts = journey_run_counts(journey_ids=ids)
    since = timezone.now() - timedelta(days=days) if days else None
    stats = journey_answer_stats(journey_ids=ids, since=since)
    runs_url = reverse("admin:journeys_journeyrun_changelist")
    rows = []
    for journey in journeys:
        sends, answers = stats[journey.id]["sends"], stats[journey.id]["answers"]
        rows.append({
            "journey": journey_facts(journey),
            "admin_enabled": overrides.get(journey.id, True),
            "enabled": journey.enabled and overrides.get(journey.id, True),
            "counts": [(status, counts[journey.id].get(status, 0),
                        f"{runs_url}?journey_id={journey.id}&status__exact={status}")
                       for status in STATUSES],
            "total": sum(counts[journey.id].values()),
            "sends": sends,
            "answers": answers,
            "rate": f"{100 * answers / sends:.1f}%" if sends else "—",
        })
    return rows


class EnrolForm(forms.Form):
    journey = forms.ChoiceField(
        choices=lambda: sorted((j.id, f"{j.name} ({j.id})") for j in registry))
    people = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text=f"One per line (or separated by commas): an email, an external id or a "
                  f"contact uuid. Up to {MANUAL_ENROLL_MAX}. Only existing contacts are "
                  "enrolled; nobody is created.")
    properties = forms.JSONField(
        required=False, initial=dict,
        help_text='The trigger event\'s properties (the journey reads them as '
                  'user.properties), e.g. {"ticket_id": "T-9"}.')

    def clean_people(self) -> list[str]:
        parts = re.split(r"[\n,;]", self.cleaned_data["people"])
        refs = list(dict.fromkeys(part.strip() for part in parts if part.strip()))
        if not refs:
            raise forms.ValidationError("Name at least one person.")
        if len(refs) > MANUAL_ENROLL_MAX:
            raise forms.ValidationError(
                f"At most {MANUAL_ENROLL_MAX} people at once ({len(refs)} given).")
        return refs

    def clean_properties(self) -> dict[str, Any]:
        value = self.cleaned_data.get("properties") or {}
        if not isinstance(value, dict):
            raise forms.ValidationError('A JSON object, e.g. {"ticket_id": "T-9"}.')
        return value


@admin.register(JourneyOverview)
class JourneyOverviewAdmin(admin.ModelAdmin):
    """The page behind "Journeys overview" in the admin index."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the switch and enrolment have their own permissions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_switch_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SWITCH_PERMISSION)

    def has_enrol_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ENROL_PERMISSION)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("journey/<str:journey_id>/", wrap(self.detail_view),
                 name="journeys_journeyoverview_detail"),
            path("journey/<str:journey_id>/switch/", wrap(self.switch_view),
                 name="journeys_journeyoverview_switch"),
            path("enrol/", wrap(self.enrol_view), name="journeys_journeyoverview_enrol"),
            *super().get_urls(),
        ]

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.opts, "title": title,
                "can_switch": self.has_switch_permission(request),
                "can_enrol": self.has_enrol_permission(request), **extra}

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        days = _window(request)
        journeys = sorted(registry, key=lambda journey: journey.name.lower())
        context = self._context(request, "Journeys", rows=journey_rows(journeys, days=days),
                                statuses=STATUS_LABELS, days=days, windows=WINDOWS)
        return TemplateResponse(request, "admin/journeys/overview.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: Any = None) -> HttpResponse:
        # A JourneyConfig row's page is its journey's page.
        config = self.get_object(request, object_id)
        if config is None:
            raise Http404
        return HttpResponseRedirect(
            reverse("admin:journeys_journeyoverview_detail", args=[config.journey_id]))

    def detail_view(self, request: HttpRequest, journey_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        journey = registry.get(journey_id)
        if journey is None:
            raise Http404(f"No journey {journey_id!r} in code")
        days = _window(request)
        [row] = journey_rows([journey], days=days)
        context = self._context(request, journey.name, row=row, journey=row["journey"], days=days,
                                windows=WINDOWS)
        return TemplateResponse(request, "admin/journeys/journey_detail.html", context)

    @method_decorator(require_POST)
    def switch_view(self, request: HttpRequest, journey_id: str) -> HttpResponse:
        if not self.has_switch_permission(request):
            raise PermissionDenied
        enabled = request.POST.get("enabled") == "1"
        try:
            journey_config_set(journey_id=journey_id, enabled=enabled,
                               actor=request.user.get_username())
        except HogsendError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(request, f"{journey_id} turned {'on' if enabled else 'off'} "
                                       "(new enrolments only; live runs carry on).")
        back = reverse("admin:journeys_journeyoverview_changelist")
        if request.POST.get("next") == "detail":
            back = reverse("admin:journeys_journeyoverview_detail", args=[journey_id])
        return HttpResponseRedirect(back)

    def enrol_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_enrol_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = EnrolForm(request.POST)
            if form.is_valid():
                self._enrol(request, form.cleaned_data)
                return HttpResponseRedirect(request.get_full_path())
        else:
            form = EnrolForm(initial={"journey": request.GET.get("journey", ""),
                                      "people": request.GET.get("people", ""),
                                      "properties": {}})
        context = self._context(request, "Enrol people in a journey", form=form,
                                limit=MANUAL_ENROLL_MAX)
        return TemplateResponse(request, "admin/journeys/enrol.html", context)

    def _enrol(self, request: HttpRequest, data: dict[str, Any]) -> None:
        refs, journey_id = data["people"], data["journey"]
        found = contacts_by_refs(refs=refs)
        missing = [ref for ref in refs if ref not in found]
        results = []
        if found:
            users = [{"contact_id": found[ref].pk, "properties": data["properties"]}
                     for ref in refs if ref in found]
            try:
                results = journey_enroll_manual(journey_id=journey_id, users=users,
                                                actor=request.user.get_username())
            except HogsendError as exc:
                self.message_user(request, f"Nobody enrolled: {exc.message}", messages.ERROR)
                return
        for level, text in enrol_summary(journey_id, [r for r in refs if r in found], results,
                                         missing):
            self.message_user(request, text, level)


def enrol_summary(journey_id: str, refs: list[str], results: list[Any],
                  missing: list[str]) -> list[tuple[int, str]]:
    """One success line, then one line per skip reason naming who it applied to."""
    enrolled = [ref for ref, result in zip(refs, results, strict=True)
                if result.status == "enrolled"]
    skipped: dict[str, list[str]] = defaultdict(list)
    for ref, result in zip(refs, results, strict=True):
        if result.status != "enrolled":
            skipped[result.reason or result.status].append(ref)
    if missing:
        skipped["no such contact"] = missing
    total = len(refs) + len(missing)
    summary = [(messages.SUCCESS if enrolled else messages.INFO,
                f"Enrolled {len(enrolled)} of {total} in {journey_id}.")]
    summary += [(messages.WARNING, f"Skipped {len(names)} — {reason}: {_names(names)}")
                for reason, names in sorted(skipped.items())]
    return summary


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


__all__ = ["JourneyOverviewAdmin", "enrol_summary", "journey_rows"]
