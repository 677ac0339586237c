"""The customer's pages in Chromium on a 390x844 phone and a 1366x768 laptop, each
reached the way she reaches it: from the email's own links, by clicking. Every page
is saved as var/screenshots/customer-<page>-<viewport>.png and passes axe-core
with no serious or critical violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contacts.models import Contact, EmailPreference
from tests.browser.walk import VIEWPORTS, axe_check, chromium, look, needs_chromium
from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, UserEvent
from tracking.send_types import Origin

pytestmark = needs_chromium
__all__ = ["chromium"]  # the module's browser (a fixture)

NOTE = "It works on small reports now, but the 40-page one still stops at 80 %."


def unsubscribed_from_everything() -> bool:
    return EmailPreference.objects.filter(email="bea@example.com", unsubscribed_all=True).exists()


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> str:
    return request.param


@pytest.fixture
def inbox(live_server, chromium, settings, viewport) -> Iterator[tuple[Any, EmailSend]]:
    """Bea's "Did that fix it?" email (links to the live server), open in a window
    of the viewport's size."""
    settings.PUBLIC_BASE_URL = live_server.url
    bea = Contact.objects.create(external_id="u_bea", email="bea@example.com",
                                 timezone="Europe/Prague")
    result = email_send(to=bea.email, template="support/followup", contact=bea,
                        props={"ticketId": "T-6643"}, origin=Origin(journey_id="support-followup"))
    send = EmailSend.objects.get(pk=result.email_send_id)
    context = chromium.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    try:
        page.set_content(send.html)
        yield page, send
    finally:
        context.close()


def test_she_answers_from_the_email_and_her_note_is_thanked(inbox, viewport):
    from playwright.sync_api import expect

    page, send = inbox
    # The email itself is a mail client's page, not one of ours: a screenshot only.
    look(page, "customer-email", viewport, axe=False)
    page.get_by_role("link", name="Yes, all sorted").click()
    page.wait_for_url("**/v1/t/a/*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Thanks — that's recorded")
    expect(page.locator("#question")).to_have_text("Did that fix it?")
    expect(page.locator("#your-answer")).to_have_text("You answered: Yes, all sorted")
    assert "answer: yes" not in page.content() and "ticketId" not in page.content()
    look(page, "customer-answer", viewport)

    page.get_by_label("Anything you'd like to add?").fill(NOTE)
    page.get_by_role("button", name="Send note").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.locator("blockquote.note")).to_have_text(NOTE)
    look(page, "customer-thanks", viewport)

    click = LinkClick.objects.get(tracked_link__email_send=send)
    assert click.is_bot is False
    comment = UserEvent.objects.get(event="support.followup_answered.comment")
    assert (comment.properties["comment"], comment.properties["answer"]) == (NOTE, "yes")


def test_she_unsubscribes_from_the_email_and_manages_her_preferences(inbox, viewport):
    from playwright.sync_api import expect

    page, _send = inbox
    page.get_by_role("link", name="Unsubscribe").click()
    page.wait_for_url("**/v1/email/unsubscribe?*")
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe?")
    expect(page.locator("main")).to_contain_text("bea@example.com will stop receiving")
    look(page, "customer-unsubscribe", viewport)
    # The confirmation page changes nothing; the button does.
    assert not unsubscribed_from_everything()

    page.get_by_role("button", name="Yes, unsubscribe me").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You're unsubscribed")
    look(page, "customer-unsubscribed", viewport)
    assert unsubscribed_from_everything()

    page.get_by_role("link", name="Manage your email preferences").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email preferences")
    everything = page.locator("input[name=unsubscribed_all]")
    expect(everything).to_be_checked()
    look(page, "customer-preferences", viewport)

    everything.uncheck()
    page.get_by_role("button", name="Save preferences").click()
    expect(page.get_by_role("status")).to_have_text("Your preferences are saved.")
    expect(page.locator("input[name=unsubscribed_all]")).not_to_be_checked()
    look(page, "customer-preferences-saved", viewport)
    assert not unsubscribed_from_everything()


def test_the_accessibility_check_fails_a_page_with_unreadable_text(chromium):
    """The check that guards every page above is live: grey on white fails it."""
    page = chromium.new_page()
    try:
        page.set_content('<!DOCTYPE html><html lang="en"><head><title>Low contrast</title></head>'
                         '<body><main><p style="color:#bbb;background:#fff">Hard to read'
                         "</p></main></body></html>")
        with pytest.raises(AssertionError, match=r"\[serious\] color-contrast"):
            axe_check(page, "a low-contrast page")
    finally:
        page.close()
