"""E-commerce — review request, at most once per 30 days per shopper.

Three days after delivery, ask for a 1-5 star rating (five one-click buttons
on `review.rated`, one answer slot). 1-3 stars send the shopper nothing and
fire `review.needs_followup` for the support team; 4-5 stars get the public
review ask, even inside the 24 h suppress window (a run's own sends never
suppress its later ones). Silence ends the run; a refund exits it.
"""

from __future__ import annotations

import math

from journeys import RunContext, User, days, define_journey, hours, minutes


def _rating(value: object) -> int | float | None:
    """The rating as a number: a missing rating is 0 (followed up like a poor one),
    junk is None."""
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


@define_journey(
    id="review-request",
    name="E-commerce — review request",
    trigger="delivery.confirmed",
    entry_limit="once_per_period",
    entry_period=days(30),
    suppress=hours(24),
    # The awaited review.rated must never be an exit event.
    exit_on=["order.refunded"],
)
def review_request(user: User, ctx: RunContext) -> None:
    order_id = str(user.properties.get("order_id") or "")
    # One line: it goes into the subject, and a header never carries a newline.
    product_name = " ".join(str(user.properties.get("product_name") or "").split()) or "your order"
    ctx.sleep(days(3), label="post-delivery")
    if not ctx.guard.is_subscribed():
        return
    ctx.send(
        "ecommerce/review-request",
        subject=f"How are you getting on with {product_name}?",
        props={"orderId": order_id, "productName": product_name},
    )
    answer = ctx.wait_for_event(
        "review.rated", timeout=days(7), label="await-rating", lookback=minutes(30)
    )
    if answer.timed_out:
        return
    rating = _rating(answer.properties.get("rating"))
    if rating is None:
        return
    if rating <= 3:
        ctx.trigger(
            "review.needs_followup",
            {"order_id": order_id, "rating": rating, "source": "review-request"},
        )
        return
    if rating >= 4 and ctx.guard.is_subscribed():
        ctx.send(
            "ecommerce/review-public-ask",
            subject="Would you share that in a review?",
            props={"orderId": order_id, "productName": product_name, "rating": rating},
        )
