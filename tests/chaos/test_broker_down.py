"""With the broker away, the public paths still answer: the database is the source of
truth and the clock finds the work; a failed "run this now" hint is only logged."""

from __future__ import annotations

from io import StringIO
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone

from journeys.models import JourneyRun
from tests.tracking.conftest import answer_link, followup  # noqa: F401  (fixture)
from tracking.models import LinkClick, PendingEvent, UserEvent

pytestmark = pytest.mark.django_db(transaction=True)


def broker_down(*args, **kwargs):
    raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def no_broker():
    cache.clear()
    with mock.patch("django_q.tasks.async_task", side_effect=broker_down), \
            mock.patch("tracking.services.async_task", side_effect=broker_down):
        yield


def test_an_event_is_accepted_and_its_run_left_for_the_clock(api, no_broker, caplog):
    response = api.post("/v1/events", {"name": "ticket.resolved", "userId": "u_b",
                                       "email": "b@example.com",
                                       "eventProperties": {"ticket_id": "T-1"}}, format="json")
    assert response.status_code == 202
    run = JourneyRun.objects.get(journey_id="support-followup")
    assert run.wake_at is not None and run.wake_at <= timezone.now()  # due: the clock takes it
    assert "Connection refused" in caplog.text


def test_a_click_still_redirects(client, followup, no_broker):  # noqa: F811
    no = answer_link(followup, "no")
    response = client.get(f"/v1/t/c/{no.pk}", HTTP_USER_AGENT="Mozilla/5.0")
    assert response.status_code == 302 and response["Location"].endswith(f"/v1/t/a/{no.pk}")
    click = LinkClick.objects.get()
    assert click.confirm_at is not None  # the answer is still confirmed by the clock
    # The per-hit event is a row the clock ingests (once) when the hint is lost.
    assert not UserEvent.objects.filter(event="email.link_clicked").exists()
    assert PendingEvent.objects.count() == 1
    for _ in range(2):
        call_command("run_due", "--inline", stdout=StringIO())
    assert UserEvent.objects.filter(event="email.link_clicked").count() == 1
    assert not PendingEvent.objects.exists()
