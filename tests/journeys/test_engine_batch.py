"""A claimed batch of runs executes in passes: its sends, waits and parks are done
together. What holds for one run holds for each run of a batch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from contacts.models import Contact
from journeys.engine import batch as batch_module
from journeys.engine import days, define_journey, send_policy
from journeys.engine.journal import records_of
from journeys.engine.send_policy import DISPATCH_CHUNK
from journeys.models import JourneyRun
from journeys.services import journey_run_exit
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db
PEOPLE = 5


@pytest.fixture
def people(db) -> list[Contact]:
    return [Contact.objects.create(external_id=f"u{n}", email=f"u{n}@example.com")
            for n in range(PEOPLE)]


@pytest.fixture
def asker(register):
    @define_journey(id="asker", name="Asker", trigger="go")
    def asker(user, ctx):
        ctx.send("feedback/referral-ask")
        answer = ctx.wait_for_event(event="answered", timeout=days(2))
        if not answer.timed_out:
            ctx.send("feedback/referral-ask", idempotency_label="thanks")

    return register(asker)


def enrol_everyone(people) -> None:
    for person in people:
        ingest("go", user_id=person.external_id)
    assert JourneyRun.objects.count() == len(people)


class SessionCountingBackend(LocmemBackend):
    opened = 0

    def open(self):
        type(self).opened += 1
        return super().open()


class RefusesOneAddress(LocmemBackend):
    def send_messages(self, messages):
        if any(message.to == ["u2@example.com"] for message in messages):
            raise ConnectionError("mailbox provider refused u2")
        return super().send_messages(messages)


def test_a_batch_sends_each_email_once_through_one_provider_session(asker, people, clock,
                                                                   settings):
    settings.EMAIL_BACKEND = f"{__name__}.SessionCountingBackend"
    SessionCountingBackend.opened = 0
    enrol_everyone(people)
    run_due()
    assert sorted(m.to[0] for m in mail.outbox) == sorted(p.email for p in people)
    assert SessionCountingBackend.opened == 1
    assert set(JourneyRun.objects.values_list("status", "current_step")) == {
        ("waiting", "wait-event:answered#1")}
    assert len(send_memos()) == PEOPLE


def test_each_run_finds_its_own_answer_in_the_batch_scan(asker, people, clock):
    enrol_everyone(people)
    run_due()
    for person in people[:2]:
        ingest("answered", user_id=person.external_id)
    run_due()
    done = set(JourneyRun.objects.filter(status="completed").values_list("user_key", flat=True))
    assert done == {"u0", "u1"}
    assert EmailSend.objects.filter(status="sent").count() == PEOPLE + 2


def test_a_run_exited_before_its_batch_writes_sends_nothing(asker, people, clock, monkeypatch):
    enrol_everyone(people)
    leaving = JourneyRun.objects.get(user_key="u3")
    real_flush = batch_module.Batch._flush_sends

    def exit_then_flush(self):
        # The exit lands after u3's send was checked and rendered, before it is written.
        if JourneyRun.objects.get(pk=leaving.pk).status != "exited":
            journey_run_exit(run_id=leaving.pk, reason="ticket reopened")
        return real_flush(self)

    monkeypatch.setattr(batch_module.Batch, "_flush_sends", exit_then_flush)
    run_due()
    assert "u3@example.com" not in [m.to[0] for m in mail.outbox]
    assert len(mail.outbox) == PEOPLE - 1
    assert JourneyRun.objects.get(pk=leaving.pk).status == "exited"
    assert not EmailSend.objects.filter(to_email="u3@example.com").exists()


def test_a_provider_error_for_one_address_parks_only_that_run(asker, people, clock, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusesOneAddress"
    enrol_everyone(people)
    run_due()
    assert len(mail.outbox) == PEOPLE - 1
    refused = JourneyRun.objects.get(user_key="u2")
    assert refused.status == "waiting" and refused.waiting_event == ""  # a retry, not a wait
    assert EmailSend.objects.get(to_email="u2@example.com").status == "failed"
    others = JourneyRun.objects.exclude(pk=refused.pk)
    assert set(others.values_list("waiting_event", flat=True)) == {"answered"}


class WorkerKilled(BaseException):
    """What SIGKILL looks like from inside the process: nothing after it runs."""


class KilledOnThirdMessage(LocmemBackend):
    """Accepts every message; the worker dies right after the third is accepted."""

    accepted = 0
    kill = True

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        type(self).accepted += len(messages)
        if type(self).kill and type(self).accepted == 3:
            type(self).kill = False
            raise WorkerKilled
        return sent


class DedupingKilledOnThirdMessage(KilledOnThirdMessage):
    idempotency_key_header = "Idempotency-Key"
    keys: set = set()

    def send_messages(self, messages):
        fresh = [m for m in messages if m.extra_headers["Idempotency-Key"] not in self.keys]
        self.keys.update(m.extra_headers["Idempotency-Key"] for m in fresh)
        if not fresh:
            return len(messages)  # acknowledged, not delivered again
        return super().send_messages(fresh)


@pytest.mark.parametrize(("backend", "marked_before", "deliveries"), [
    # Rows are marked sent one by one: only the message in the provider's hands
    # when the worker died goes out twice.
    (KilledOnThirdMessage, 2, PEOPLE + 1),
    # Rows are marked together, and the provider deduplicates the re-drive:
    # every message exactly once.
    (DedupingKilledOnThirdMessage, 0, PEOPLE),
])
def test_a_worker_killed_mid_batch_re_sends_at_most_the_message_in_flight(
        asker, people, clock, settings, backend, marked_before, deliveries):
    settings.EMAIL_BACKEND = f"{__name__}.{backend.__name__}"
    backend.accepted, backend.kill = 0, True
    DedupingKilledOnThirdMessage.keys = set()
    enrol_everyone(people)
    with pytest.raises(WorkerKilled):
        run_due()
    assert EmailSend.objects.filter(status="sent").count() == marked_before
    clock.shift(timedelta(minutes=6))  # the run and dispatch leases expire
    run_due()
    assert len(mail.outbox) == deliveries
    assert EmailSend.objects.filter(status="sent").count() == PEOPLE
    assert set(JourneyRun.objects.values_list("waiting_event", flat=True)) == {"answered"}


class ExitsEveryoneElseWhileSendingTheFirst(LocmemBackend):
    """While the provider takes the batch's first message, every other run's exit commits."""

    def send_messages(self, messages):
        others = JourneyRun.objects.exclude(user_email__in=[m.to[0] for m in mail.outbox])
        for run in others.exclude(status="exited").exclude(
                user_key=messages[0].to[0].split("@")[0]):
            journey_run_exit(run_id=run.pk, reason="bought meanwhile")
        return super().send_messages(messages)


@pytest.mark.parametrize(("chunk", "stale", "sent"), [
    # Re-read after `chunk` messages: the first chunk was checked before the exits.
    (5, 3600.0, 5),
    # Re-read once DISPATCH_STALE seconds have passed (a slow provider): here at
    # once, so only the message in the provider's hands went out.
    (5, 0.0, 1),
])
def test_an_exit_committed_while_the_batch_sends_stops_the_email_from_the_next_read_on(
        asker, clock, settings, monkeypatch, chunk, stale, sent):
    monkeypatch.setattr(send_policy, "DISPATCH_CHUNK", chunk)
    monkeypatch.setattr(send_policy, "DISPATCH_STALE", stale)
    people = [Contact.objects.create(external_id=f"u{n}", email=f"u{n}@example.com")
              for n in range(12)]
    settings.EMAIL_BACKEND = f"{__name__}.ExitsEveryoneElseWhileSendingTheFirst"
    enrol_everyone(people)
    run_due()
    # Every message after the first re-read that followed the exits was stopped.
    assert len(mail.outbox) == sent
    sent_to = {m.to[0] for m in mail.outbox}
    stopped = EmailSend.objects.exclude(to_email__in=sent_to)
    assert stopped.count() == len(people) - sent
    assert set(stopped.values_list("status", "reason", "idempotency_key")) == {
        ("failed", "run_exited", None)}
    assert JourneyRun.objects.filter(status="exited").count() == len(people) - 1


def test_a_batch_rereads_its_runs_status_once_per_dispatch_chunk(
        asker, clock, settings, monkeypatch):
    monkeypatch.setattr(send_policy, "DISPATCH_STALE", 3600.0)
    people = [Contact.objects.create(external_id=f"u{n}", email=f"u{n}@example.com")
              for n in range(DISPATCH_CHUNK + 10)]
    enrol_everyone(people)
    reads = []
    real = send_policy.live_runs
    monkeypatch.setattr(send_policy, "live_runs", lambda ids: reads.append(len(ids)) or real(ids))
    run_due()
    assert len(mail.outbox) == len(people)
    assert reads == [10]  # the batch's own read covered the first chunk


def test_a_journey_catching_exception_around_a_send_still_sends_it(register, people, clock):
    @define_journey(id="best-effort", name="Best effort", trigger="go")
    def best_effort(user, ctx):
        try:
            ctx.send("feedback/referral-ask")
        except Exception:  # "a failing email must not stop the journey"
            pass
        ctx.sleep(days(1))

    register(best_effort)
    enrol_everyone(people)
    run_due()
    assert len(mail.outbox) == PEOPLE
    assert EmailSend.objects.filter(status="sent").count() == PEOPLE


def test_the_cap_waits_for_a_send_its_batch_drops_and_then_sends(
        register, clock, customer_in_two_journeys, settings, monkeypatch):
    """Cap 1/day, one person in two journeys due in one batch. The first journey's
    run exits before its send is written: the second journey's email goes out."""
    settings.EMAIL_FREQUENCY_CAP = {"count": 1, "window": timedelta(days=1)}
    real_flush = batch_module.Batch._flush_sends

    def exit_then_flush(self):
        run = JourneyRun.objects.get(journey_id="first")
        if run.status != "exited":
            journey_run_exit(run_id=run.pk, reason="exit_on")
        return real_flush(self)

    monkeypatch.setattr(batch_module.Batch, "_flush_sends", exit_then_flush)
    ingest("go", user_id="u0")
    assert JourneyRun.objects.count() == 2
    run_due()
    assert len(mail.outbox) == 1
    assert EmailSend.objects.get(status="sent").journey_id == "second"


@pytest.fixture
def customer_in_two_journeys(register, db):
    Contact.objects.create(external_id="u0", email="u0@example.com")
    for journey_id in ("first", "second"):
        @define_journey(id=journey_id, name=journey_id, trigger="go")
        def journey(user, ctx):
            ctx.send("feedback/referral-ask")

        register(journey)


def test_runs_past_the_last_deferring_pass_reuse_what_the_batch_did(register, people, clock):
    @define_journey(id="many", name="Many", trigger="go")
    def many(user, ctx):
        for n in range(batch_module.MAX_PASSES + 3):
            ctx.send("feedback/referral-ask", idempotency_label=f"s{n}")

    register(many)
    enrol_everyone(people)
    run_due()
    sends = PEOPLE * (batch_module.MAX_PASSES + 3)
    assert len(mail.outbox) == sends == EmailSend.objects.filter(status="sent").count()
    memos = send_memos()
    assert len(memos) == sends
    assert not [m for m in memos if m.value["v"][2] == "duplicate"]  # [id, status, reason, at]


def send_memos() -> list:
    """Every run's journaled send results (however the journal stores them)."""
    return [record for run in JourneyRun.objects.prefetch_related("steps")
            for key, record in records_of(run.steps.all()).items()
            if key.startswith("__send__:")]
