"""Sales — high-fit lead follow-up (the agent-triggered journeys recipe).

A research agent is one more producer on the data plane: it upserts the lead
(`PUT /v1/contacts`) and posts one outcome, `lead.research_completed {score,
tier}`, keyed by its own run id. The journey, not the agent, decides who
qualifies: only scores 80-100 enrol, so out-of-range model output never mails
anyone. A retried post is a duplicate key (nothing stored); a re-score under a
new key within 30 days is stopped by the entry limit.

The follow-up email goes out at once; a week without `meeting.created` brings
one nudge. A meeting ends the run wherever it is.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours

JOURNEY_ID = "high-fit-followup"
MIN_SCORE, MAX_SCORE = 80, 100


def tier_of(properties: dict) -> str:
    """The agent's tier label, on one line (agents' output varies)."""
    return " ".join(str(properties.get("tier") or "").split())[:60]


@define_journey(
    id=JOURNEY_ID,
    name="Sales — high-fit lead follow-up",
    trigger={
        "event": "lead.research_completed",
        "where": lambda b: [b.prop("score").gte(MIN_SCORE), b.prop("score").lte(MAX_SCORE)],
    },
    entry_limit="once_per_period",
    entry_period=days(30),
    suppress=hours(12),
    exit_on=["meeting.created"],
)
def high_fit_followup(user: User, ctx: RunContext) -> None:
    if not ctx.guard.is_subscribed():
        return
    tier = tier_of(user.properties)
    ctx.send("sales/high-fit", subject="A few ideas for your team", props={"tier": tier})
    # meeting.created is the exit: it ends the run mid-week, so the week it is
    # awaited is a plain sleep (a wait on an exit event would never return a match).
    ctx.sleep(days(7), label="await-meeting")
    if not ctx.guard.is_subscribed():
        return
    ctx.send("sales/high-fit-nudge", subject="Worth a 20-minute call?", props={"tier": tier})
