"""A confirmation batch whose worker dies does not use up the attempts of the clicks it
never reached (found by `make chaos`: clicks claimed by killed workers three times
ended `skipped`, and their answers were lost)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from tests.tracking.conftest import answer_link
from tracking import semantic
from tracking.models import LinkClick, UserEvent

pytestmark = pytest.mark.django_db
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}


def test_claims_whose_workers_died_cost_no_attempts(client, followup):
    with time_machine.travel(datetime(2026, 6, 17, 12, 0, tzinfo=UTC), tick=False) as clock:
        client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
        for _ in range(5):  # claimed, handed to a worker that was killed, lease expires
            clock.shift(timedelta(seconds=91))
            assert semantic.claim(timezone.now(), 200) != []
        clock.shift(timedelta(seconds=91))
        call_command("run_due", stdout=open("/dev/null", "w"))  # noqa: SIM115
    click = LinkClick.objects.get()
    assert (click.outcome, click.attempts) == ("confirmed", 1)
    assert UserEvent.objects.filter(event="support.followup_answered").count() == 1
