"""The author API: `from journeys import ...`, `ctx.send`, event names for triggers, and
the previous forms kept as shims that warn once per call site."""

from __future__ import annotations

import importlib.util
import re
import runpy
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from django.conf import settings
from django.core import mail

from contacts.models import Contact
from journeys import (
    DefinitionError,
    Journey,
    RunContext,
    User,
    days,
    define_journey,
    hours,
    minutes,
    send_email,
)
from journeys.engine import compat
from journeys.engine.registry import registry
from journeys.models import JourneyLog, JourneyRun
from journeys.testing import JourneyHarness
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db

README = Path(settings.BASE_DIR) / "README.md"
SHIPPED = Path(settings.BASE_DIR) / "journeys" / "definitions"
CONVERTED = ["nps_survey", "review_request", "setup_offer", "support_followup",
             "trial_expiring", "winback_and_sunset"]


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    """Each test sees first-time warnings: the shims remember the sites they warned about."""
    compat._warned.clear()
    yield
    compat._warned.clear()


@pytest.fixture
def customer(db: None) -> Contact:
    return Contact.objects.create(external_id="u1", email="u1@example.com")


def readme_block(after_heading: str, index: int = 0) -> str:
    """The `index`-th python block after a README heading, verbatim."""
    text = README.read_text()
    section = text[text.index(after_heading) :]
    return re.findall(r"```python\n(.*?)```", section, re.S)[index]


def import_as_module(source: str, tmp_path: Path, name: str) -> ModuleType:
    """Import source from a real file, so `inspect.getsource` (the version hash) sees it."""
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


# --- the README ---------------------------------------------------------------------


def test_the_readme_journey_is_the_shipped_support_followup_whole(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        module = import_as_module(readme_block("## Writing journeys"), tmp_path, "readme_journey")
    journey = module.support_followup
    assert isinstance(journey, Journey)
    # Same code and meta (comments and layout aside) means the same version hash.
    assert journey.version_hash == registry.get("support-followup").version_hash


def test_the_readme_journey_runs_verbatim_in_the_harness(tmp_path):
    module = import_as_module(readme_block("## Writing journeys"), tmp_path, "readme_journey2")
    h = JourneyHarness(module.support_followup, start="2026-06-16T14:40:00Z",
                       timezone="Europe/Berlin")
    h.event("support.followup_answered", at="2026-06-17T09:12:00Z", properties={"answer": "no"})
    result = h.run(properties={"ticket_id": "T-9"})
    (question,) = result.sent("support/followup")
    assert question.sent_at.isoformat() == "2026-06-17T07:00:00+00:00"
    (reopen,) = result.triggered("support.reopen_requested")
    assert reopen.properties["ticket_id"] == "T-9"


def test_the_readme_harness_tests_pass_verbatim(db):
    namespace: dict[str, object] = {}
    exec(readme_block("### Testing journeys"), namespace)
    tests = [fn for name, fn in namespace.items() if name.startswith("test_")]
    assert len(tests) == 2
    for test in tests:
        test(db)


# --- ctx.send -------------------------------------------------------------------------


@define_journey(id="greeter", trigger="go", exit_on="stop")
def greeter(user: User, ctx: RunContext) -> None:
    """Greeter — two emails an hour apart."""
    ctx.send("feedback/referral-ask", subject="Hello", props={"n": 1})
    ctx.sleep(hours(1), label="pause")
    ctx.send("feedback/referral-ask", props={"n": 2})


def test_send_takes_recipient_contact_run_and_journey_name_from_the_run(
    register, clock, customer
):
    register(greeter)
    ingest("go")
    run_due()
    run = JourneyRun.objects.get()
    send = EmailSend.objects.get()
    assert (send.to_email, send.contact_id, send.journey_run_id) == (
        "u1@example.com", customer.pk, run.pk)
    assert (send.journey_id, send.subject) == ("greeter", "Hello")
    assert send.idempotency_key == (
        f"journeySend:{run.pk}:feedback/referral-ask:feedback/referral-ask")
    assert mail.outbox[0].to == ["u1@example.com"]
    clock.shift(hours(1))
    run_due()
    assert EmailSend.objects.filter(status="sent").count() == 2
    assert JourneyRun.objects.get().status == "completed"


def test_the_name_defaults_to_the_docstrings_first_line_and_exit_on_takes_one_name():
    assert greeter.name == "Greeter — two emails an hour apart."
    assert greeter.exit_events == frozenset({"stop"})


def test_a_person_without_an_address_is_a_recorded_skip_and_the_run_goes_on(register, clock):
    Contact.objects.create(external_id="anon")
    register(greeter)
    ingest("go", user_id="anon")
    run_due()
    clock.shift(hours(1))
    run_due()
    run = JourneyRun.objects.get()
    assert run.status == "completed"
    assert not EmailSend.objects.exists() and mail.outbox == []
    skips = JourneyLog.objects.filter(run=run, action="send").order_by("created_at", "id")
    assert [(log.detail["status"], log.detail["reason"]) for log in skips] == [
        ("skipped", "no_address"), ("skipped", "no_address")]


def test_a_recorded_skip_replays_as_a_skip_once_an_address_appears(register, clock):
    contact = Contact.objects.create(external_id="anon")
    register(greeter)
    ingest("go", user_id="anon")
    run_due()
    contact.email = "late@example.com"
    contact.save(update_fields=["email"])
    clock.shift(hours(1))
    run_due()
    # The first site stays skipped on replay; the second, run after the address
    # appeared, sends.
    (send,) = EmailSend.objects.all()
    assert send.to_email == "late@example.com"
    assert send.idempotency_key.endswith(":pause:feedback/referral-ask")


# --- journal keys do not depend on the call form -----------------------------------


def test_a_run_parked_under_the_old_form_resumes_under_the_new_one_without_resending(
    register, clock, customer
):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)

        @define_journey(id="switch", name="Switch", trigger={"event": "go"})
        def old(user, ctx):
            send_email(to=user.email, user_id=user.id, journey_state_id=user.state_id,
                       template="support/followup", journey_name=user.journey_name)
            ctx.sleep(hours(1), label="pause")
            send_email(to=user.email, user_id=user.id, template="feedback/referral-ask")

    @define_journey(id="switch", name="Switch", trigger="go")
    def new(user: User, ctx: RunContext) -> None:
        ctx.send("support/followup")
        ctx.sleep(hours(1), label="pause")
        ctx.send("feedback/referral-ask")

    register(old)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ingest("go")
        run_due()
    run = JourneyRun.objects.get()
    assert run.status == "waiting"
    registry.remove("switch")  # a deploy while the run sleeps
    register(new)
    clock.shift(hours(1))
    run_due()
    run.refresh_from_db()
    assert run.status == "completed"
    keys = sorted(EmailSend.objects.values_list("template_key", "idempotency_key"))
    assert keys == [
        ("feedback/referral-ask", f"journeySend:{run.pk}:pause:feedback/referral-ask"),
        ("support/followup", f"journeySend:{run.pk}:support/followup:support/followup"),
    ]
    assert len(mail.outbox) == 2


# --- triggers and waits ------------------------------------------------------------------


def test_trigger_and_wait_take_the_event_positionally_for_the_runs_person(
    register, clock, customer
):
    @define_journey(id="relay", name="Relay", trigger="go")
    def relay(user: User, ctx: RunContext) -> None:
        answer = ctx.wait_for_event("answered", timeout=days(1), lookback=minutes(5),
                                    label="await")
        ctx.trigger("relayed", {"answer": answer.properties.get("answer")})
        ctx.trigger("noted", {"about": user.id}, user_id="someone-else")

    register(relay)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        ingest("go")
        run_due()
        ingest("answered", properties={"answer": "yes"})
        run_due()
    (relayed,) = UserEvent.objects.filter(event="relayed")
    assert relayed.contact_id == customer.pk and relayed.properties["answer"] == "yes"
    (noted,) = UserEvent.objects.filter(event="noted")
    assert noted.user_key == "someone-else"


# --- the previous forms warn once per call site ---------------------------------------


def test_the_previous_forms_work_and_warn_once_per_site_with_what_to_write(
    register, clock, customer
):
    with pytest.warns(DeprecationWarning) as defined:
        @define_journey(id="legacy", name="Legacy", trigger={"event": "go"},
                        exit_on=[{"event": "stop"}])
        def legacy(user, ctx):
            for _ in range(2):  # one site, two calls
                send_email(to=user.email, user_id=user.id, template="feedback/referral-ask",
                           idempotency_label=f"n{_}")
            ctx.trigger(event="legacy.done", user_id=user.id)

    messages = [str(w.message) for w in defined]
    assert any("trigger={'event': 'go'}" in m and "write the event name, 'go'" in m
               for m in messages)
    assert any("exit_on[0]={'event': 'stop'}" in m for m in messages)
    register(legacy)
    with pytest.warns(DeprecationWarning) as ran:
        ingest("go")
        run_due()
    messages = [str(w.message) for w in ran]
    assert len([m for m in messages if "send_email(" in m]) == 1
    assert "ctx.send('feedback/referral-ask', subject=..., props=...)" in messages[0]
    assert any("drop user_id=" in m for m in messages)
    assert ran[0].filename == __file__
    assert EmailSend.objects.filter(status="sent").count() == 2
    assert UserEvent.objects.filter(event="legacy.done", contact=customer).exists()


@pytest.mark.parametrize("module", CONVERTED)
def test_shipped_definitions_use_no_deprecated_form(module):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        runpy.run_path(str(SHIPPED / f"{module}.py"))


@pytest.mark.parametrize("journey_id", ["support-followup", "setup-offer", "review-request"])
def test_shipped_journeys_run_without_a_deprecation(journey_id):
    h = JourneyHarness(journey_id)
    for event in ("offer.answered", "support.followup_answered"):
        h.event(event, at=days(2), properties={"answer": "interested"})
    h.event("review.rated", at=days(4), properties={"rating": 5})
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        result = h.run()
    assert result.sent()


# --- definition errors say what and where --------------------------------------------


@pytest.mark.parametrize(
    ("meta", "says"),
    [
        ({"trigger": ["a", "b"]}, "trigger takes one event name"),
        ({"trigger": ""}, "trigger must be an event name"),
        ({"trigger": {"where": {}}}, "trigger must be an event name"),
        ({"trigger": "go", "exit_on": ["stop", 3]}, "exit_on[1] must be an event name"),
        ({"trigger": "go", "exit_on": 3}, "exit_on must be an event name or a list"),
        ({"trigger": "go", "name": " "}, "name must be a non-empty string"),
    ],
)
def test_definition_errors_name_the_journey_and_the_function(meta, says):
    with pytest.raises(DefinitionError) as error:
        @define_journey(id="broken", **meta)
        def broken(user: User, ctx: RunContext) -> None:
            pass

    assert says in str(error.value)
    assert "journey 'broken' (tests.journeys.test_author_api." in str(error.value)


def test_a_where_still_takes_the_dict_form_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)

        @define_journey(
            id="vip",
            trigger={"event": "go", "where": lambda b: b.prop("vip").eq(True)},
            exit_on=["stop", {"event": "plan.changed", "where": lambda b: b.prop("p").eq(1)}],
        )
        def vip(user: User, ctx: RunContext) -> None:
            pass

    assert vip.trigger_event == "go" and vip.trigger_where
    assert vip.exit_events == frozenset({"stop", "plan.changed"})
