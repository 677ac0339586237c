"""One real browser: a customer clicks "No, still broken", comments, and is thanked."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, UserEvent
from tracking.send_types import Origin

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
                       reason="needs /usr/bin/chromium and the playwright package"),
]


def no_button_href(html: str) -> str:
    return re.search(r'<a href="([^"]+)"[^>]*>\s*No, still broken', html).group(1)


@pytest.mark.django_db(transaction=True)
def test_a_customer_answers_no_and_leaves_a_comment(live_server, ada, settings, monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # below are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    settings.PUBLIC_BASE_URL = live_server.url
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        props={"ticketId": "T-9"}, origin=Origin(journey_id="support-followup"))
    send = EmailSend.objects.get(pk=result.email_send_id)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_content(send.html)
            page.screenshot(path=str(ARTIFACTS / "followup-email.png"), full_page=True)
            page.goto(no_button_href(send.html))
            assert re.search(r"/v1/t/a/[0-9a-f-]{36}$", page.url)
            assert page.get_by_role("heading").inner_text() == "Thanks — that's recorded"
            assert "You answered: No, still broken" in page.content()
            assert "answer: no" not in page.content()
            page.screenshot(path=str(ARTIFACTS / "answer-page.png"), full_page=True)
            page.get_by_label("Anything you'd like to add?").fill("It still crashes on save.")
            page.get_by_role("button", name="Send note").click()
            page.wait_for_load_state()
            assert page.get_by_role("heading").inner_text() == "Thank you"
            page.screenshot(path=str(ARTIFACTS / "answer-thanks.png"), full_page=True)
        finally:
            browser.close()
    click = LinkClick.objects.get()
    assert click.confirm_at is not None and click.is_bot is False
    comment = UserEvent.objects.get(event="support.followup_answered.comment")
    assert comment.properties["comment"] == "It still crashes on save."
    assert comment.properties["answer"] == "no"
