"""Replays must take the path the first execution took (found while writing the recipes).

A run that resumes replays its function from the top; what it decided the
first time through (a guard verdict, a memo, the run's timezone) must neither
change its path nor the keys of its later side effects.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from contacts.models import Contact
from contacts.preferences import preference_update
from journeys.engine import days, define_journey, hours
from journeys.models import JourneyRun
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(db) -> Contact:
    return Contact.objects.create(external_id="u1", email="u1@example.com")


def test_an_unsubscribe_after_the_send_does_not_rewrite_the_path_already_taken(register, customer):
    @define_journey(id="ask", name="Ask", trigger="go")
    def ask(user, ctx):
        if not ctx.guard.is_subscribed():
            return
        ctx.send("support/followup")
        answer = ctx.wait_for_event(event="answered", timeout=days(1), label="await")
        if not answer.timed_out:
            ctx.trigger(event="answer.seen")

    register(ask)
    with time_machine.travel(datetime(2026, 6, 16, 9, 0, tzinfo=UTC), tick=False):
        ingest("go")
        run_due()
        preference_update(
            contact=customer, email=customer.email, unsubscribed_all=True, source="api"
        )
        ingest("answered")
        run_due()
    assert UserEvent.objects.filter(event="answer.seen").exists()


@pytest.mark.parametrize("memo", ["once", "when"])
def test_a_replay_after_a_memo_and_a_send_sends_nothing_again(register, customer, memo):
    @define_journey(id="memo", name="Memo", trigger="go")
    def memo_then_send(user, ctx):
        ctx.sleep(hours(1), label="pause")
        if memo == "once":
            ctx.once("coupon", lambda: "SPRING-10")
        else:
            ctx.when.next_local("09:00")  # the run's timezone is recorded at first use
        ctx.send("feedback/referral-ask")
        ctx.wait_for_event(event="poke", timeout=days(1), label="await-poke")

    register(memo_then_send)
    with time_machine.travel(datetime(2026, 6, 16, 9, 0, tzinfo=UTC), tick=False) as clock:
        ingest("go")
        run_due()
        clock.shift(hours(1))
        run_due()
        assert EmailSend.objects.filter(status="sent").count() == 1
        clock.shift(timedelta(minutes=5))
        ingest("poke")
        run_due()
    assert JourneyRun.objects.get().status == "completed"
    assert EmailSend.objects.filter(status="sent").count() == 1
