"""Re-pointing a merged-away contact's history onto the survivor.

Lives apart from services because it touches every app's tables. It finds them
through the model registry (every foreign key to `Contact`), so contacts, which
sits lowest, imports no higher app, and a table added later is re-pointed
without being listed here.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from contacts.models import Contact

# Live run statuses (journeys.models.LIVE_STATUSES, by value: no upward import).
LIVE_RUN_STATUSES = ("active", "waiting")


def _contact_foreign_keys() -> list[tuple[type[models.Model], str]]:
    return [
        (rel.related_model, rel.field.name)
        for rel in Contact._meta.related_objects
        if not rel.many_to_many
    ]


def repoint_history(*, from_contact: Contact, to_contact: Contact) -> None:
    for model, field in _contact_foreign_keys():
        rows = model._default_manager.filter(**{field: from_contact})
        if model is apps.get_model("journeys", "JourneyRun"):
            # A live run of the loser for a journey the survivor is also live in
            # would break "one live run per contact and journey": keep the
            # loser's row on the loser (it is soft-deleted; its run finishes).
            live = model.objects.filter(contact=to_contact, status__in=LIVE_RUN_STATUSES)
            busy = set(live.values_list("journey_id", flat=True))
            rows = rows.exclude(journey_id__in=busy, status__in=LIVE_RUN_STATUSES)
        for others in _unique_with(model, field):
            # One row per (contact, ...) (a bucket membership): where the survivor
            # has its own, the loser's stays on the loser (soft-deleted).
            taken = model._default_manager.filter(**{field: to_contact}).values_list(*others)
            for values in taken:
                rows = rows.exclude(**dict(zip(others, values, strict=True)))
        rows.update(**{field: to_contact})


def _unique_with(model: type[models.Model], field: str) -> list[list[str]]:
    """The other fields of each unconditional unique constraint that includes `field`."""
    return [[name for name in constraint.fields if name != field]
            for constraint in model._meta.constraints
            if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
            and field in constraint.fields and len(constraint.fields) > 1]
