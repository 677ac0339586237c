"""(d) answer latency for a person: Chromium (Playwright) shows the "Did that fix it?"
email, a real mouse click on "No, still broken" opens the hosted answer page, the
pointer keeps moving, and the page's beacon confirms her answer at once; timed
from the click leaving the browser to the journey's branch (the reopen request
stored).

`make bench` calls `person_answer_latency` from bench/run.py, beside the scanner-style
row (a plain GET of the click link, confirmed by the ~30 s rule). Standalone, on a
small database of its own (BENCH_DB, default hogsend_bench, is recreated):

    BENCH_DB=me_bench .venv/bin/python bench/answer_latency.py [--samples 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
BUTTON = "No, still broken"
# Past this the answer would come by the 30 s rule, not the beacon: the row would lie.
BEACON_DEADLINE = 25.0


def person_answer_latency(base_url: str, workers: Callable[[], AbstractContextManager[Any]],
                          samples: int = 5) -> float:
    """Median seconds from a person's click in the email to the journey's branch,
    over `samples` follow-up emails whose runs still wait for the answer; the web
    server at `base_url` and the clock and workers `workers()` starts do the work."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        print(f"person answer latency: skipped ({CHROMIUM} is missing)")
        return float("nan")
    sends = _waiting_sends(samples)
    _point_answer_pages_at(base_url, sends)
    latencies = []
    # Playwright's sync API runs an event loop in this thread; the ORM polls below
    # are plain synchronous calls.
    unsafe = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with workers(), sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox"])
            try:
                for send in sends:
                    latencies.append(_one_answer(browser, send, base_url))
            finally:
                browser.close()
    finally:
        if unsafe is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = unsafe
    print(f"person answer latency: {[round(x, 2) for x in latencies]}")
    return statistics.median(latencies) if latencies else float("nan")


def _waiting_sends(samples: int) -> list[Any]:
    from tracking.models import EmailSend, UserEvent

    # Not people another row already answered: their reopen request exists.
    answered = UserEvent.objects.filter(event="support.reopen_requested").values("contact_id")
    return list(EmailSend.objects.filter(template_key="support/followup", status="sent")
                .exclude(contact_id__in=answered).order_by("-created_at")[:samples])


def _point_answer_pages_at(base_url: str, sends: list[Any]) -> None:
    """The bench's web server is not PUBLIC_BASE_URL: the click of these emails
    redirects to their answer page on it, as if they had been sent from there."""
    from django.conf import settings
    from django.db.models import Value
    from django.db.models.functions import Replace

    from tracking.models import TrackedLink

    old = settings.PUBLIC_BASE_URL
    TrackedLink.objects.filter(email_send__in=sends, original_url__startswith=old).update(
        original_url=Replace("original_url", Value(old), Value(base_url)))


def _one_answer(browser: Any, send: Any, base_url: str) -> float:
    """Seconds from the browser sending the click to the reopen request stored,
    both read off this machine's wall clock (Playwright's own overhead before the
    click leaves the browser is not the product's latency)."""
    from django.conf import settings

    from tracking.models import UserEvent

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.set_content(send.html.replace(settings.PUBLIC_BASE_URL, base_url))
        beacons: list[Any] = []
        page.on("request", lambda request: beacons.append(request)
                if request.url.endswith("/seen") else None)
        with page.expect_request("**/v1/t/c/*") as clicked:
            page.get_by_role("link", name=BUTTON).click()
        started = clicked.value.timing["startTime"] / 1000
        _pointer_moves_until(page, beacons, started + BEACON_DEADLINE)
        branched = UserEvent.objects.filter(event="support.reopen_requested",
                                            contact_id=send.contact_id)
        deadline = time.monotonic() + BEACON_DEADLINE
        while (stored := branched.values_list("created_at", flat=True).first()) is None:
            if time.monotonic() > deadline:
                raise RuntimeError("the beacon went out but the journey never branched")
            time.sleep(0.02)
        return stored.timestamp() - started
    finally:
        context.close()


def _pointer_moves_until(page: Any, beacons: list[Any], deadline: float) -> None:
    """Her hand is on the mouse: the pointer keeps moving from the click on, so
    the figure is the system's latency, not how long she waits before moving.
    Moves before the answer page's script is on are simply not seen by it."""
    step = 0
    while not beacons:
        if time.time() > deadline:
            raise RuntimeError("the answer page sent no beacon: the 30 s rule would decide")
        step += 1
        page.mouse.move(600 + step % 40, 300 + step % 7)


def main() -> None:
    """A few follow-up runs waiting for the answer, a web server, a clock and workers."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()
    from _setup import setup

    setup()
    import run
    from django.utils import timezone

    from journeys.models import JourneyRun

    run.people(args.samples)
    run.enroll(args.samples)
    run.drain_inline()  # each run parks until 09:00 tomorrow
    now = timezone.now()
    JourneyRun.objects.filter(status="waiting", current_step="next-morning").update(
        wake_at=now, wait_deadline=now)
    run.drain_inline()  # the email goes out; the run waits for the answer
    env = run.bench_env()
    with run.gunicorn(env, 1):
        latency = person_answer_latency(f"http://127.0.0.1:{run.PORT}",
                                        lambda: run.workers(env), args.samples)
    print(f"(d) answer latency, a person's click to branch (page beacon): {latency:.2f}s")


if __name__ == "__main__":
    main()
