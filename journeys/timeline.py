"""The contact page's timeline rows from this app: the person's journey runs,
each at its enrolment with where it stands now (registered from JourneysConfig.ready)."""

from __future__ import annotations

from django.urls import reverse

from contacts.models import Contact
from contacts.timeline import TimelineEntry, register_timeline_source
from hogsend_site import labels, times
from journeys.engine.registry import registry
from journeys.models import JourneyRun


def runs(contact: Contact, limit: int) -> list[TimelineEntry]:
    zone = times.zone_or_none(contact.timezone)
    rows = JourneyRun.objects.filter(contact=contact).order_by("-created_at", "-pk")[:limit]
    entries = []
    for run in rows:
        journey = registry.get(run.journey_id)
        state = labels.run_state_label(
            status=run.status, waiting_event=run.waiting_event, wake_at=run.wake_at,
            wait_deadline=run.wait_deadline, completed_at=run.completed_at,
            exited_at=run.exited_at, exit_reason=run.exit_reason,
            error_message=run.error_message, customer_zone=zone)
        entries.append(TimelineEntry(
            at=run.created_at, kind="run",
            title=f"Entered the journey “{journey.name if journey else run.journey_id}”",
            raw=run.journey_id,
            url=reverse("admin:journeys_journeyrun_change", args=[run.pk]),
            details=(f"Now: {state}",),
        ))
    return entries


def register() -> None:
    register_timeline_source("runs", runs)
