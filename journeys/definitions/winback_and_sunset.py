"""Retention — win-back, then sunset.

Starts when a person joins the `dormant-30d` bucket (active once, not in the
last 30 days) and ends the moment they leave it: an `app.active` takes them out
of the bucket in real time, and `bucket:left:dormant-30d` exits the run wherever
it is, so someone who came back is never asked whether they want to stay.

1. A win-back email.
2. After 7 quiet days, "Still want to hear from us?" with two one-click answers
   on `repermission.answered` (`stay` / `leave`).
3. Anything but an explicit `stay` within 10 days (`leave`, or silence) is a
   sunset: the person is unsubscribed from everything through the preference
   service (a `PreferenceChange` row, source `journey`, actor this journey), so
   the list keeps only people who want the mail. A failed write fails the run,
   where operators see it.
"""

from __future__ import annotations

from contacts.models import Contact, PreferenceChange
from contacts.preferences import contact_preferences_set
from journeys import RunContext, User, days, define_journey, hours, minutes

JOURNEY_ID = "winback-and-sunset"
ANSWER_EVENT = "repermission.answered"
STAY = "stay"
QUIET_DAYS = days(7)
ANSWER_TIMEOUT = days(10)


def sunset(*, contact_id: str | None, journey_id: str) -> bool:
    """Unsubscribe the person from everything, audited as this journey's write."""
    contact = Contact.objects.get(pk=contact_id)
    contact_preferences_set(contact=contact, unsubscribed_all=True,
                            source=PreferenceChange.Source.JOURNEY, actor=journey_id)
    return True


@define_journey(
    id=JOURNEY_ID,
    name="Retention — win-back and sunset",
    trigger="bucket:entered:dormant-30d",
    # Someone who drifts in and out of dormancy gets this at most twice a year.
    entry_limit="once_per_period",
    entry_period=days(180),
    suppress=hours(24),
    exit_on=["bucket:left:dormant-30d"],
)
def winback_and_sunset(user: User, ctx: RunContext) -> None:
    # Without an address there is no one to win back, and the sunset must not
    # unsubscribe someone who never got the question.
    if not user.email or not ctx.guard.is_subscribed():
        return
    ctx.send("retention/winback", subject="We've missed you")
    ctx.sleep(QUIET_DAYS, label="post-winback")
    # A second guard: they may have unsubscribed during the week (a new call site).
    if not ctx.guard.is_subscribed():
        return
    ctx.send("retention/re-permission", subject="Still want to hear from us?")
    # lookback covers an answer confirmed before the wait is established.
    answer = ctx.wait_for_event(
        ANSWER_EVENT,
        timeout=ANSWER_TIMEOUT,
        label="await-repermission",
        lookback=minutes(30),
    )
    if not answer.timed_out and answer.properties.get("answer") == STAY:
        return
    ctx.ensure_live()
    ctx.once("sunset", lambda: sunset(contact_id=user.contact_id, journey_id=JOURNEY_ID))
    ctx.checkpoint("sunset-applied")
