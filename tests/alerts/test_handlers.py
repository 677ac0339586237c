"""On-event handlers: one job per freshly stored event, a grace delay, retries with
backoff, a time limit, idempotent sends, and an Alert for every page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alerts.handlers import Handler, HandlerCall, handlers, on_event
from alerts.models import Alert, HandlerJob
from alerts.services import alert_raise, alert_set_status
from journeys.engine import define_journey
from journeys.engine.registry import registry
from journeys.models import JourneyRun
from tests.recipes.helpers import run_due, send_event
from tracking.ingest import EventInput, event_ingest
from tracking.mailer import email_send

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def handler() -> Iterator[Callable[..., Handler]]:
    """Register test handlers for the test only."""
    added: list[str] = []

    def add(fn: Callable[[HandlerCall], dict | None], **options) -> Handler:
        options.setdefault("name", f"test-{fn.__name__}")
        added.append(options["name"])
        return on_event(*options.pop("events", ("thing.happened",)), **options)(fn)

    yield add
    for name in added:
        handlers.remove(name)


@pytest.fixture
def customer(api) -> str:
    response = api.put(
        "/v1/contacts", {"userId": "u_ada", "email": "ada@example.com"}, format="json"
    )
    assert response.status_code == 200
    return "u_ada"


def test_a_handler_runs_once_for_every_freshly_stored_event_of_its_name(
    api, clock, handler, customer
):
    calls: list[dict] = []
    handler(
        lambda call: calls.append({"user": call.user_id, **call.properties}) or {"ok": 1},
        name="recorder",
    )
    send_event(api, "thing.happened", "u_ada", {"n": 1})
    send_event(api, "thing.happened", "u_ada", {"n": 2})
    send_event(api, "other.thing", "u_ada", {"n": 3})
    for _ in range(2):  # a retried API call with the same key stores nothing new
        response = api.post(
            "/v1/events",
            {
                "name": "thing.happened",
                "userId": "u_ada",
                "eventProperties": {"n": 4},
                "idempotencyKey": "k-4",
            },
            format="json",
        )
        assert response.status_code == 202
        run_due()
    assert calls == [
        {"user": "u_ada", "n": 1},
        {"user": "u_ada", "n": 2},
        {"user": "u_ada", "n": 4},
    ]
    assert (
        list(HandlerJob.objects.values_list("status", "attempts", "result"))
        == [("done", 1, {"ok": 1})] * 3
    )


def test_a_handler_waits_out_its_delay(api, clock, handler, customer):
    calls: list[datetime] = []
    handler(
        lambda call: calls.append(call.event.occurred_at),
        name="graceful",
        delay=timedelta(minutes=3),
    )
    send_event(api, "thing.happened", "u_ada")
    clock.shift(timedelta(minutes=3) - timedelta(seconds=1))
    run_due()
    assert calls == []
    clock.shift(timedelta(seconds=1))
    run_due()
    assert calls == [NOON]


def test_a_failing_handler_is_retried_with_backoff_then_recorded_as_failed(
    api, clock, handler, customer
):
    attempts: list[datetime] = []

    def flaky(call: HandlerCall) -> None:
        from django.utils import timezone

        attempts.append(timezone.now())
        raise ConnectionError("inbox unreachable")

    handler(flaky, name="flaky", retries=2)
    send_event(api, "thing.happened", "u_ada")
    for _ in range(4):
        clock.shift(timedelta(seconds=30))
        run_due()
        clock.shift(timedelta(seconds=30))
        run_due()
    # First try, then 30 s and 60 s later: 1 + retries attempts.
    assert attempts == [NOON, NOON + timedelta(seconds=30), NOON + timedelta(seconds=90)]
    job = HandlerJob.objects.get()
    assert (job.status, job.attempts) == ("failed", 3)
    assert "inbox unreachable" in job.last_error


def test_a_handler_that_recovers_on_retry_is_done(api, clock, handler, customer):
    outcomes = iter([ConnectionError("blip"), None])

    def once_flaky(call: HandlerCall) -> dict:
        error = next(outcomes)
        if error:
            raise error
        return {"status": "sent"}

    handler(once_flaky, name="once-flaky")
    send_event(api, "thing.happened", "u_ada")
    clock.shift(timedelta(seconds=30))
    run_due()
    job = HandlerJob.objects.get()
    assert (job.status, job.attempts, job.result) == ("done", 2, {"status": "sent"})


def test_a_job_whose_worker_died_is_claimed_again_after_the_time_limit(
    api, clock, handler, customer
):
    calls: list[int] = []
    handler(
        lambda call: calls.append(1),
        name="slow",
        timeout=timedelta(minutes=15),
        delay=timedelta(minutes=1),
    )
    send_event(api, "thing.happened", "u_ada")
    job = HandlerJob.objects.get()
    # A worker claims the job and dies before running it (SIGKILL, OOM).
    from alerts.due import claim_due_jobs

    clock.shift(timedelta(minutes=1))
    assert claim_due_jobs(NOON + timedelta(minutes=1), 10) == [job.pk]
    run_due()
    assert calls == []  # the lease (the handler's time limit) still holds
    clock.shift(timedelta(minutes=15, seconds=1))
    run_due()
    job.refresh_from_db()
    # A claim whose worker died before the job started costs no attempt.
    assert calls == [1] and (job.status, job.attempts) == ("done", 1)


def test_a_job_that_keeps_killing_its_worker_runs_out_of_attempts(api, clock, handler, customer):
    def dies(call):
        raise SystemExit("worker killed while running the job")  # escapes like a SIGKILL

    handler(dies, name="doomed", retries=1, timeout=timedelta(minutes=1))
    with pytest.raises(SystemExit):  # the first start, at ingest, kills its worker
        send_event(api, "thing.happened", "u_ada")
    job = HandlerJob.objects.get()
    clock.shift(timedelta(minutes=2))  # past the lease: the retry kills its worker too
    with pytest.raises(SystemExit):
        run_due()
    clock.shift(timedelta(minutes=2))  # 1 + retries starts spent: the next claim gives up
    run_due()
    job.refresh_from_db()
    assert job.status == "failed" and "never finished" in job.last_error
    assert job.attempts == 3


def timezone_now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def test_a_retry_after_a_successful_send_sends_nothing(api, clock, handler, customer, mailoutbox):
    tries: list[int] = []

    def page(call: HandlerCall) -> dict:
        result = email_send(
            to="ops@example.com",
            template="transactional/support-alert",
            props={"ticketId": "T-1", "customerEmail": call.user_email},
            skip_preference_check=True,
            idempotency_key=f"test-page:{call.user_id}:{call.event.pk}",
        )
        tries.append(1)
        if len(tries) == 1:
            raise TimeoutError("crashed after the provider took the email")
        return {"status": result.status, "reason": result.reason}

    handler(page, name="pager")
    send_event(api, "thing.happened", "u_ada")
    clock.shift(timedelta(seconds=30))
    run_due()
    assert len(tries) == 2
    assert [m.to for m in mailoutbox] == [["ops@example.com"]]
    assert HandlerJob.objects.get().result == {"status": "sent", "reason": "duplicate"}


def test_operator_mail_ignores_the_customers_unsubscribe(api, clock, unsubscribed, mailoutbox):
    send_event(
        api,
        "support.reopen_requested",
        "u_gone",
        {"ticket_id": "T-7", "answeredAt": NOON.isoformat()},
    )
    clock.shift(timedelta(minutes=3))
    run_due()
    (page,) = mailoutbox
    assert page.to == ["support@example.com"]
    assert page.subject == "[Reopen requested] #T-7 — gone@example.com"


def test_every_page_is_an_alert_that_staff_acknowledge_and_resolve(
    api, clock, customer, mailoutbox
):
    send_event(
        api,
        "support.reopen_requested",
        "u_ada",
        {"ticket_id": "T-8", "answeredAt": NOON.isoformat()},
    )
    clock.shift(timedelta(minutes=3))
    run_due()
    alert = Alert.objects.get()
    assert (alert.kind, alert.status, alert.contact.external_id) == (
        "reopen_requested",
        "open",
        "u_ada",
    )
    assert alert.journey_run is None  # an API event, not a journey's trigger
    assert alert.payload == {
        "ticketId": "T-8",
        "customerEmail": "ada@example.com",
        "answeredAt": NOON.isoformat(),
        "comment": "",
    }
    assert alert.dedupe_key == f"support-alert:u_ada:T-8:{NOON.isoformat()}"
    alert = alert_set_status(alert_id=alert.pk, status="acknowledged", actor="sam")
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "sam")
    alert = alert_set_status(alert_id=alert.pk, status="resolved", actor="kim")
    assert (alert.status, alert.resolved_by, alert.acknowledged_by) == ("resolved", "kim", "sam")


@define_journey(id="escalate", name="Escalate", trigger="go")
def escalate(user, ctx):
    ctx.trigger(event="lead.flagged", properties={"reason": "test", "answeredAt": NOON.isoformat()})


@pytest.fixture
def escalating() -> Iterator[None]:
    registry.add(escalate)
    yield
    registry.remove(escalate.id)


def test_an_alert_links_the_run_whose_trigger_fired_it(
    api, clock, customer, escalating, mailoutbox
):
    send_event(api, "go", "u_ada")
    clock.shift(timedelta(minutes=3))
    run_due()
    alert = Alert.objects.get(kind="lead")
    assert alert.journey_run_id == JourneyRun.objects.get(journey_id="escalate").pk


def test_a_crafted_trigger_key_on_an_api_event_is_refused(api, clock, customer):
    body = {
        "name": "lead.flagged",
        "userId": "u_ada",
        "eventProperties": {"reason": "x"},
        "idempotencyKey": "journeyTrigger:not-a-run:site:lead.flagged",
    }
    response = api.post("/v1/events", body, format="json")
    assert response.status_code == 400 and "journeyTrigger:" in response.json()["error"]
    assert HandlerJob.objects.count() == 0


def test_a_trigger_shaped_key_naming_no_run_is_not_taken_for_a_run(clock, customer,
                                                                   mailoutbox):
    # API callers cannot send engine keys any more; the handler still must not
    # trust a key's shape (an event stored before that rule, or by another path).
    event_ingest(EventInput(name="lead.flagged", user_id="u_ada", properties={"reason": "x"},
                            idempotency_key="journeyTrigger:not-a-run:site:lead.flagged"))
    clock.shift(timedelta(minutes=3))
    run_due()
    assert HandlerJob.objects.get().status == "done"
    assert Alert.objects.get().journey_run is None


def test_alert_raise_is_idempotent_by_its_key(ada):
    first = alert_raise(kind="lead", title="Lead", dedupe_key="k", contact=ada)
    again = alert_raise(kind="lead", title="Lead again", dedupe_key="k", contact=ada)
    assert first.pk == again.pk and Alert.objects.count() == 1


def test_a_job_for_a_handler_no_longer_in_code_fails_visibly(ada, clock):
    from tracking.models import UserEvent

    event = UserEvent.objects.create(contact=ada, user_key=ada.key, event="gone.event")
    HandlerJob.objects.create(handler="removed-handler", event=event, contact=ada, due_at=NOON)
    run_due()
    job = HandlerJob.objects.get()
    assert job.status == "failed" and "not registered" in job.last_error


def test_on_event_needs_an_event_name():
    with pytest.raises(TypeError):
        on_event(name="nameless")


def test_the_shipped_operator_alerts_are_registered():
    shipped = {
        name: handlers.by_name[name]
        for name in ("support-alert", "nps-detractor-alert", "notify-lead", "review-followup-alert")
    }
    assert {h.events for h in shipped.values()} == {
        ("support.reopen_requested",),
        ("nps.detractor_flagged",),
        ("lead.flagged",),
        ("review.needs_followup",),
    }
    # Longer retries than the recipe's 2: a page outlives a provider outage.
    assert {(h.retries, h.max_backoff, h.alert_on_failure, h.timeout, h.delay)
            for h in shipped.values()} == {
        (10, timedelta(minutes=30), True, timedelta(minutes=15), timedelta(minutes=3))
    }


def test_odd_properties_from_an_api_event_still_page_once(api, clock, customer, mailoutbox):
    ticket = "T-9\r\nBcc: everyone@example.com " + "x" * 300
    send_event(
        api, "support.reopen_requested", "u_ada", {"ticket_id": ticket, "answeredAt": "2026-13-45"}
    )
    clock.shift(timedelta(minutes=3))
    run_due()
    (page,) = mailoutbox
    assert page.subject.startswith("[Reopen requested] #T-9 Bcc: everyone@example.com xxx")
    assert "\n" not in page.subject
    job = HandlerJob.objects.get()
    assert job.status == "done"
    alert = Alert.objects.get()
    assert alert.dedupe_key.startswith("support-alert:sha256:")
    assert alert.email_send.idempotency_key == alert.dedupe_key
