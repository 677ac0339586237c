"""Words for the engine's names, and times that name their zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.checks import run_checks

from hogsend_site import labels, times

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
PRAGUE = ZoneInfo("Europe/Prague")


@pytest.mark.parametrize(("event", "properties", "label"), [
    ("support.reopen_requested", {}, "Reopen requested"),
    ("support.followup_answered", {"answer": "no", "linkId": "l1"}, "Answered: No, still broken"),
    ("support.followup_answered", {"answer": "yes"}, "Answered: Yes, all sorted"),
    ("nps.submitted", {"band": "detractor", "linkId": "l1"}, "Answered: 0–6 (detractor)"),
    ("offer.answered", {"answer": "not_now", "linkId": "l1"}, "Answered: Not right now"),
    ("review.rated", {"rating": 2, "linkId": "l1"}, "Answered: 2 of 5"),
    ("support.followup_answered.comment", {"comment": "Still broken"}, "Wrote a note"),
    ("billing.invoice_paid", {}, "Billing invoice paid"),
    ("email.link_clicked", {"linkId": "l1"}, "Link clicked in an email"),
])
def test_event_names_read_as_words(event, properties, label):
    assert labels.event_label(event, properties) == label


def test_the_button_the_person_tapped_names_the_answer():
    props = {"answer": "no", "linkId": "l1"}
    assert labels.event_label("support.followup_answered", props,
                              button="Nope, still broken") == "Answered: Nope, still broken"
    assert labels.answer_text("nps.submitted", {"band": "promoter"}, button="9–10") == \
        "9–10 (promoter)"


@pytest.mark.parametrize(("kind", "label"), [
    ("reopen_requested", "Reopen requested"), ("nps_detractor", "NPS detractor"),
    ("lead", "Lead wants a setup call"), ("review_followup", "Low rating to follow up"),
    ("stranded_runs", "Stranded journey runs"), ("handler_failed", "Page not sent"),
    ("support.reopen", "Support reopen"),
])
def test_alert_kinds_read_as_words(kind, label):
    assert labels.alert_kind_label(kind) == label


def test_the_raw_name_stands_small_beside_the_label():
    html = labels.labelled("Reopen requested", "support.reopen_requested")
    assert html.startswith('<span class="hs-label">Reopen requested</span> <small')
    assert "<code>support.reopen_requested</code></small>" in html
    assert labels.labelled("<b>", "<i>") == (
        '<span class="hs-label">&lt;b&gt;</span> <small class="hs-raw" style="color: '
        'var(--body-quiet-color, #666)"><code>&lt;i&gt;</code></small>')


def test_a_sleeping_run_waits_until_nine_in_the_customers_city():
    wake = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST, the day clocks went forward
    assert labels.run_state_label(status="waiting", wake_at=wake, customer_zone=PRAGUE) == (
        "Waiting until 09:00 in Prague (Sun 29 Mar 2026, 07:00 UTC)")
    assert labels.run_state_label(status="exited", exited_at=wake,
                                  exit_reason="event:ticket.reopened") == (
        "Exited on Sun 29 Mar 2026, 07:00 UTC: “Ticket reopened” arrived")
    assert labels.event_phrase("ticket.reopened", {"ticket_id": "T-9"}) == (
        "ticket T-9 was reopened")
    assert labels.run_state_label(status="exited", exited_at=wake, exit_reason="admin:sam") == (
        "Exited on Sun 29 Mar 2026, 07:00 UTC: sam exited it in the admin")


def test_times_name_their_zone_and_put_the_customers_clock_beside(settings):
    assert times.both(NOON, PRAGUE) == "Wed 17 Jun 2026, 12:00 UTC (14:00 in Prague)"
    tokyo = ZoneInfo("Asia/Tokyo")
    assert times.both(datetime(2026, 6, 17, 20, 0, tzinfo=UTC), tokyo) == (
        "Wed 17 Jun 2026, 20:00 UTC (Thu 18 Jun, 05:00 in Tokyo)")
    assert times.in_words(NOON, ZoneInfo("Asia/Dubai")) == "Wed 17 Jun 2026, 16:00 UTC+04"
    settings.STAFF_TIME_ZONE = "Europe/Prague"
    assert times.both(NOON, PRAGUE) == "Wed 17 Jun 2026, 14:00 CEST"
    assert times.both(NOON, ZoneInfo("America/New_York")) == (
        "Wed 17 Jun 2026, 14:00 CEST (08:00 in New York)")


def test_an_unknown_staff_zone_falls_back_to_utc_and_is_reported(settings):
    settings.STAFF_TIME_ZONE = "Mars/Olympus"
    assert times.staff_zone() == ZoneInfo("UTC")
    assert "hogsend.W002" in [message.id for message in run_checks()]
    settings.STAFF_TIME_ZONE = "Europe/Prague"
    assert "hogsend.W002" not in [message.id for message in run_checks()]


def test_a_changed_answer_reads_as_a_change_with_its_questions_button():
    props = {"answer": "yes", "previousAnswer": "no", "linkId": "x"}
    assert labels.event_label("support.followup_answered.changed", props) == (
        "Changed the answer to: Yes, all sorted")
    assert labels.answer_text("support.followup_answered.changed", props) == "Yes, all sorted"
