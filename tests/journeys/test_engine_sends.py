"""Journey-side sends (ctx.send): derived keys, exactly-once replays, exits, provider outages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings

from contacts.models import Contact
from journeys.engine import days, define_journey, hours, minutes, send_email
from journeys.models import JourneyRun
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db


class FlakyBackend:
    """An email backend whose provider is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("provider unreachable")


@pytest.fixture
def customer(db) -> Contact:
    return Contact.objects.create(external_id="u1", email="u1@example.com")


def make_mailer(**meta):
    @define_journey(
        id="mailer", name="Mailer", trigger="go", exit_on=["stop"], **meta
    )
    def mailer(user, ctx):
        ctx.send("feedback/referral-ask")
        ctx.sleep(hours(1), label="pause")
        ctx.send("feedback/referral-ask")

    return mailer


def test_a_run_sends_under_its_derived_key_and_a_replay_sends_nothing(register, clock, customer):
    register(make_mailer())
    ingest("go")
    run_due()
    run = JourneyRun.objects.get()
    send = EmailSend.objects.get()
    assert (
        send.idempotency_key == f"journeySend:{run.pk}:feedback/referral-ask:feedback/referral-ask"
    )
    assert send.journey_run_id == run.pk
    assert len(mail.outbox) == 1
    clock.shift(hours(1))
    run_due()
    keys = set(EmailSend.objects.values_list("idempotency_key", flat=True))
    assert f"journeySend:{run.pk}:pause:feedback/referral-ask" in keys
    assert len(mail.outbox) == 2
    JourneyRun.objects.filter(pk=run.pk).update(status="active", wake_at=run.created_at)
    run_due()
    assert len(mail.outbox) == 2


def test_the_same_template_twice_at_one_site_fails_loudly(register, clock, customer):
    @define_journey(id="double", name="Double", trigger="go")
    def double(user, ctx):
        ctx.send("feedback/referral-ask")
        ctx.send("feedback/referral-ask")

    register(double)
    ingest("go")
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "failed"
    assert "idempotency_label" in run.error_message
    assert len(mail.outbox) == 1


def test_distinct_idempotency_labels_send_both(register, clock, customer):
    @define_journey(id="labelled", name="Labelled", trigger="go")
    def labelled(user, ctx):
        ctx.send("feedback/referral-ask", idempotency_label="a")
        ctx.send("feedback/referral-ask", idempotency_label="b")

    register(labelled)
    ingest("go")
    run_due()
    assert len(mail.outbox) == 2


def test_a_run_that_exits_mid_execution_sends_nothing_more(register, clock, customer):
    @define_journey(
        id="quitter", name="Quitter", trigger="go", exit_on=["stop"]
    )
    def quitter(user, ctx):
        ctx.trigger(event="stop")
        ctx.send("feedback/referral-ask")

    register(quitter)
    ingest("go")
    run_due()
    assert JourneyRun.objects.get().status == "exited"
    assert mail.outbox == []


def test_a_provider_outage_parks_the_run_and_the_email_goes_out_once_it_recovers(
    register, clock, customer
):
    register(make_mailer())
    with override_settings(EMAIL_BACKEND="tests.journeys.test_engine_sends.FlakyBackend"):
        ingest("go")
        run_due()
        run = JourneyRun.objects.get()
        assert run.status == "waiting"
        failed = EmailSend.objects.get()
        assert (failed.status, failed.idempotency_key) == ("failed", None)
        clock.shift(timedelta(seconds=30))
        run_due()
        assert EmailSend.objects.filter(status="failed").count() == 2
    clock.shift(timedelta(seconds=60))
    run_due()
    run.refresh_from_db()
    assert run.current_step == "pause"
    assert len(mail.outbox) == 1
    assert EmailSend.objects.filter(status="sent").count() == 1


def test_a_run_never_suppresses_its_own_later_sends_but_another_runs_do(register, clock, customer):
    register(make_mailer(suppress=hours(12), entry_limit="unlimited"))
    ingest("go")
    run_due()
    clock.shift(hours(1))
    run_due()  # the same run's second email, 1 h after its first: sent
    assert len(mail.outbox) == 2
    assert JourneyRun.objects.get().status == "completed"
    clock.shift(minutes(5))
    ingest("go")  # a new run within 12 h of the last send: suppressed
    run_due()
    assert len(mail.outbox) == 2
    clock.shift(days(1))
    run_due()  # its second send, a day later, is outside the other run's window
    assert len(mail.outbox) == 3


def test_two_runs_due_in_one_batch_still_suppress_each_other(register, clock, customer):
    """The batch checks every run's send before it writes any of them: the sends
    its earlier runs are about to make count for the later ones' suppress gap
    (here two customers' runs write to one team inbox)."""
    Contact.objects.create(external_id="u2", email="u2@example.com")

    @define_journey(id="inbox", name="Inbox", trigger="go", suppress=hours(12))
    def inbox(user, ctx):
        # ctx.send writes only to the run's person; a shared inbox still needs send_email.
        send_email(to="team@example.com", user_id=user.id, template="feedback/referral-ask")

    register(inbox)
    ingest("go", user_id="u1")
    ingest("go", user_id="u2")
    assert JourneyRun.objects.count() == 2
    run_due()  # both runs in one claimed batch
    assert len(mail.outbox) == 1
    assert EmailSend.objects.filter(status="sent").count() == 1


def test_the_frequency_cap_counts_the_sends_a_batch_is_about_to_write(
        register, clock, customer, settings):
    settings.EMAIL_FREQUENCY_CAP = {"count": 1, "window": days(1)}
    for journey_id in ("first", "second"):
        @define_journey(id=journey_id, name=journey_id, trigger="go")
        def journey(user, ctx):
            ctx.send("feedback/referral-ask")

        register(journey)
    ingest("go")
    assert JourneyRun.objects.count() == 2
    run_due()  # both runs in one claimed batch
    assert len(mail.outbox) == 1
