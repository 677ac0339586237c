"""The alerts app's part of a contact erasure (see contacts/erasure.py)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Min, Q

from alerts.models import Alert, HandlerJob, WebhookDelivery
from contacts.erasure import Erasure, eraser
from journeys.models import JourneyRun
from tracking.erasure import sends_about_erase
from tracking.models import EmailSend, UserEvent

STRANDED_KIND = "stranded_runs"  # alerts.cron.stranded_runs_check
# Webhook payload keys (alerts/destinations.py's catalogue) holding an id of
# the person's rows.
_RUN_KEYS = ("journeyRunId", "stateId")
# A delivery that has not gone out yet is not sent at all.
_UNSENT = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING)
_CHUNK = 500


@eraser("alerts")
def erase_alerts(erasure: Erasure) -> dict[str, int]:
    """Alerts about the person keep their kind and status; their payload (address,
    comment) is cleared, their title, which names the customer, replaced, and the
    page emailed to the team for them loses its bodies. The hourly stranded-runs
    alerts keep listing the person's runs, under their erased key. Handler jobs
    of their events keep their outcome, scrubbed. Webhook deliveries about them
    lose their payload; those not sent yet are discarded."""
    runs = JourneyRun.objects.filter(erasure.owned()).values("pk")
    sends = EmailSend.objects.filter(erasure.owned()).values("pk")
    events = UserEvent.objects.filter(erasure.owned()).values("pk")
    run_ids = [row["pk"] for row in runs]
    send_ids = [row["pk"] for row in sends]
    jobs = list(HandlerJob.objects.filter(Q(contact_id__in=erasure.contact_ids)
                                          | Q(event__in=events)))
    tied = (Q(contact_id__in=erasure.contact_ids) | Q(journey_run__in=runs)
            | Q(email_send__in=sends)
            | Q(kind="handler_failed", payload__jobId__in=[job.pk for job in jobs]))
    named = erasure.rows_mentioning(Alert.objects.all(), "title", "dedupe_key", "payload")
    alerts = [
        alert for alert in Alert.objects.filter(tied | Q(pk__in=named)).exclude(
            kind=STRANDED_KIND).annotate(tied=ExpressionWrapper(tied, BooleanField()))
        # A row found by its text only is the person's if it names them word for
        # word (a search for "u_ada" also finds "u_adam").
        if alert.tied or erasure.mentions([alert.title, alert.dedupe_key, alert.payload])
    ]
    count, pages = 0, set()
    for alert in alerts:
        fields: dict[str, Any] = {"payload": {}, "title": f"[erased] {alert.kind}",
                                  "updated_at": erasure.now}
        if erasure.mentions(alert.dedupe_key):  # support-alert:<user id>:…
            fields["dedupe_key"] = erasure.pseudonym(alert.dedupe_key)
        Alert.objects.filter(pk=alert.pk).update(**fields)
        if alert.email_send_id:
            pages.add(str(alert.email_send_id))
        count += 1
    stranded = _erase_stranded(erasure, run_ids)
    for job in jobs:
        page = _uuid(job.result.get("emailSendId")) if isinstance(job.result, dict) else None
        if page:
            pages.add(page)
        result, error = erasure.scrub(job.result), erasure.scrub(job.last_error)
        if (result, error) != (job.result, job.last_error):
            HandlerJob.objects.filter(pk=job.pk).update(result=result, last_error=error)
    pages_erased = sends_about_erase(erasure, pages - {str(pk) for pk in send_ids})
    deliveries = _erase_deliveries(erasure, run_ids=run_ids, send_ids=send_ids)
    return {"alerts": count, "stranded_alerts": stranded, "handler_jobs": len(jobs),
            "alert_pages": pages_erased, **deliveries}


def _erase_stranded(erasure: Erasure, run_ids: list[Any]) -> int:
    """The stranded-runs alert lists up to 50 runs with their user key and reason."""
    if not run_ids:
        return 0
    wanted = {str(pk) for pk in run_ids}
    since = JourneyRun.objects.filter(pk__in=run_ids).aggregate(at=Min("created_at"))["at"]
    count = 0
    for alert in Alert.objects.filter(kind=STRANDED_KIND, created_at__gte=since).only(
            "pk", "payload"):
        payload = alert.payload if isinstance(alert.payload, dict) else {}
        items = payload.get("runs") if isinstance(payload.get("runs"), list) else []
        if not any(isinstance(item, dict) and item.get("id") in wanted for item in items):
            continue
        # The reason quotes a failed run's error ("failed: 550 <ada@…>").
        runs = [{**erasure.scrub(item), "userKey": erasure.new_key}
                if isinstance(item, dict) and item.get("id") in wanted else item
                for item in items]
        Alert.objects.filter(pk=alert.pk).update(payload={**payload, "runs": runs},
                                                 updated_at=erasure.now)
        count += 1
    return count


def _erase_deliveries(erasure: Erasure, *, run_ids: list[Any],
                      send_ids: list[Any]) -> dict[str, int]:
    """Deliveries whose payload is about the person: by their user id or contact
    id, by the id of one of their sends or runs, or naming their address."""
    tied = (Q(payload__userId__in=sorted(erasure.keys | {erasure.new_key}))
            | Q(payload__contactId__in=[str(pk) for pk in erasure.contact_ids]))
    for chunk in _chunks([str(pk) for pk in send_ids]):
        tied |= Q(payload__emailSendId__in=chunk)
    for chunk in _chunks([str(pk) for pk in run_ids]):
        for key in _RUN_KEYS:
            tied |= Q(**{f"payload__{key}__in": chunk})
    named = erasure.rows_mentioning(WebhookDelivery.objects.all(), "payload",
                                    terms=sorted(erasure.emails))
    rows = WebhookDelivery.objects.filter(tied | Q(pk__in=named)).exclude(
        payload={"erased": True}).annotate(tied=ExpressionWrapper(tied, BooleanField()))
    ids = [pk for pk, is_tied, payload in rows.values_list("pk", "tied", "payload")
           if is_tied or erasure.mentions(payload)]
    if not ids:
        return {"webhook_deliveries": 0, "webhook_deliveries_discarded": 0}
    discarded = WebhookDelivery.objects.filter(pk__in=ids, status__in=_UNSENT).update(
        status=WebhookDelivery.Status.DISCARDED, next_attempt_at=None, claimed_until=None,
        last_error="contact erased", updated_at=erasure.now)
    for pk, error in WebhookDelivery.objects.filter(pk__in=ids).values_list("pk", "last_error"):
        if erasure.mentions(error):
            WebhookDelivery.objects.filter(pk=pk).update(last_error=erasure.scrub(error))
    # The receiver's answer may echo what it was sent.
    erased = WebhookDelivery.objects.filter(pk__in=ids).update(
        payload={"erased": True}, response_body_snippet="", updated_at=erasure.now)
    return {"webhook_deliveries": erased, "webhook_deliveries_discarded": discarded}


def _uuid(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value))) if value else None
    except ValueError:
        return None


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[i:i + _CHUNK] for i in range(0, len(values), _CHUNK)]
