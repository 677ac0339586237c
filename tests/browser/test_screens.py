"""Support screens in a real browser on a 1366×768 laptop: every changelist fits
without a horizontal scroll bar, the contact page reads as a timeline for the
support group, and the email preview shows desktop width with a phone switch.

Screenshots land in var/screenshots/ (changelist-<app>-<model>.png,
contact-support.png, email-preview-desktop.png, email-preview-phone.png).
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from alerts.models import WebhookDelivery, WebhookEndpoint
from contacts.models import Contact
from hogsend_site.auth import api_key_create
from hogsend_site.staff import support_group_sync
from tracking.models import EmailSend

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LAPTOP = {"width": 1366, "height": 768}
# A rendered admin page as PNG is tens of kilobytes; a blank one is a few.
MIN_SCREENSHOT_BYTES = 8_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
                       reason="needs /usr/bin/chromium and the playwright package"),
]

# How far the results table reaches past its box, and the page past the window.
OVERFLOW_JS = """() => {
  const table = document.querySelector('#result_list');
  const box = table ? table.closest('.results') || table.parentElement : null;
  const page = document.documentElement;
  return {table: box ? box.scrollWidth - box.clientWidth : null,
          page: page.scrollWidth - page.clientWidth,
          columns: table ? table.querySelectorAll('thead th').length : 0};
}"""


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert len(png) > MIN_SCREENSHOT_BYTES, f"{name}: screenshot looks blank ({len(png)} bytes)"


@pytest.fixture
def screens(db, django_user_model, settings) -> dict[str, object]:
    """The support story as the demo plays it, the schedules, an API key and a
    failed webhook delivery: the tables the console lists have rows."""
    django_user_model.objects.create_superuser("olga", "olga@example.com", "olga-pw-123")
    agent = django_user_model.objects.create_user("sam", password="sam-pw-123", is_staff=True)
    agent.groups.add(support_group_sync())
    api_key_create(name="Zapier production integration", scopes=["ingest"])
    call_command("demo_support_followup", stdout=io.StringIO())
    call_command("sync_schedules", stdout=io.StringIO())
    # Disabled, so nothing is posted anywhere; its delivery row is written directly.
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example-integrations.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX",
        event_types=["*"], description="Everything to the CRM", disabled=True)
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="email.sent", status="failed",
                                   attempts=3, response_status=502)
    return {"contact": Contact.objects.get(external_id__startswith="demo-"),
            "send": EmailSend.objects.filter(template_key="support/followup").get()}


def changelists() -> list[tuple[str, str]]:
    return sorted((model._meta.app_label, model._meta.model_name)
                  for model in admin.site._registry)


def login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_selector("#content")


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls in
    # fixtures and assertions are still plain synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.django_db(transaction=True)
def test_every_changelist_fits_a_laptop_screen(live_server, screens, browser):
    page = browser.new_page(viewport=LAPTOP)
    login(page, live_server.url, "olga", "olga-pw-123")
    too_wide = {}
    for app_label, model_name in changelists():
        page.goto(live_server.url + reverse(f"admin:{app_label}_{model_name}_changelist"))
        measured = page.evaluate(OVERFLOW_JS)
        shot(page, f"changelist-{app_label}-{model_name}")
        if measured["columns"] > 7 or measured["page"] > 0 or (measured["table"] or 0) > 0:
            too_wide[f"{app_label}.{model_name}"] = measured
    assert not too_wide, "too wide at 1366 px:\n" + "\n".join(
        f"{name}: {measured}" for name, measured in sorted(too_wide.items()))


@pytest.mark.django_db(transaction=True)
def test_the_support_group_reads_the_contact_page_as_a_timeline(live_server, screens, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=LAPTOP)
    login(page, live_server.url, "sam", "sam-pw-123")
    page.goto(live_server.url + reverse("admin:contacts_contact_change",
                                        args=[screens["contact"].pk]))
    timeline = page.locator("#contact-timeline")
    expect(timeline).to_contain_text("Answered: No, still broken")
    expect(timeline.locator("blockquote.tl-quote")).to_contain_text(
        "The export still fails with a timeout on big projects.")
    expect(timeline).to_contain_text("Reopen requested")
    expect(timeline).to_contain_text("Email “Did that fix it?”")
    expect(timeline).to_contain_text("Entered the journey")
    assert page.locator("textarea").count() == 0
    assert page.locator("input[name=_save], .deletelink").count() == 0
    assert page.evaluate(OVERFLOW_JS)["page"] <= 0
    shot(page, "contact-support")

    page.click("#unsubscribe-all")
    expect(page.locator("#subscription-state")).to_have_text("unsubscribed from everything")
    for row in page.locator("#support-panel tr.topic").all():
        expect(row).to_contain_text("off (unsubscribed from everything)")
    change = timeline.locator("tr.tl-preference", has_text="Unsubscribed from everything")
    expect(change).to_contain_text("by sam")
    shot(page, "contact-unsubscribed-everything")


@pytest.mark.django_db(transaction=True)
def test_the_email_preview_shows_desktop_width_and_switches_to_a_phone(live_server, screens,
                                                                         browser):
    page = browser.new_page(viewport=LAPTOP)
    login(page, live_server.url, "sam", "sam-pw-123")
    page.goto(live_server.url + reverse("admin:tracking_emailsend_change",
                                        args=[screens["send"].pk]))
    frame = page.locator("iframe.hs-preview-frame")
    frame.scroll_into_view_if_needed()
    assert frame.get_attribute("sandbox") == ""
    desktop = frame.bounding_box()["width"]
    assert desktop >= 700, desktop
    assert "Did that fix it?" in page.frame_locator("iframe.hs-preview-frame").locator(
        "body").inner_text()
    shot(page, "email-preview-desktop")

    page.click("text=Phone (390 px)")
    assert abs(frame.bounding_box()["width"] - 390) <= 2
    shot(page, "email-preview-phone")
    page.click("text=Desktop (1000 px)")
    assert frame.bounding_box()["width"] == desktop
    assert page.evaluate(OVERFLOW_JS)["page"] <= 0
