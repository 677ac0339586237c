"""Re-pointing a merged-away contact's history onto the survivor.

Lives apart from services because it touches every app's tables by name
through the app registry (contacts sits lowest and imports no higher app).
"""

from __future__ import annotations

from django.apps import apps

from contacts.models import Contact

# (app label, model, contact FK field) of every history table.
HISTORY_TABLES = (
    ("contacts", "EmailPreference", "contact"),
    ("tracking", "UserEvent", "contact"),
    ("tracking", "EmailSend", "contact"),
    ("journeys", "JourneyRun", "contact"),
    ("alerts", "Alert", "contact"),
)


def repoint_history(*, from_contact: Contact, to_contact: Contact) -> None:
    for app_label, model_name, field in HISTORY_TABLES:
        model = apps.get_model(app_label, model_name)
        if model_name == "JourneyRun":
            # A live run of the loser for a journey the survivor is also live in
            # would break "one live run per contact and journey": keep the
            # loser's row on the loser (it is soft-deleted; its run finishes).
            live = model.objects.filter(contact=to_contact, status__in=("active", "waiting"))
            busy = set(live.values_list("journey_id", flat=True))
            model.objects.filter(**{field: from_contact}).exclude(
                journey_id__in=busy, status__in=("active", "waiting")
            ).update(**{field: to_contact})
            continue
        model.objects.filter(**{field: from_contact}).update(**{field: to_contact})
