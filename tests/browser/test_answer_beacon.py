"""The answer page's beacon in Chromium: a person's click on the email's button is her
answer within a second or two; a headless browser that only loads the pages, as
script-running link scanners do, gets no answer recorded.

No clock runs beside the live server here, so an answer that appears before the
test calls `run_due` can only have come from the beacon.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from contacts.models import Contact
from tests.browser.walk import LAPTOP, PHONE, axe_check, chromium, needs_chromium
from tracking.mailer import email_send
from tracking.models import EmailSend, LinkClick, UserEvent
from tracking.send_types import Origin

pytestmark = needs_chromium
__all__ = ["chromium"]  # the module's browser (a fixture)

ANSWERED = "support.followup_answered"
# Longer than any "visible and focused for a while" rule would wait.
QUIET = 2.5


@pytest.fixture
def followup(live_server, settings) -> EmailSend:
    """Bea's "Did that fix it?" email, its links pointing at the live server."""
    settings.PUBLIC_BASE_URL = live_server.url
    bea = Contact.objects.create(external_id="u_bea", email="bea@example.com")
    result = email_send(to=bea.email, template="support/followup", contact=bea,
                        props={"ticketId": "T-6643"}, origin=Origin(journey_id="support-followup"))
    return EmailSend.objects.get(pk=result.email_send_id)


@pytest.fixture
def context(chromium) -> Iterator[Any]:
    context = chromium.new_context(viewport=LAPTOP)
    try:
        yield context
    finally:
        context.close()


BUTTONS = ("Yes, all sorted", "No, still broken")


def click_url(send: EmailSend, label: str) -> str:
    """The tracked click URL behind one of the email's answer buttons."""
    return re.search(r'<a href="([^"]+)"[^>]*>\s*' + re.escape(label), send.html).group(1)


def beacons(page: Any) -> list[str]:
    """Record every beacon the page posts (the list fills as they go)."""
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url)
            if request.url.endswith("/seen") else None)
    return sent


def answer_within(seconds: float) -> UserEvent | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = UserEvent.objects.filter(event=ANSWERED).first()
        if event is not None:
            return event
        time.sleep(0.05)
    return None


def settle() -> None:
    """Let the 30 s rule decide whatever the beacon left to it."""
    with time_machine.travel(timezone.now() + timedelta(seconds=31), tick=False):
        call_command("run_due")


def test_her_click_and_a_move_of_the_mouse_record_the_answer_at_once(context, followup):
    page = context.new_page()
    sent = beacons(page)
    page.set_content(followup.html)
    started = time.monotonic()
    page.get_by_role("link", name="No, still broken").click()
    page.wait_for_url("**/v1/t/a/*")
    page.mouse.move(400, 300, steps=4)  # she reads, her pointer moves
    event = answer_within(10)
    elapsed = time.monotonic() - started
    assert event is not None, "the beacon did not confirm the answer"
    assert event.properties["answer"] == "no" and elapsed < 10
    assert len(sent) == 1  # one beacon a page, however much she moves
    page.mouse.move(100, 100, steps=4)
    page.keyboard.press("Tab")
    assert LinkClick.objects.get().outcome == "confirmed" and len(sent) == 1
    axe_check(page, "answer page with its beacon script")


def test_on_a_phone_her_tap_records_the_answer(chromium, followup):
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.set_content(followup.html)
        page.get_by_role("link", name="Yes, all sorted").tap()
        page.wait_for_url("**/v1/t/a/*")
        assert answer_within(QUIET) is None  # landing alone is not enough
        page.get_by_role("heading", level=1).tap()
        event = answer_within(10)
        assert event is not None and event.properties["answer"] == "yes"
    finally:
        context.close()


def test_a_key_press_on_the_page_is_enough(context, followup):
    page = context.new_page()
    page.goto(click_url(followup, "No, still broken"))
    page.keyboard.press("Tab")
    assert answer_within(10) is not None


def test_a_headless_browser_loading_both_answer_pages_records_no_answer(context, followup):
    pages = [context.new_page() for _ in BUTTONS]
    sent = [beacons(page) for page in pages]
    for page, label in zip(pages, BUTTONS, strict=True):
        page.goto(click_url(followup, label))
    for page in pages:
        assert re.search(r"/v1/t/a/[0-9a-f-]{36}$", page.url)
        # Chromium calls a headless page visible and focused: no help in telling.
        assert page.evaluate("document.visibilityState === 'visible' && document.hasFocus()")
    time.sleep(QUIET)
    assert sent == [[], []]
    assert not UserEvent.objects.filter(event=ANSWERED).exists()
    settle()
    assert not UserEvent.objects.filter(event=ANSWERED).exists()
    assert set(LinkClick.objects.values_list("outcome", flat=True)) == {"burst"}


def test_events_a_script_makes_up_do_not_count(context, followup):
    page = context.new_page()
    sent = beacons(page)
    page.goto(click_url(followup, "No, still broken"))
    page.evaluate("""() => {
        for (const kind of ["pointermove", "pointerdown"]) {
            window.dispatchEvent(new PointerEvent(kind, {bubbles: true}));
        }
        document.body.dispatchEvent(new KeyboardEvent("keydown", {key: "Tab", bubbles: true}));
        document.querySelector("textarea").focus();
    }""")
    time.sleep(QUIET)
    assert sent == [] and not UserEvent.objects.filter(event=ANSWERED).exists()
    assert LinkClick.objects.get().outcome == ""  # left to the 30 s rule


def test_input_on_a_page_without_focus_does_not_count(context, followup):
    page = context.new_page()
    sent = beacons(page)
    page.goto(click_url(followup, "No, still broken"))
    page.evaluate("() => { document.hasFocus = () => false; }")
    page.mouse.move(300, 200, steps=4)
    time.sleep(QUIET)
    assert sent == [] and not UserEvent.objects.filter(event=ANSWERED).exists()
