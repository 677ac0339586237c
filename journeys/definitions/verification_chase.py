"""Lifecycle — verification chase.

The signup handler sends the first `transactional/verify-email` itself
(`POST /v1/emails`: mail the user just asked for) and then posts
`user.signed_up {verify_url, first_name}`, where `verify_url` is a resend-link
URL rather than the raw token, so a reminder's link still works after the first
token expired. This journey is the chase: at most two reminders, at +24 h and
+72 h, with the same template and sharper subjects, each behind the
subscription guard (a reminder is lifecycle mail, never a preference bypass).

Verifying (`user.email_verified`; the `email.` namespace is the engine's) or
deleting the account exits the run wherever it is, so the days the reminders
wait are plain sleeps. A verification stored just before the signup event (the
two race in a signup handler) is found by looking back 30 minutes at the start.
"""

from __future__ import annotations

from journeys import RunContext, User, days, define_journey, hours, minutes

JOURNEY_ID = "verification-chase"
VERIFIED = "user.email_verified"
TEMPLATE = "transactional/verify-email"
FIRST_REMINDER = "Reminder: please verify your email address"
LAST_REMINDER = "Last reminder: verify your email to keep your account"


def verify_url_of(properties: dict) -> str:
    """The resend-link URL, only when it is an absolute http(s) URL."""
    url = str(properties.get("verify_url") or "").strip()
    return url if url.startswith(("https://", "http://")) else ""


@define_journey(
    id=JOURNEY_ID,
    name="Lifecycle — verification chase",
    trigger="user.signed_up",
    # A replayed signup (new key) never restarts the chase.
    entry_limit="once",
    suppress=hours(12),
    exit_on=[VERIFIED, "user.deleted"],
)
def verification_chase(user: User, ctx: RunContext) -> None:
    verify_url = verify_url_of(user.properties)
    if not verify_url:
        ctx.checkpoint("no-verify-url")  # nothing a reminder could link to
        return
    already = ctx.once("verified-before-signup",
                       lambda: ctx.history.has_event(event=VERIFIED, within=minutes(30)).found)
    if already:
        return
    props = {"firstName": str(user.properties.get("first_name") or ""), "verifyUrl": verify_url}
    for label, wait, subject in (("await-verification", hours(24), FIRST_REMINDER),
                                 ("await-verification-2", days(2), LAST_REMINDER)):
        ctx.sleep(wait, label=label)
        if not ctx.guard.is_subscribed():
            return
        ctx.send(TEMPLATE, subject=subject, props=props)
