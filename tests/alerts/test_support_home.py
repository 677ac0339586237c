"""The support home: the admin index for support staff is a dashboard of open
alerts (the customer's own words first), answers, stranded runs and charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from alerts.cron import stranded_runs_check
from alerts.dashboard import answer_tally, nps_band
from alerts.models import Alert
from alerts.services import alert_set_status
from contacts.models import Contact
from journeys.models import JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    answer_page,
    click,
    comment,
    email_links,
    identify,
    send_event,
)
from tracking.ingest import EventInput, event_ingest
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db

INDEX = "admin:index"
SVG = "{http://www.w3.org/2000/svg}"
# Last week: Thursday 11 June 2026; this week starts Monday 15 June; today is Wednesday 17.
LAST_THURSDAY = datetime(2026, 6, 11, 14, 40, tzinfo=UTC)
MONDAY = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
TUESDAY = datetime(2026, 6, 16, 14, 40, tzinfo=UTC)
WEDNESDAY_9_BERLIN = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)


def followup_email(user_id: str) -> EmailSend:
    return EmailSend.objects.get(template_key="support/followup", user_key=user_id)


def survey_email(user_id: str) -> EmailSend:
    return EmailSend.objects.get(template_key="feedback/nps-survey", user_key=user_id)


def resolve_ticket(api, user_id: str, ticket: str) -> None:
    identify(api, user_id, f"{user_id[2:]}@example.com", timezone="Europe/Berlin")
    send_event(api, "ticket.resolved", user_id, {"ticket_id": ticket})


def take_survey(api, user_id: str) -> None:
    identify(api, user_id, f"{user_id[2:]}@example.com", timezone="Europe/Berlin")
    send_event(api, "app.active", user_id)


def answer(client, clock, email: EmailSend, label: str, note: str = "") -> None:
    """Tap a button (and type a note on the page it opens); the answer is confirmed 30 s on."""
    if note:
        comment(client, answer_page(client, email_links(email)[label]), note)
    else:
        click(client, email_links(email)[label])
    advance(clock, timedelta(seconds=31))


@pytest.fixture
def week(api, client, mailoutbox) -> dict[str, object]:
    """Two weeks of support, through the public paths and the clock.

    Last week: Cy answered the follow-up "yes", Hal was a promoter.
    Monday: Dee passive, Eve a detractor who wrote "Too slow".
    Tuesday: a failed run raised a stranded-runs alert, resolved at once.
    Today (Wednesday): Bob "yes", Ivy silent, Ada "no" with a note on T-9.
    """
    with time_machine.travel(LAST_THURSDAY, tick=False) as clock:
        resolve_ticket(api, "u_cy", "T-1")
        take_survey(api, "u_hal")
        answer(client, clock, survey_email("u_hal"), "9–10")
        advance_to(clock, LAST_THURSDAY + timedelta(hours=16, minutes=20))  # Fri 09:00 Berlin
        answer(client, clock, followup_email("u_cy"), "Yes, all sorted")

        clock.move_to(MONDAY)
        take_survey(api, "u_dee")
        take_survey(api, "u_eve")
        answer(client, clock, survey_email("u_dee"), "7–8")
        answer(client, clock, survey_email("u_eve"), "0–6", note="Too slow")
        advance(clock, timedelta(minutes=3))  # the detractor alert's grace window

        advance_to(clock, TUESDAY)
        fay = Contact.objects.create(external_id="u_fay", email="fay@example.com")
        JourneyRun.objects.create(journey_id="nps-survey", contact=fay, user_key=fay.key,
                                  status="failed", error_message="ValueError: boom")
        stranded = stranded_runs_check()["alert"]
        alert_set_status(alert_id=stranded, status="resolved", actor="sam")
        for user_id, ticket in (("u_ada", "T-9"), ("u_bob", "T-8"), ("u_ivy", "T-7")):
            resolve_ticket(api, user_id, ticket)

        advance_to(clock, WEDNESDAY_9_BERLIN)
        answer(client, clock, followup_email("u_bob"), "Yes, all sorted")
        clock.shift(timedelta(hours=1))
        answer(client, clock, followup_email("u_ada"), "No, still broken",
               note="Still crashes when I export to PDF.")
        advance(clock, timedelta(minutes=3))  # the reopen alert's grace window
        yield {"clock": clock}


def chart(html: str, chart_id: str) -> ET.Element:
    svg = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', html, re.S).group(0)
    return ET.fromstring(svg)


def points(svg: ET.Element) -> dict[str, dict[str, str]]:
    """{series: {label: value}} of the bars and points drawn."""
    found: dict[str, dict[str, str]] = {}
    for element in svg.iter():
        if "data-value" in element.attrib:
            found.setdefault(element.get("data-series"), {})[element.get("data-label")] = (
                element.get("data-value"))
    return found


def test_the_home_leads_with_the_open_alerts_in_the_customers_own_words(week, support_client):
    week["clock"].shift(timedelta(minutes=2))
    response = support_client.get(reverse(INDEX))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Support home</h1>" in html
    # The alerts come before everything else on the page, the newest first.
    assert html.index('id="open-alerts"') < html.index('id="answers"') < html.index(
        'id="support-console"') < html.index('id="every-table"')
    rows = re.findall(r'<tr class="alert-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 2  # the resolved stranded-runs alert is not listed
    ada, eve = rows
    reopen = Alert.objects.get(kind="reopen_requested")
    assert '<q class="customer-words">Still crashes when I export to PDF.</q>' in ada
    assert reverse("admin:alerts_alert_change", args=[reopen.pk]) in ada
    assert '<td class="alert-ticket" data-label="Ticket">T-9</td>' in ada
    assert "ada@example.com" in ada and "Reopen requested" in ada
    assert reverse("admin:contacts_contact_change", args=[reopen.contact_id]) in ada
    assert "17 Jun 2026, 08:04 UTC" in ada and "2\xa0minutes ago" in ada
    assert '<q class="customer-words">Too slow</q>' in eve and "NPS detractor" in eve
    assert "Open alerts <span class=\"support-count\">(2)</span>" in html


def cells(html: str, period: str) -> dict[str, str]:
    row = re.search(rf'<tr data-period="{period}">(.*?)</tr>', html, re.S).group(1)
    return dict(re.findall(r'<td data-kind="(\w+)"><a href="[^"]+">(\d+)</a></td>', row))


def test_the_home_counts_todays_and_this_weeks_answers(week, support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    assert cells(html, "today") == {"yes": "1", "no": "1", "promoter": "0", "passive": "0",
                                    "detractor": "0"}
    assert cells(html, "this-week") == {"yes": "1", "no": "1", "promoter": "0", "passive": "1",
                                        "detractor": "1"}
    assert "since Monday 15 Jun, 00:00 UTC" in html


def test_each_answer_count_opens_the_answers_list_filtered_to_it(week, support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    row = re.search(r'<tr data-period="this-week">(.*?)</tr>', html, re.S).group(1)
    link = re.search(r'<td data-kind="detractor"><a href="([^"]+)">', row).group(1)
    listing = support_client.get(link.replace("&amp;", "&"))
    assert listing.status_code == 200
    answers = listing.context["cl"].result_list
    assert [(a.user_key, a.properties["band"]) for a in answers] == [("u_eve", "detractor")]
    today = re.search(r'<tr data-period="today">(.*?)</tr>', html, re.S).group(1)
    link = re.search(r'<td data-kind="yes"><a href="([^"]+)">', today).group(1)
    listing = support_client.get(link.replace("&amp;", "&"))
    assert [a.user_key for a in listing.context["cl"].result_list] == ["u_bob"]


def test_the_home_counts_the_stranded_runs_and_links_them(week, support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    assert '<strong id="stranded-count">1</strong> run past its deadline' in html
    assert reverse("admin:journeys_strandedrun_changelist") in html


def test_the_charts_draw_the_weeks_answer_rates_csat_and_nps(week, support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    rate = points(chart(html, "chart-answer-rate"))
    # Cy's follow-up was answered; of Ada's, Bob's and Ivy's, two were. Hal's survey
    # was answered and his referral ask was not; Dee and Eve both answered.
    assert rate == {"Support — resolution follow-up": {"8 Jun": "100", "15 Jun": "66.7"},
                    "Feedback — NPS survey": {"8 Jun": "50", "15 Jun": "100"}}
    assert points(chart(html, "chart-csat")) == {
        "Support — resolution follow-up": {"8 Jun": "100", "15 Jun": "50"}}
    nps = chart(html, "chart-nps")
    assert points(nps) == {"NPS": {"8 Jun": "100", "15 Jun": "-50"}}
    bars = {bar.get("data-label"): bar for bar in nps.iter(f"{SVG}rect")
            if bar.get("data-value")}
    (zero,) = [line for line in nps.iter(f"{SVG}line") if line.get("class") == "zero"]
    # +100 stands on the zero line, −50 hangs from it, half as long.
    up, down, zero_y = bars["8 Jun"], bars["15 Jun"], float(zero.get("y1"))
    assert float(up.get("y")) + float(up.get("height")) == pytest.approx(zero_y, abs=0.1)
    assert float(down.get("y")) == pytest.approx(zero_y, abs=0.1)
    assert float(down.get("height")) == pytest.approx(float(up.get("height")) / 2, abs=0.1)
    assert "error-fg" in down.get("style") and "link-fg" in up.get("style")
    assert "−50 (0 promoters, 1 passives, 1 detractors)" in ET.tostring(nps, encoding="unicode")


def test_the_alerts_chart_counts_alerts_opened_and_resolved_per_day(week, support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    flow = points(chart(html, "chart-alerts"))
    opened = {day: n for day, n in flow["Opened"].items() if n != "0"}
    resolved = {day: n for day, n in flow["Resolved"].items() if n != "0"}
    assert opened == {"15 Jun": "1", "16 Jun": "1", "17 Jun": "1"}
    assert resolved == {"16 Jun": "1"}
    assert len(flow["Opened"]) == 14 and "4 Jun" in flow["Opened"]


def test_every_chart_is_a_named_image_with_its_numbers_beside_it(week, support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    for chart_id in ("chart-answer-rate", "chart-csat", "chart-nps", "chart-alerts"):
        svg = chart(html, chart_id)
        assert svg.get("role") == "img" and svg.get("aria-label")
        assert svg.find(f"{SVG}title").text == svg.get("aria-label")
        assert svg.find(f"{SVG}desc").get("id") == svg.get("aria-describedby")
    assert html.count("<summary>The numbers</summary>") == 4
    assert "<script" not in html.split('id="support-home"')[1].split('id="support-console"')[0]


def test_the_home_costs_a_fixed_number_of_queries(week, support_client,
                                                  django_assert_max_num_queries):
    # Session, user, the user's and group's permissions, the recent-actions box, and
    # the home's seven aggregate reads.
    with django_assert_max_num_queries(12):
        assert support_client.get(reverse(INDEX)).status_code == 200


def test_more_alerts_and_answers_cost_no_more_queries(week, support_client,
                                                      django_assert_num_queries, api, client):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # the story filled the query log: a full log captures nothing
    with CaptureQueriesContext(connection) as before:
        support_client.get(reverse(INDEX))
    expected = len(before)
    clock = week["clock"]
    for n in range(3):
        take_survey(api, f"u_new{n}")
        answer(client, clock, survey_email(f"u_new{n}"), "0–6", note=f"meh {n}")
    advance(clock, timedelta(minutes=3))
    assert Alert.objects.filter(status="open").count() == 5
    reset_queries()
    with django_assert_num_queries(expected):
        html = support_client.get(reverse(INDEX)).content.decode()
    assert cells(html, "today")["detractor"] == "3"


def test_a_superuser_sees_the_home_too(week, admin_client):
    html = admin_client.get(reverse(INDEX)).content.decode()
    assert 'id="support-home"' in html and "Still crashes when I export to PDF." in html
    assert 'id="chart-nps"' in html


def test_staff_without_the_support_pages_keep_the_plain_index(week, django_user_model):
    clerk = django_user_model.objects.create_user("clerk", is_staff=True)
    client = Client()
    client.force_login(clerk)
    html = client.get(reverse(INDEX)).content.decode()
    assert 'id="support-home"' not in html and "Still crashes" not in html


def test_an_empty_home_says_so_rather_than_drawing_empty_axes(support_client):
    html = support_client.get(reverse(INDEX)).content.decode()
    assert "No open alerts." in html
    assert html.count("No data yet") == 4
    assert '<strong id="stranded-count">0</strong> runs past their deadline' in html


# --- the reads ------------------------------------------------------------------------


def stored_answer(send_id: str, at: datetime, **properties) -> None:
    """An answer as tracking.semantic stores it: under its `sem:` key."""
    event_ingest(EventInput(name=properties.pop("event", "support.followup_answered"),
                            user_id="u_zed", occurred_at=at,
                            idempotency_key=f"sem:{send_id}:x", properties=properties))


def test_days_and_weeks_are_the_admins_time_zone(db):
    late_tuesday = datetime(2026, 6, 16, 22, 30, tzinfo=UTC)  # Wed 00:30 in Berlin
    stored_answer("s1", late_tuesday, answer="yes", journeyId="support-followup")
    since = datetime(2026, 6, 1, tzinfo=UTC)
    with timezone.override("UTC"):
        assert {day.day for day, _ in answer_tally(since=since).cells} == {16}
    with timezone.override("Europe/Berlin"):
        assert {day.day for day, _ in answer_tally(since=since).cells} == {17}


def test_a_score_only_nps_answer_counts_in_its_band(db):
    now = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)
    for n, score in enumerate((3, 8, 10, 10)):
        stored_answer(f"s{n}", now, event="nps.submitted", score=score, journeyId="nps-survey")
    totals = answer_tally(since=now - timedelta(days=1)).total(since=now.date())
    assert (totals["detractor"], totals["passive"], totals["promoter"]) == (1, 1, 2)
    assert [nps_band(None, s) for s in (0, 6, 7, 9, "10", 11, "x")] == [
        "detractor", "detractor", "passive", "promoter", "promoter", None, None]
