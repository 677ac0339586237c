"""Onboarding — first-week schedule (the timezone-aware scheduling recipe).

Two sends at wall-clock times in the person's own timezone (`ctx.when`: the
contact's PostHog zone, then its stored zone, then `properties.timezone`,
then DEFAULT_TIMEZONE, then UTC; an invalid name is skipped): the day-one email
at 08:30 the morning after the trial starts, and tips on the next Tuesday at
09:00 inside a 09:00-17:00 window. Each instant is computed once, when its line
runs, and slept to durably; subscribing exits the run mid-sleep.

A trial started on a Monday evening gets day-one on Tuesday at 08:30, when
"next Tuesday 09:00" is half an hour away. Two emails 30 minutes apart read as
a mistake, so tips less than a day after day-one move to the Tuesday after.

It shares `trial.started` with `setup-offer`: a trial gets both, day-one the
next morning and the setup-call offer a day after the start (each journey's
`suppress` gap counts only its own sends). `ENABLED_JOURNEYS` keeps one of them.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours

JOURNEY_ID = "first-week-schedule"
MIN_GAP = days(1)


@define_journey(
    id=JOURNEY_ID,
    name="Onboarding — first-week schedule",
    trigger="trial.started",
    entry_limit="once",
    suppress=hours(12),
    exit_on=["subscription.created"],
)
def first_week_schedule(user: User, ctx: RunContext) -> None:
    ctx.sleep_until(ctx.when.tomorrow().at("08:30"), label="day-1-morning")
    if not ctx.guard.is_subscribed():
        return
    ctx.send("onboarding/day-one", subject="Day one: three things worth doing first")
    working_hours = ctx.when.window("09:00", "17:00")
    tips_at = working_hours.next("tue").at("09:00")
    if tips_at - ctx.now() < MIN_GAP:
        tips_at = working_hours.in_(days(7)).at("09:00")
    ctx.sleep_until(tips_at, label="tuesday-tips")
    if not ctx.guard.is_subscribed():
        return
    ctx.send("onboarding/weekly-tips", subject="Tuesday tips: getting more from your trial")
