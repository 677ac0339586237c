"""The review request recipe: 1-5 stars three days after delivery, branched by score."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Alert
from journeys.models import JourneyRun
from tests.recipes.helpers import (
    advance,
    advance_to,
    click,
    email_links,
    events,
    identify,
    mail_to,
    send_event,
    sent,
)
from tracking.models import EmailSend, TrackedLink

pytestmark = pytest.mark.django_db

DELIVERED = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)  # Mon 14:00
ASKED = datetime(2026, 6, 18, 14, 0, tzinfo=UTC)  # Thu 14:00
SHOPPER = "sam@example.com"
SUPPORT_INBOX = "support@example.com"
STARS = {n: "★" * n for n in range(1, 6)}


@pytest.fixture
def clock_start() -> datetime:
    return DELIVERED


@pytest.fixture
def delivered(api, clock) -> None:
    identify(api, "u_sam", SHOPPER)
    send_event(api, "delivery.confirmed", "u_sam", {"order_id": "O1", "product_name": "Kettle"})


@pytest.fixture
def ask(delivered, clock) -> EmailSend:
    advance_to(clock, ASKED)
    (email,) = sent("ecommerce/review-request")
    return email


def the_run() -> JourneyRun:
    return JourneyRun.objects.get(journey_id="review-request")


def rate(client, clock, ask: EmailSend, stars: int, *, at: datetime) -> None:
    clock.move_to(at)
    click(client, email_links(ask)[STARS[stars]])
    advance(clock, timedelta(seconds=30))


def test_the_rating_ask_goes_out_three_days_after_delivery(delivered, clock, mailoutbox):
    assert (the_run().status, the_run().current_step) == ("waiting", "post-delivery")
    advance_to(clock, ASKED - timedelta(seconds=1))
    assert mailoutbox == []
    advance(clock, timedelta(seconds=1))
    (message,) = mailoutbox
    assert (message.to, message.subject) == ([SHOPPER], "How are you getting on with Kettle?")
    (email,) = sent("ecommerce/review-request")
    assert email.sent_at == ASKED and "O1" in email.html
    # Five star buttons, one answer slot, the rating a number.
    ratings = sorted(
        link.event_properties["rating"]
        for link in TrackedLink.objects.filter(email_send=email, event="review.rated")
    )
    assert ratings == [1, 2, 3, 4, 5]
    assert all(type(rating) is int for rating in ratings)
    assert set(STARS.values()) <= set(email_links(email))


def test_five_stars_get_the_public_review_ask(client, clock, ask, mailoutbox):
    saturday = datetime(2026, 6, 20, 10, 0, tzinfo=UTC)  # 44 h after the ask
    rate(client, clock, ask, 5, at=saturday)
    (public,) = sent("ecommerce/review-public-ask")
    assert (public.to_email, public.sent_at) == (SHOPPER, saturday + timedelta(seconds=30))
    assert "Kettle 5 stars" in public.text
    assert the_run().status == "completed"
    assert events("review.needs_followup") == []


def test_four_stars_within_the_24h_suppress_window_still_get_the_public_ask(
    client, clock, ask, mailoutbox
):
    rate(client, clock, ask, 4, at=ASKED + timedelta(hours=1))
    (public,) = sent("ecommerce/review-public-ask")
    assert "Kettle 4 stars" in public.text
    assert len(mail_to(mailoutbox, SHOPPER)) == 2


def test_two_stars_flag_a_follow_up_and_send_the_shopper_nothing_more(
    client, clock, ask, mailoutbox
):
    rate(client, clock, ask, 2, at=ASKED + timedelta(hours=5))
    (flag,) = events("review.needs_followup")
    assert flag.properties == {"order_id": "O1", "rating": 2, "source": "review-request"}
    assert the_run().status == "completed"
    advance(clock, timedelta(minutes=3))
    assert len(mail_to(mailoutbox, SHOPPER)) == 1
    (page,) = mail_to(mailoutbox, SUPPORT_INBOX)
    assert page.subject == f"[Low rating] order O1 — {SHOPPER}"
    assert "rated their order 2 stars out of 5" in page.body and "O1" in page.body
    assert Alert.objects.get().kind == "review_followup"


def test_the_first_rating_wins(client, clock, ask, mailoutbox):
    rate(client, clock, ask, 3, at=ASKED + timedelta(hours=5))
    rate(client, clock, ask, 5, at=ASKED + timedelta(hours=5, minutes=1))
    assert [e.properties["rating"] for e in events("review.rated")] == [3]
    (flag,) = events("review.needs_followup")
    assert flag.properties["rating"] == 3
    assert sent("ecommerce/review-public-ask") == []


def test_a_refund_during_the_wait_exits_the_run_before_anything_is_sent(
    api, delivered, clock, mailoutbox
):
    clock.move_to(datetime(2026, 6, 17, 9, 0, tzinfo=UTC))  # Wednesday
    send_event(api, "order.refunded", "u_sam", {"order_id": "O1"})
    assert the_run().status == "exited"
    advance_to(clock, ASKED + timedelta(days=8))
    assert mailoutbox == [] and EmailSend.objects.count() == 0


def test_a_second_delivery_within_30_days_is_not_asked_about(api, delivered, clock, mailoutbox):
    advance_to(clock, DELIVERED + timedelta(days=10))
    send_event(api, "delivery.confirmed", "u_sam", {"order_id": "O2", "product_name": "Toaster"})
    assert JourneyRun.objects.count() == 1
    advance(clock, timedelta(days=5))
    assert [e.html.count("Toaster") for e in sent("ecommerce/review-request")] == [0]


def test_silence_ends_the_run_after_a_week(clock, ask, mailoutbox):
    advance_to(clock, ASKED + timedelta(days=7))
    assert the_run().status == "completed"
    assert len(mailoutbox) == 1


def test_a_product_name_with_line_breaks_still_makes_a_one_line_subject(api, clock, mailoutbox):
    identify(api, "u_sam", SHOPPER)
    send_event(
        api, "delivery.confirmed", "u_sam", {"order_id": "O3", "product_name": "Kettle\r\nBcc: x"}
    )
    advance_to(clock, ASKED)
    (message,) = mailoutbox
    assert message.subject == "How are you getting on with Kettle Bcc: x?"
