"""The shipped operator alerts outlive a provider outage: retries for hours (30 s
doubling, at most 30 min apart), one page in the end, and an alert in the support
console when they finally give up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from unittest import mock

import pytest
import time_machine
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from alerts.models import Alert, HandlerJob
from hogsend_site.due import next_due
from tests.recipes.helpers import run_due, send_event
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=3)


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def customer(api) -> str:
    response = api.put("/v1/contacts", {"userId": "u_ada", "email": "ada@example.com"},
                       format="json")
    assert response.status_code == 200
    return "u_ada"


@pytest.fixture
def provider(mailoutbox) -> Iterator[dict]:
    """The email provider, down until `state["until"]`; `state["tries"]` records calls."""
    state: dict = {"until": NOON, "tries": []}
    real = EmailBackend.send_messages

    def send_messages(backend, messages):
        state["tries"].append(timezone.now())
        if timezone.now() < state["until"]:
            raise ConnectionError("provider unreachable")
        return real(backend, messages)

    with mock.patch.object(EmailBackend, "send_messages", autospec=True,
                           side_effect=send_messages):
        yield state


def drive(clock: time_machine.Coordinates, until: datetime) -> None:
    """Jump from one due time to the next, running the clock each time."""
    for _ in range(100):
        due = next_due()
        if due is None or due > until:
            return
        clock.move_to(max(due, timezone.now()))
        run_due()
    raise AssertionError("the clock never settled")


def reopen_requested(api) -> None:
    send_event(api, "support.reopen_requested", "u_ada",
               {"ticket_id": "T-1", "answeredAt": NOON.isoformat()})


def test_a_page_survives_a_five_minute_provider_outage(api, clock, customer, provider,
                                                        mailoutbox):
    provider["until"] = NOON + GRACE + timedelta(minutes=5)
    reopen_requested(api)
    drive(clock, NOON + timedelta(hours=6))
    # After the grace window: tries 30 s, 1 min, 2 min and 4 min apart.
    assert provider["tries"] == [NOON + GRACE + timedelta(seconds=s)
                                 for s in (0, 30, 90, 210, 450)]
    [page] = mailoutbox
    assert page.to == ["support@example.com"]
    assert page.subject == "[Reopen requested] #T-1 — ada@example.com"
    job = HandlerJob.objects.get()
    assert (job.status, job.attempts) == ("done", 5)
    assert EmailSend.objects.filter(status="failed").count() == 4
    assert EmailSend.objects.filter(status="sent").count() == 1
    assert list(Alert.objects.values_list("kind", flat=True)) == ["reopen_requested"]


def test_a_page_that_never_goes_out_gives_up_after_hours_and_alerts_the_console(
    api, clock, customer, provider, mailoutbox,
):
    provider["until"] = NOON + timedelta(days=7)
    reopen_requested(api)
    drive(clock, NOON + timedelta(days=1))
    tries = provider["tries"]
    gaps = [later - earlier for earlier, later in pairwise(tries)]
    assert gaps == [timedelta(seconds=30 * 2 ** n) for n in range(6)] + [
        timedelta(minutes=30)] * 4
    assert timedelta(hours=2) < tries[-1] - tries[0] < timedelta(hours=3)
    assert mailoutbox == []
    job = HandlerJob.objects.get()
    assert (job.status, job.attempts) == ("failed", 11)
    assert "provider unreachable" in job.last_error
    alert = Alert.objects.get(kind="handler_failed")
    assert alert.contact.external_id == "u_ada" and alert.status == "open"
    assert alert.title == "Not sent: support-alert for support.reopen_requested (ada@example.com)"
    assert alert.payload["jobId"] == job.pk and alert.payload["attempts"] == 11
    assert alert.payload["properties"]["ticket_id"] == "T-1"


def test_a_handler_without_the_policy_keeps_the_plain_backoff(api, clock, customer, provider):
    from alerts.handlers import handlers, on_event

    tries: list[datetime] = []

    def flaky(call):
        tries.append(timezone.now())
        raise ConnectionError("down")

    on_event("thing.happened", name="test-plain", retries=2)(flaky)
    try:
        send_event(api, "thing.happened", "u_ada")
        drive(clock, NOON + timedelta(hours=1))
    finally:
        handlers.remove("test-plain")
    assert tries == [NOON, NOON + timedelta(seconds=30), NOON + timedelta(seconds=90)]
    assert HandlerJob.objects.get().status == "failed"
    assert not Alert.objects.exists()  # only handlers that ask for it open an alert
