"""Feedback — NPS survey, at most once per 90 days per active user.

Three one-click bands on `nps.submitted`. A detractor gets no automated reply:
`nps.detractor_flagged` (scalars only) pages a human. A promoter gets the
referral ask, even inside the 24 h suppress window (a run's own sends never
suppress its later ones). A passive answer, or silence, ends the run.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours, minutes


@define_journey(
    id="nps-survey",
    name="Feedback — NPS survey",
    # Any activity makes a user eligible; the entry limit is the cadence.
    trigger="app.active",
    entry_limit="once_per_period",
    entry_period=days(90),
    suppress=hours(24),
)
def nps_survey(user: User, ctx: RunContext) -> None:
    if not user.email:
        return  # any activity enrols: don't park a week-long wait for no one to ask
    ctx.send("feedback/nps-survey", subject="How likely are you to recommend us?")
    answer = ctx.wait_for_event(
        "nps.submitted", timeout=days(7), label="await-score", lookback=minutes(30)
    )
    if answer.timed_out:
        return
    band = answer.properties.get("band")
    score = answer.properties.get("score")
    if band is None and isinstance(score, int):
        band = "detractor" if score <= 6 else "passive" if score <= 8 else "promoter"
    if band == "detractor":
        ctx.trigger("nps.detractor_flagged", {
            "band": "detractor",
            "score": score,
            "sourceEvent": "nps.submitted",
            "sourceTemplate": "feedback/nps-survey",
            "answeredAt": (answer.occurred_at or ctx.now()).isoformat(),
        })
        ctx.checkpoint("detractor-flagged")
        return
    if band == "promoter" and ctx.guard.is_subscribed():
        ctx.send("feedback/referral-ask",
                 subject="Glad it's working — know a team who'd want this?")
