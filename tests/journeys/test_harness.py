"""The journey test harness (journeys.testing): laws H1-H14, listed in its docstring,
on the shipped journeys and on small journeys written for the law at hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from journeys.engine import days, define_journey, hours, minutes
from journeys.testing import JourneyHarness, run_scenarios

pytestmark = pytest.mark.django_db


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def asker(**meta):
    @define_journey(
        id="asker", name="Asker", trigger="go", exit_on=["stop"], **meta
    )
    def run(user, ctx):
        answer = ctx.wait_for_event(
            event="answer", timeout=days(2), label="await", lookback=minutes(30)
        )
        ctx.trigger(
            event="result",
            properties={"timed_out": answer.timed_out, "value": answer.properties.get("v")},
        )

    return run


def outcome(result):
    return [e.properties for e in result.triggered("result")]


def test_h1_virtual_time_starts_on_new_year_2025_in_utc():
    h = JourneyHarness(asker())
    result = h.run()
    assert h.start == utc(2025, 1, 1)
    assert result.now == utc(2025, 1, 3)  # the 2-day timeout, reached instantly


def test_h2_the_harness_records_the_enrolment_event():
    result = JourneyHarness(asker()).run(properties={"plan": "pro"})
    (trigger,) = result.triggered("go")
    assert trigger.properties == {"plan": "pro"}


def test_h3_a_forward_wait_takes_the_earliest_match_ties_in_insertion_order():
    h = JourneyHarness(asker())
    h.event("answer", at=hours(5), properties={"v": "later"})
    h.event("answer", at=hours(3), properties={"v": "first"})
    h.event("answer", at=hours(3), properties={"v": "second"})
    assert outcome(h.run()) == [{"timed_out": False, "value": "first"}]


def test_h3_an_event_exactly_at_the_deadline_counts():
    h = JourneyHarness(asker())
    h.event("answer", at=days(2), properties={"v": "just in time"})
    assert outcome(h.run()) == [{"timed_out": False, "value": "just in time"}]


def test_h4_lookback_takes_the_most_recent_recorded_match():
    h = JourneyHarness(asker(), start="2025-01-01T12:00:00Z")
    h.event("answer", at="2025-01-01T11:40:00Z", properties={"v": "old"})
    h.event("answer", at="2025-01-01T11:50:00Z", properties={"v": "recent"})
    assert outcome(h.run()) == [{"timed_out": False, "value": "recent"}]


def test_h5_no_match_times_out_at_the_deadline():
    result = JourneyHarness(asker()).run()
    assert outcome(result) == [{"timed_out": True, "value": None}]
    assert result.status == "completed"


def test_h6_an_exit_at_the_same_instant_beats_the_match():
    h = JourneyHarness(asker())
    h.event("answer", at=hours(1), properties={"v": "yes"})
    h.event("stop", at=hours(1))
    result = h.run()
    assert result.status == "exited"
    assert outcome(result) == []


def test_h7_another_users_events_never_resolve_this_users_wait():
    h = JourneyHarness(asker())
    h.event("answer", at=hours(1), properties={"v": "not mine"}, user_id="someone-else")
    assert outcome(h.run()) == [{"timed_out": True, "value": None}]


def mailer():
    @define_journey(id="mailer", name="Mailer", trigger="go", suppress=hours(12))
    def run(user, ctx):
        ctx.sleep(days(1), label="day")
        if ctx.guard.is_subscribed():
            ctx.send("feedback/referral-ask")

    return run


def test_h8_an_unsubscribe_scripted_before_the_send_stops_it():
    h = JourneyHarness(mailer())
    h.unsubscribe(at=hours(12))
    assert h.run().sent() == []


def test_h8_a_resubscribe_before_the_send_lets_it_through():
    h = JourneyHarness(mailer())
    h.unsubscribe(at=hours(1)).resubscribe(at=hours(2))
    assert len(h.run().sent()) == 1


def test_h9_suppress_applies_against_an_earlier_enrolments_send():
    h = JourneyHarness(mailer())
    h.prior_send(template="feedback/referral-ask", at=hours(20))
    result = h.run()
    assert [e.subject for e in result.sent("feedback/referral-ask")] == ["(seeded)"]


def test_h10_a_duplicate_derived_site_fails_the_run_as_in_production():
    @define_journey(id="dup", name="Dup", trigger="go")
    def dup(user, ctx):
        ctx.send("feedback/referral-ask")
        ctx.send("feedback/referral-ask")

    result = JourneyHarness(dup).run()
    assert result.status == "failed"
    assert "idempotency_label" in result.run.error_message


def test_h11_entry_check_gives_the_production_guards_in_order():
    h = JourneyHarness(asker(entry_limit="once_per_period", entry_period=days(7)))
    now = h.start
    assert h.entry_check() is None
    assert h.entry_check(latest_run=("completed", now - days(3))) == "period_not_elapsed"
    assert h.entry_check(latest_run=("completed", now - days(7))) is None
    assert (
        h.entry_check(unsubscribed=True, latest_run=("waiting", now - days(8)))
        == "user_unsubscribed"
    )
    assert h.entry_check(latest_run=("waiting", now - days(8))) == "already_active"
    assert h.entry_check(admin_disabled=True, unsubscribed=True) == "journey_disabled_by_admin"


def test_h12_scenario_tables_run_every_row_and_report_the_failing_ones():
    rows = [("yes", False), ("no", False), (None, True), ("maybe", True)]

    def scenario(row):
        answer, timed_out = row
        h = JourneyHarness(asker())
        if answer:
            h.event("answer", at=hours(1), properties={"v": answer})
        assert outcome(h.run())[0]["timed_out"] is timed_out

    with pytest.raises(AssertionError, match=r"1 scenario row\(s\) failed:\n- \('maybe', True\)"):
        run_scenarios(rows, scenario)


def test_h13_prague_tomorrow_at_nine_across_the_dst_change():
    h = JourneyHarness("support-followup", start="2026-03-28T12:00:00Z", timezone="Europe/Prague")
    result = h.run(properties={"ticket_id": "T-1"})
    (email,) = result.sent("support/followup")
    assert email.sent_at == utc(2026, 3, 29, 7)


def test_h14_a_seeded_variant_arm_wins_verbatim():
    @define_journey(id="ab", name="AB", trigger="go")
    def ab(user, ctx):
        ctx.trigger(event="result", properties={"arm": ctx.variant("subject", ["a", "b"])})

    h = JourneyHarness(ab).seed("variant:subject", "retired-arm")
    assert outcome(h.run()) == [{"arm": "retired-arm"}]


# --- the shipped journeys, tested as a user's own suite would ---------------------


def test_support_followup_a_no_pages_the_support_inbox():
    h = JourneyHarness("support-followup", start="2026-06-16T14:40:00Z", timezone="Europe/Berlin")
    h.event("support.followup_answered", at="2026-06-17T09:12:00Z", properties={"answer": "no"})
    result = h.run(properties={"ticket_id": "T-9"})
    (question,) = result.sent("support/followup")
    assert question.sent_at == utc(2026, 6, 17, 7)  # 09:00 in Berlin
    (reopen,) = result.triggered("support.reopen_requested")
    assert reopen.properties["ticket_id"] == "T-9"
    assert reopen.properties["source"] == "followup-email"
    (alert,) = result.sent("transactional/support-alert")
    assert alert.to_email == "support@example.com"
    assert alert.subject == "[Reopen requested] #T-9 — user-1@example.com"
    assert result.status == "completed"


def test_support_followup_reopened_before_morning_sends_nothing():
    h = JourneyHarness("support-followup", start="2026-06-16T14:40:00Z")
    h.event("ticket.reopened", at="2026-06-17T06:00:00Z")
    result = h.run(properties={"ticket_id": "T-9"})
    assert result.status == "exited"
    assert result.sent() == []


def test_nps_promoter_gets_the_referral_ask_within_the_suppress_window():
    h = JourneyHarness("nps-survey")
    h.event("nps.submitted", at=hours(2), properties={"band": "promoter"})
    result = h.run()
    assert [e.template_key for e in result.sent()] == [
        "feedback/nps-survey",
        "feedback/referral-ask",
    ]
