"""ctx.variant, ctx.digest, ctx.throttle, ctx.history: recorded once, replayed verbatim."""

from __future__ import annotations

import pytest
from django.core import mail

from contacts.models import Contact
from journeys.engine import days, define_journey, hours, minutes
from journeys.engine.primitives import variant_arm
from journeys.models import JourneyRun, StepRecord
from tests.journeys.conftest import ingest, run_due
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db


def results_of(event: str) -> list[dict]:
    return [e.properties for e in UserEvent.objects.filter(event=event).order_by("id")]


def test_variant_arms_are_deterministic_and_spread():
    arms = ["a", "b"]
    picks = [variant_arm("j", "subject", f"user-{n}", arms) for n in range(400)]
    assert picks == [variant_arm("j", "subject", f"user-{n}", arms) for n in range(400)]
    assert 150 < picks.count("a") < 250


def test_a_recorded_variant_wins_even_if_the_arms_change(register, clock):
    arms = {"current": ["short", "long"]}

    @define_journey(id="ab", name="AB", trigger="go")
    def ab(user, ctx):
        first = ctx.variant("subject", arms["current"])
        ctx.sleep(minutes(1))
        ctx.trigger(
            event="picked",
            properties={"arm": ctx.variant("subject", arms["current"]), "first": first},
        )

    register(ab)
    ingest("go")
    run_due()
    recorded = StepRecord.objects.get(key="variant:subject").value["v"]
    arms["current"] = ["other"]
    clock.shift(minutes(1))
    run_due()
    assert results_of("picked") == [{"arm": recorded, "first": recorded}]


def test_a_malformed_variant_key_fails_the_run(register, clock):
    @define_journey(id="badkey", name="Bad key", trigger="go")
    def badkey(user, ctx):
        ctx.variant("-nope", ["a"])

    register(badkey)
    ingest("go")
    run_due()
    assert "variant key" in JourneyRun.objects.get().error_message


def test_digest_collects_the_window_and_absorbs_later_triggers(register, clock):
    @define_journey(
        id="digest",
        name="Digest",
        trigger="report.created",
        entry_limit="unlimited",
        suppress=days(0),
    )
    def weekly(user, ctx):
        batch = ctx.digest(window=days(7), label="weekly")
        projects: dict[str, int] = {}
        for item in batch.events:
            key = item.properties.get("projectId", "unknown")
            projects[key] = projects.get(key, 0) + 1
        ctx.trigger(event="digest.ready", properties={"count": batch.count, **projects})

    register(weekly)
    ingest("report.created", properties={"projectId": "A"})
    run_due()
    for shift, project in ((days(1), "A"), (days(2), "B"), (days(3), "A")):
        clock.shift(shift)
        ingest("report.created", properties={"projectId": project})
        run_due()
    assert JourneyRun.objects.count() == 1
    clock.shift(days(1))
    run_due()
    assert results_of("digest.ready") == [{"count": 4, "A": 3, "B": 1}]


def test_throttle_is_advisory_and_recorded(register, clock):
    Contact.objects.create(external_id="u1", email="u1@example.com")

    @define_journey(id="capped", name="Capped", trigger="go")
    def capped(user, ctx):
        verdict = ctx.throttle(limit=1, window=days(7), label="cap")
        if verdict.allowed:
            ctx.send("feedback/referral-ask")
        ctx.trigger(
            event="verdict", properties={"allowed": verdict.allowed, "count": verdict.count}
        )

    register(capped)
    EmailSend.objects.create(
        to_email="u1@example.com",
        template_key="x",
        from_email="a@b",
        subject="earlier",
        status="sent",
    )
    ingest("go")
    run_due()
    assert results_of("verdict") == [{"allowed": False, "count": 1}]
    assert mail.outbox == []


def test_history_reads_events_journeys_and_emails(register, clock):
    Contact.objects.create(external_id="u1", email="u1@example.com")

    @define_journey(id="looker", name="Looker", trigger="go")
    def looker(user, ctx):
        used = ctx.history.has_event(event="feature.used", within=days(30))
        mine = ctx.history.journey(journey_id="looker")
        mails = ctx.history.email(template="feedback/referral-ask")
        ctx.trigger(
            event="seen",
            properties={"used": used.count, "entries": mine.entry_count, "mails": mails.count},
        )

    register(looker)
    ingest("feature.used")
    ingest("feature.used")
    clock.shift(hours(1))
    ingest("go")
    run_due()
    assert results_of("seen") == [{"used": 2, "entries": 1, "mails": 0}]
