"""What the walk-through browser tests share: one Chromium per module, data built
once per module and restored for each test, screenshots a reviewer can open, and
the axe-core accessibility check.

Building the support story through the API takes seconds; restoring it from a
dump takes a fraction of one. Each test still starts from the same data (the live
server's tests are transactional and flushed after each), so no test depends on
another's clicks.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "var" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
VIEWPORTS = {"390x844": PHONE, "1366x768": LAPTOP}
# A rendered page as PNG is tens of kilobytes; a blank one is a few.
MIN_SCREENSHOT_BYTES = 8_000
BLOCKING_IMPACTS = ("serious", "critical")
# Recreated by migrate's post_migrate after every flush, or not worth keeping.
NOT_DUMPED = ["contenttypes", "auth.permission", "admin.logentry", "sessions"]

# Only a missing browser skips; a missing axe-core fails (see axe_violations).
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists() or importlib.util.find_spec("playwright") is None,
                       reason="needs /usr/bin/chromium and the playwright package"),
]

T = TypeVar("T")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole module; each test opens its own context."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # Playwright's sync API runs an event loop in this thread; the ORM calls
        # in fixtures and assertions are still plain synchronous calls.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless=new", "--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


class Snapshot(Generic[T]):
    """Data built by the module's first test and loaded again for the others."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.value: T | None = None

    def restore_or_build(self, build: Callable[[], T]) -> T:
        from django.core.management import call_command

        if self.value is not None:
            call_command("loaddata", str(self.path), verbosity=0)
            return self.value
        value = build()
        call_command("dumpdata", natural_foreign=True, natural_primary=True, exclude=NOT_DUMPED,
                     output=str(self.path), verbosity=0)
        self.value = value
        return value


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Snapshot[Any]:
    return Snapshot(tmp_path_factory.mktemp("snapshot") / "data.json")


def shot(page: Any, name: str, viewport: str) -> Path:
    """Save var/screenshots/<name>-<viewport>.png (the whole page) and check that
    it is not blank."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{viewport}.png"
    png = page.screenshot(path=str(path), full_page=True)
    assert len(png) > MIN_SCREENSHOT_BYTES, f"{path.name}: looks blank ({len(png)} bytes)"
    assert page.evaluate("document.body.innerText.trim().length") > 0, f"{path.name}: no text"
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (WCAG 2.x A and AA rules and
    axe's best practices, as axe runs by default)."""
    assert AXE.exists(), (
        f"{AXE.relative_to(ROOT)} is missing: run `npm ci` (or `make test`, which does) "
        "to install axe-core from package-lock.json")
    page.add_script_tag(path=str(AXE))
    return page.evaluate("async () => (await axe.run(document)).violations")


def axe_report(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} "
                     f"({violation['helpUrl']})")
        for node in violation["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            if node.get("failureSummary"):
                lines.append("      " + " ".join(node["failureSummary"].split()))
    return "\n".join(lines)


def axe_check(page: Any, name: str) -> None:
    """No serious or critical axe-core violation on the page."""
    blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING_IMPACTS]
    assert not blocking, f"{name}: serious or critical accessibility violations:\n" + \
        axe_report(blocking)


def look(page: Any, name: str, viewport: str, *, axe: bool = True) -> Path:
    """What a reviewer gets of every screen: its screenshot, and (unless `axe` is
    off) no serious or critical axe-core violation on it."""
    path = shot(page, name, viewport)
    if axe:
        axe_check(page, f"{name} at {viewport}")
    return path
