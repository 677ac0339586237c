"""The alerts app's part of a contact erasure (see contacts/erasure.py)."""

from __future__ import annotations

from django.db.models import Q

from alerts.models import Alert
from contacts.erasure import Erasure, eraser
from journeys.models import JourneyRun


@eraser("alerts")
def erase_alerts(erasure: Erasure) -> dict[str, int]:
    """Alerts about the person keep their kind and status; their payload (address,
    comment) is cleared and their title, which names the customer, replaced."""
    runs = JourneyRun.objects.filter(erasure.owned()).values("pk")
    alerts = Alert.objects.filter(Q(contact=erasure.contact) | Q(journey_run__in=runs))
    count = 0
    for alert in alerts.only("pk", "kind"):
        Alert.objects.filter(pk=alert.pk).update(
            payload={}, title=f"[erased] {alert.kind}", updated_at=erasure.now)
        count += 1
    return {"alerts": count}
