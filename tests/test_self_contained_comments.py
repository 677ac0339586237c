"""The repository explains itself: no comment, docstring or doc cites a numbered section
of a design or behaviour document the repository does not contain.

Such a citation ("reference 5.4", "(2.7.3 step 11)", "law X7", "DESIGN decision 13")
means nothing to a maintainer who only has this repository: write the rule and its reason
in a sentence instead, and list a deliberate departure from the reference engine in
docs/differences-from-the-reference.md. The patterns need a citing word next to the number,
so version numbers, addresses and decimal constants never match (checked below).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()
# Generated or vendored files no one writes comments in.
SKIPPED_NAMES = {"package-lock.json", "uv.lock"}
SKIPPED_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".svg", ".woff", ".woff2", ".pdf"}

# Each alternative needs a citing word or sign beside the number. Citing words match in
# any case ("Recipe 1.7", "Law X7"); "DESIGN" only in capitals, as the file is named.
CITATION = re.compile("|".join([
    # "reference 5.4", "spec 2.7", "recipe 1.11", "reference section 8.1", "section 9"
    r"(?i:\b(?:reference|spec|recipe)\s+(?:section\s+)?\d+\.\d+)",
    r"(?i:\bsection\s+\d+(?:\.\d+)*\b)",
    # the behaviour document's law and quirk labels: "law X7", "laws R1-R8", "reference
    # L6", "reference Q8" (the harness laws H1-H14 are defined in journeys/testing.py)
    r"(?i:\b(?:laws?|reference))\s+[DXRLQ]\d{1,2}\b",
    # the design document and its numbered decisions
    r"\bDESIGN(?:\.md)?\b",
    r"(?i:\bdecision\s+\d+\b)",
    # "(2.7.3 step 11)", "4.2 step 1"
    r"\b\d+\.\d+(?:\.\d+)?\s+step\s+\d+\b",
    # a bare section number in the sentence that names the reference:
    # "the reference's injected props (2.7.1)"
    r"(?i:\bthe reference(?:'s)?\b[^.\n]{0,80}\(\d+\.\d+(?:\.\d+)?[)\s,;-])",
    # the documents by name, the section sign, "the spec says", and "(spec: journey sends
    # are memoized)" (words after the colon, so `def f(spec: Any)` is not one)
    r"engine-behaviour\.md|api-and-recipes\.md|§\s*\d",
    r"(?i:\bthe spec says\b)|\(spec:\s+[a-z]+\s+[a-z]+\s+[a-z]+",
]))


@pytest.mark.parametrize("text", [
    "# Stored normalised, as every write path does (reference 5.4).",
    '"""Property conditions and the `where` builder (reference section 8.1).',
    '"""Send a template from inside a journey run (reference 2.7.1-2.7.2).',
    '"""Recipe 1.7, concierge onboarding, end to end through the public API.',
    '"""The run lifecycle (reference 1.5) and the durability laws of section 9."""',
    "provider again (reference law X7). With a provider that consumes the key, that",
    "(reference 2.6, laws R1-R8).",
    '"""Durable sleeps are whole seconds, rounded up, at least 1 s (reference L6)."""',
    "# A past instant still sleeps (1 s) and flips waiting/active (reference Q8).",
    '"""Every 5 minutes: page the support queue about stranded runs (DESIGN decision 13).',
    "# Admin-plane API calls per key (DESIGN: 100/min).",
    "- Past one database, the big tables are distributed by contact (DESIGN.md, \"Beyond",
    '"""GET confirms and changes nothing (decision 12); POST acts.',
    '"""Failed rows release their key, so a retry genuinely sends again (2.7.3 step 11)."""',
    '"""The reference\'s rules for an answer (4.2 step 1); returns the parsed props."""',
    '"""The reference\'s injected props (2.7.1); they overwrite author props."""',
    "`email_send()` follows the reference's order of operations (2.7.3) with",
    '"""A semantic link in a rendered email breaks a rule of the reference (4.2).',
    "# (spec: journey sends are memoized); a crash before that finds the row by key.",
    "as the spec says, see engine-behaviour.md",
    "Timezones are resolved as in § 2.3.1.",
])
def test_a_numbered_citation_is_caught(text):
    assert CITATION.search(text), text


@pytest.mark.parametrize("text", [
    "Python 3.11, Django 5.2 LTS, django-q2, psycopg 3",
    'DBOS_REQUIREMENTS = ["dbos==3.4.0", "psycopg[binary]"]',
    'TRUSTED_PROXIES=127.0.0.1,::1',
    'conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=5)',
    'settings.TRUSTED_PROXIES = "127.0.0.1, 10.0.0.0/8"',
    "time.sleep(0.5)",
    "# Exponential backoff with jitter: 0.25-0.5 s, then 0.5-1 s.",
    "return amount.quantize(Decimal(\"0.01\"), rounding=ROUND_HALF_UP)",
    'status="5.1.1" if kind == "bounce" else "5.7.1",',
    '"context": {"ip": "8.8.8.8", "library": {"name": "analytics.js", "version": "2.11.1"}},',
    '"VERSION": "1.0.0",',
    "(DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB, or this limit if larger)",
    '"""An axis rounded out to round steps (1, 2, 2.5, 5 × 10ⁿ)."""',
    'HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)"',
    "spec = importlib.util.spec_from_file_location(name, path)",
    "def normalize(spec: Any, where: str = \"criteria\") -> Condition:",
    "def _property_leaf(spec: Mapping[str, Any], where: str) -> Condition:",
    '<section id="open-alerts" aria-labelledby="open-alerts-heading">',
    '"""The journey test harness (journeys.testing): laws H1-H14, listed in its docstring,',
    '"""The reference engine\'s presets: Stripe, Segment, PostHog, Clerk and Supabase."""',
    "# numeric(14,2) rounds half away from zero (12.345 -> 12.35), as the reference stores it.",
    "The defaults (2 retries, 15 min) are the reference engine's, so a handler",
    "One-click unsubscribe (RFC 8058): a POST with the body List-Unsubscribe=One-Click",
    "Designed for a 2.5 s budget; the design decision is in the docs.",
    "the contact page's \"Buckets\" section: every bucket the person ever entered",
])
def test_version_numbers_addresses_and_decimals_are_not_citations(text):
    assert not CITATION.search(text), CITATION.search(text)


def tracked_files() -> list[str]:
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                                check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: no tracked files to read")
    return [name for name in listed.decode().split("\0") if name]


def test_no_file_of_the_repository_cites_a_numbered_section():
    found, scanned = [], 0
    for name in tracked_files():
        path = ROOT / name
        if (name == THIS_FILE or path.name in SKIPPED_NAMES
                or path.suffix.lower() in SKIPPED_SUFFIXES or not path.is_file()):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        scanned += 1
        for number, line in enumerate(text.splitlines(), start=1):
            if match := CITATION.search(line):
                found.append(f"{name}:{number}: {match.group()!r} in {line.strip()[:100]}")
    assert scanned > 100, f"only {scanned} files read: is this the project's checkout?"
    assert not found, (
        "Comments cite sections of documents this repository does not contain; say the rule "
        "and its reason instead (a deliberate difference from the reference engine goes in "
        "docs/differences-from-the-reference.md):\n" + "\n".join(found))
