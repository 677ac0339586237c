"""Replays must take the path the first execution took (found while writing the recipes).

Each test here fails on the engine as it stands and names the fix in its
xfail reason; drop the marker when the fix lands (strict: an unexpected pass
fails the suite as a reminder).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from contacts.models import Contact
from contacts.services import preference_update
from journeys.engine import days, define_journey, hours, send_email
from journeys.models import JourneyRun
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db

GUARD_NOT_JOURNALED = (
    "ctx.guard.is_subscribed() is a live read on every replay: a run that sent, then "
    "waits, replays the guard after the person unsubscribed and ends before the branch "
    "after the wait. Fix: journal the verdict per call site (RunContext.guard records it "
    "once under a default key 'guard:is-subscribed#<n>')."
)
RECORD_ONCE_MOVES_THE_SITE = (
    "record_once() (ctx.once, the run's timezone at the first ctx.when) moves "
    "current_label and the clock when it computes but not when it replays, so the next "
    "side effect without an idempotency_label derives another key on replay and is sent "
    "again. Fix: record_once writes its row without calling replay() (a memo is not a "
    "site and does not tick the clock), on both paths."
)


@pytest.fixture
def customer(db) -> Contact:
    return Contact.objects.create(external_id="u1", email="u1@example.com")



def test_an_unsubscribe_after_the_send_does_not_rewrite_the_path_already_taken(register, customer):
    @define_journey(id="ask", name="Ask", trigger={"event": "go"})
    def ask(user, ctx):
        if not ctx.guard.is_subscribed():
            return
        send_email(to=user.email, template="support/followup")
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
    @define_journey(id="memo", name="Memo", trigger={"event": "go"})
    def memo_then_send(user, ctx):
        ctx.sleep(hours(1), label="pause")
        if memo == "once":
            ctx.once("coupon", lambda: "SPRING-10")
        else:
            ctx.when.next_local("09:00")  # the run's timezone is recorded at first use
        send_email(to=user.email, template="feedback/referral-ask")
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
