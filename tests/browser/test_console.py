"""The support console in a real browser: a support agent finds a contact, opens a
waiting run, reads its timeline and exits it, acknowledges an alert, and
unsubscribes the contact, seeing the audit entry."""

from __future__ import annotations

import importlib.util
import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from alerts.models import Alert
from contacts.models import Contact, PreferenceChange
from hogsend_site.staff import support_group_sync
from journeys.models import JourneyRun
from tracking.ingest import EventInput, event_ingest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# A rendered admin page as PNG is tens of kilobytes; a blank one is a few.
MIN_SCREENSHOT_BYTES = 8_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
                       reason="needs /usr/bin/chromium and the playwright package"),
]


def shot(page, name: str) -> None:
    """Save a full-page screenshot and check the page is not blank."""
    ARTIFACTS.mkdir(exist_ok=True)
    png = page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)
    assert len(png) > MIN_SCREENSHOT_BYTES, f"{name}: screenshot looks blank ({len(png)} bytes)"
    assert page.evaluate("document.body.innerText.length") > 0, f"{name}: no text"


@pytest.fixture
def story(db, django_user_model) -> dict[str, object]:
    agent = django_user_model.objects.create_user("sam", password="sam-pw-123", is_staff=True)
    agent.groups.add(support_group_sync())
    event_ingest(EventInput(name="ticket.resolved", user_id="u_ada", email="ada@example.com",
                            properties={"ticket_id": "T-9"}))
    call_command("run_due", "--inline", stdout=io.StringIO())
    contact = Contact.objects.get(external_id="u_ada")
    run = JourneyRun.objects.get(journey_id="support-followup", contact=contact)
    assert run.status == "waiting"
    alert = Alert.objects.create(kind="reopen_requested", title="Ada asked to reopen T-9",
                                 contact=contact, journey_run=run, dedupe_key="reopen:T-9")
    return {"contact": contact, "run": run, "alert": alert}


@pytest.mark.django_db(transaction=True)
def test_a_support_agent_works_the_console(live_server, story, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # below are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    run, alert = story["run"], story["alert"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{live_server.url}/admin/")
            page.fill("#id_username", "sam")
            page.fill("#id_password", "sam-pw-123")
            page.click("input[type=submit]")
            expect(page.locator("#support-console")).to_be_visible()
            shot(page, "index")

            # The journeys at a glance: the waiting run is counted.
            page.click("#support-console >> text=Journeys overview")
            row = page.locator("#journeys-overview tr[data-journey='support-followup']")
            expect(row).to_contain_text("Support — resolution follow-up")
            shot(page, "journeys-overview")

            # Find the contact by email.
            page.goto(f"{live_server.url}/admin/")
            page.click("#support-console >> text=Find a contact")
            page.fill("#searchbar", "ADA@example.com")
            page.press("#searchbar", "Enter")
            page.click("#result_list a:text('ada@example.com')")
            expect(page.locator("#support-panel")).to_contain_text("subscribed")
            shot(page, "contact")

            # Open the waiting run, read its timeline, exit it.
            page.click(f"a[href$='/journeys/journeyrun/{run.pk}/change/']")
            expect(page.locator(".field-state_summary")).to_contain_text("Waiting until")
            timeline = page.locator(".field-timeline")
            expect(timeline).to_contain_text("entered")
            expect(timeline).to_contain_text("next-morning")
            shot(page, "run-waiting")
            page.click("#exit-run")
            expect(page.locator(".messagelist")).to_contain_text(f"Run {str(run.pk)[:8]} exited.")
            expect(page.locator(".field-state_summary")).to_contain_text("Exited")
            shot(page, "run-exited")

            # Acknowledge the alert from the queue.
            page.goto(f"{live_server.url}/admin/alerts/alert/")
            page.click(f"#result_list a:text('{alert.title}')")
            page.click("#acknowledge-alert")
            expect(page.locator(".messagelist")).to_contain_text("Marked 1 alert(s) acknowledged.")
            expect(page.locator(".field-status")).to_contain_text(
                re.compile("acknowledged", re.IGNORECASE))
            shot(page, "alert-acknowledged")

            # Unsubscribe the contact; the audit shows who did it.
            page.goto(f"{live_server.url}/admin/contacts/contact/{story['contact'].pk}/change/")
            page.click("#unsubscribe-all")
            expect(page.locator("#subscription-state")).to_have_text(
                "unsubscribed from everything")
            audit = page.locator(".field-preference_audit")
            expect(audit).to_contain_text("sam")
            expect(audit).to_contain_text("staff")
            expect(audit).to_contain_text("unsubscribed from everything")
            shot(page, "contact-unsubscribed")
        finally:
            browser.close()
    run.refresh_from_db()
    alert.refresh_from_db()
    assert (run.status, run.exit_reason) == ("exited", "admin:sam")
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "sam")
    change = PreferenceChange.objects.get()
    assert (change.source, change.actor) == ("staff", "sam")
