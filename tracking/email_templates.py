"""The project's email templates and lists: default subjects and categories.

Bodies live in `templates/emails/<key>.html|.txt`. A pair without an entry
here still sends (category `journey`, subject = key); an entry here whose files
are missing, or whose category is not a built-in or an enabled topic list,
stops start-up (system checks hogsend.E101 / E102).
"""

from __future__ import annotations

from tracking.categories import JOURNEY, TRANSACTIONAL, register_list
from tracking.templates_registry import register_template

register_list(
    "digest",
    name="Weekly digest",
    description="A Monday summary of what happened in your projects.",
    default_opt_in=True,
)

register_template("support/followup", subject="Did that fix it?", category=JOURNEY,
                  description="Asks the day after a ticket is resolved whether the fix worked.")
register_template("transactional/support-alert", subject="Customer says the fix didn't work",
                  category=TRANSACTIONAL, description="To the support inbox: reopen request.")
register_template("feedback/nps-survey", subject="How likely are you to recommend us?",
                  category=JOURNEY, description="NPS in three bands.")
register_template("feedback/nps-survey-0-10", subject="How likely are you to recommend us?",
                  category=JOURNEY, description="NPS with eleven score buttons.")
register_template("feedback/referral-ask", subject="Thanks! Know someone who'd like us too?",
                  category=JOURNEY, description="To promoters after an NPS answer.")
register_template("transactional/nps-detractor-alert", subject="NPS detractor to follow up",
                  category=TRANSACTIONAL, description="To the team: a detractor answered.")
register_template("retention-weekly-digest", subject="Your week in reports",
                  category="digest", description="Weekly activity summary.")
register_template("transactional/lead-alert", subject="New lead wants a setup call",
                  category=TRANSACTIONAL, description="To sales: an interested lead.")
register_template("ecommerce/review-request", subject="How are you getting on with your order?",
                  category=JOURNEY, description="Five-star rating request after delivery.")
register_template("ecommerce/review-public-ask", subject="Would you share that in a review?",
                  category=JOURNEY, description="To happy shoppers: public review ask.")
register_template("offer/setup-call", subject="Want a hand getting set up?", category=JOURNEY,
                  description="Trial day 2: offers a setup call (interested / not now).")
register_template("transactional/review-alert", subject="Low rating to follow up",
                  category=TRANSACTIONAL, description="To support: a shopper rated 1-3 stars.")
register_template("retention/winback", subject="We've missed you", category=JOURNEY,
                  description="To people dormant for 30 days.")
register_template("retention/re-permission", subject="Still want to hear from us?",
                  category=JOURNEY,
                  description="Stay / leave after a quiet week; silence unsubscribes.")
register_template("lifecycle/trial-expiring", subject="Your trial ends soon", category=JOURNEY,
                  description="Trial reminder; with discountPercent, the last-chance offer.")
register_template("sales/high-fit", subject="A few ideas for your team", category=JOURNEY,
                  description="To a lead an agent scored 80-100: the follow-up.")
register_template("sales/high-fit-nudge", subject="Worth a 20-minute call?", category=JOURNEY,
                  description="A week later, when no meeting was booked.")
register_template("transactional/verify-email", subject="Verify your email address",
                  category=TRANSACTIONAL,
                  description="Signup verification; the verification chase reuses it as reminders.")
register_template("transactional/csm-alert", subject="New enterprise signup",
                  category=TRANSACTIONAL, description="To customer success: page or reminder.")
register_template("onboarding/concierge-intro", subject="Meet your onboarding contact",
                  category=JOURNEY, description="Enterprise signup: the CSM who reached out.")
register_template("onboarding/enterprise-welcome", subject="Welcome aboard", category=JOURNEY,
                  description="Enterprise signup no CSM reached within two days.")
register_template("transactional/approval-request", subject="Approval needed",
                  category=TRANSACTIONAL, description="To the approver: approve / reject an offer.")
register_template("winback/standard", subject="We'd love to have you back", category=JOURNEY,
                  description="At-risk account: the pre-approved email.")
register_template("winback/discount-offer", subject="A discount to welcome you back",
                  category=JOURNEY, description="At-risk account: the approved discount.")
register_template("onboarding/day-one", subject="Day one: three things worth doing first",
                  category=JOURNEY, description="Trial: 08:30 local the morning after it starts.")
register_template("onboarding/weekly-tips", subject="Tuesday tips", category=JOURNEY,
                  description="Trial: the next Tuesday at 09:00 local.")
