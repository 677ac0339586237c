"""The open pixel and click redirect answer every hit, but anyone holding one email
cannot grow the database without bound: rows are written for a few opens and clicks
per send per hour (the rest are counted on the send), hits over a per-IP limit write
nothing, and a person's answer survives a scanner that used up the send's clicks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from tests.tracking.conftest import extra_templates  # noqa: F401  (fixture)
from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, PendingEvent, TrackedLink, UserEvent

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}
SCANNER = {"HTTP_USER_AGENT": "Mozilla/5.0 (compatible; Googlebot/2.1)"}


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def digest(ada, mailoutbox, extra_templates) -> EmailSend:  # noqa: F811
    """A send with three plain links and two answer links."""
    extra_templates("test/digest", """{% load hogsend %}<html><body>
      <a href="https://example.com/a">a</a> <a href="https://example.com/b">b</a>
      <a href="https://example.com/c">c</a>
      {% email_action "digest.rated" rating="up" %}Up{% end_email_action %}
      {% email_action "digest.rated" rating="down" %}Down{% end_email_action %}
      </body></html>""")
    result = email_send(to=ada.email, template="test/digest", contact=ada)
    return EmailSend.objects.get(pk=result.email_send_id)


def plain(send: EmailSend, letter: str) -> TrackedLink:
    return TrackedLink.objects.get(email_send=send, original_url=f"https://example.com/{letter}")


def rating(send: EmailSend, value: str) -> TrackedLink:
    return TrackedLink.objects.get(email_send=send, event_properties__rating=value)


def hit(client, link: TrackedLink, times: int = 1, **headers) -> None:
    for _ in range(times):
        response = client.get(f"/v1/t/c/{link.pk}", **headers)
        assert response.status_code == 302  # never an error, limited or not
        assert response["Location"] == link.original_url or response["Location"].endswith(
            f"/v1/t/a/{link.pk}")


def clicks_of(link: TrackedLink) -> int:
    return LinkClick.objects.filter(tracked_link=link).count()


def test_opens_past_ten_an_hour_are_counted_on_the_send_not_written(client, followup, clock):
    responses = [client.get(f"/v1/t/o/{followup.pk}") for _ in range(25)]
    assert all(r.status_code == 200 and r["Content-Type"] == "image/gif"
               and len(r.content) == 42 for r in responses)
    followup.refresh_from_db()
    assert PendingEvent.objects.filter(event="email.opened").count() == 10
    assert followup.opens_dropped == 15
    assert followup.opened_at == NOON and followup.status == "opened"
    clock.shift(timedelta(hours=1))
    client.get(f"/v1/t/o/{followup.pk}")
    assert PendingEvent.objects.filter(event="email.opened").count() == 11


def test_a_dropped_open_costs_one_read_and_one_update(client, followup, clock,
                                                      django_assert_num_queries):
    for _ in range(10):
        client.get(f"/v1/t/o/{followup.pk}")
    with django_assert_num_queries(2):  # the send's lookup, then opens_dropped + 1
        client.get(f"/v1/t/o/{followup.pk}")
    followup.refresh_from_db()
    assert followup.opens_dropped == 1


def test_clicks_past_the_cap_still_redirect_and_are_counted_on_the_send(client, digest, clock):
    link = plain(digest, "a")
    hit(client, link, 12, **HUMAN)
    assert clicks_of(link) == 5
    assert PendingEvent.objects.filter(event="email.link_clicked").count() == 5
    digest.refresh_from_db()
    assert digest.clicks_dropped == 7 and digest.last_click_dropped_at == NOON
    link.refresh_from_db()
    assert link.click_count == 5


def test_the_first_click_of_each_link_is_written_even_past_the_cap(client, digest, clock):
    hit(client, plain(digest, "a"), 5, **HUMAN)
    hit(client, plain(digest, "b"), 2, **HUMAN)
    hit(client, plain(digest, "c"), 1, **HUMAN)
    assert [clicks_of(plain(digest, x)) for x in "abc"] == [5, 1, 1]
    digest.refresh_from_db()
    assert digest.clicks_dropped == 1


def test_the_caps_can_be_lifted(client, digest, followup, clock, settings):
    settings.TRACKING_OPENS_PER_SEND_HOUR = 0
    settings.TRACKING_CLICKS_PER_SEND_HOUR = 0
    for _ in range(15):
        client.get(f"/v1/t/o/{followup.pk}")
    hit(client, plain(digest, "a"), 15, **HUMAN)
    assert PendingEvent.objects.filter(event="email.opened").count() == 15
    assert clicks_of(plain(digest, "a")) == 15


def test_a_scanner_using_up_the_sends_clicks_does_not_cost_the_person_their_answer(
    client, digest, clock,
):
    for _ in range(3):  # a link scanner fetching every link, answer links included
        for link in [plain(digest, x) for x in "abc"] + [rating(digest, "up"),
                                                         rating(digest, "down")]:
            hit(client, link, **SCANNER)
    digest.refresh_from_db()
    assert digest.clicks_dropped > 0
    clock.shift(timedelta(minutes=5))
    down = rating(digest, "down")
    hit(client, down, **HUMAN)  # not the link's first hit, and the send's cap is used up
    clock.shift(timedelta(seconds=31))
    call_command("run_due")
    answer = UserEvent.objects.get(event="digest.rated")
    assert answer.properties["rating"] == "down"
    assert LinkClick.objects.get(tracked_link=down, confirm_at__isnull=False).outcome == (
        "confirmed")


def test_an_answer_clicked_amid_clicks_over_the_cap_is_a_burst(client, digest, clock):
    for letter in "abc":
        hit(client, plain(digest, letter), 2, **HUMAN)  # cap used up by the person at noon
    clock.shift(timedelta(minutes=10))
    # A scanner with a browser's user agent sweeps again: its plain-link hits are
    # over the cap (no rows), its answer-link hit is written. Without knowing about
    # the dropped hits the burst rule would see one link and confirm the scanner.
    for letter in "abc":
        hit(client, plain(digest, letter), **HUMAN)
    up = rating(digest, "up")
    hit(client, up, **HUMAN)
    clock.shift(timedelta(seconds=31))
    call_command("run_due")
    assert LinkClick.objects.get(tracked_link=up).outcome == "burst"
    assert not UserEvent.objects.filter(event="digest.rated").exists()


def test_hammering_one_answer_link_is_bounded_too(client, digest, clock):
    up = rating(digest, "up")
    hit(client, up, 8, **HUMAN)
    assert clicks_of(up) == 5
    digest.refresh_from_db()
    assert digest.clicks_dropped == 3


def test_hits_over_the_per_ip_limit_get_their_answer_and_write_nothing(
    client, digest, followup, clock, settings,
):
    settings.TRACKING_RATE_LIMIT = "3/min"
    link = plain(digest, "a")
    hit(client, link, 5, REMOTE_ADDR="198.51.100.1", **HUMAN)
    opens = [client.get(f"/v1/t/o/{followup.pk}", REMOTE_ADDR="198.51.100.1")
             for _ in range(5)]
    assert all(r.status_code == 200 and len(r.content) == 42 for r in opens)
    assert clicks_of(link) == 3
    assert PendingEvent.objects.filter(event="email.opened").count() == 3
    digest.refresh_from_db()
    followup.refresh_from_db()
    assert (digest.clicks_dropped, followup.opens_dropped) == (0, 0)  # not even counted
    hit(client, link, REMOTE_ADDR="198.51.100.2", **HUMAN)  # someone else
    assert clicks_of(link) == 4
    clock.shift(timedelta(minutes=1))
    hit(client, link, REMOTE_ADDR="198.51.100.1", **HUMAN)
    assert clicks_of(link) == 5


def test_the_send_admin_page_shows_what_was_only_counted(admin_client, followup, clock):
    for _ in range(12):
        admin_client.get(f"/v1/t/o/{followup.pk}")
    page = admin_client.get(f"/admin/tracking/emailsend/{followup.pk}/change/").content.decode()
    shown = re.sub(r"\s+", " ", page)
    assert '<label>Opens dropped:</label> <div class="readonly">2</div>' in shown
