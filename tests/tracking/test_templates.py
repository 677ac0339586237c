"""The template registry, its start-up checks, and the semantic-link template tags."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest
from django.template import Context, Template

from tracking import categories, templates_registry
from tracking.checks import check_email_lists, check_email_templates
from tracking.templates_registry import TEXT_MODE_FLAG, get_template, render

RECIPE_TEMPLATES = [
    "support/followup", "transactional/support-alert", "feedback/nps-survey",
    "feedback/nps-survey-0-10", "feedback/referral-ask", "transactional/nps-detractor-alert",
    "retention-weekly-digest", "transactional/lead-alert", "ecommerce/review-request",
    "ecommerce/review-public-ask",
]


def semantic_anchors(html: str) -> list[tuple[str, dict, str]]:
    anchors = []
    for tag, label in re.findall(r"(<a [^>]*data-hs-event[^>]*>)(.*?)</a>", html, re.S):
        event = re.search(r'data-hs-event="([^"]*)"', tag).group(1)
        props = re.search(r'data-hs-props="([^"]*)"', tag).group(1)
        anchors.append((event, json.loads(html_lib.unescape(props)), label.strip()))
    return anchors


@pytest.mark.parametrize("key", RECIPE_TEMPLATES)
def test_every_recipe_template_renders_both_bodies(key):
    html, text = render(key, {"name": "Ada", "ticketId": "T-9", "customerEmail": "ada@x.test"})
    assert html.startswith("<!DOCTYPE html>") or html.lower().startswith("<html")
    assert "style=" in html  # CSS inlined for mail clients
    assert "@media" in html  # ...and the phone rules kept
    assert text.strip()


def test_the_registry_gives_defaults_and_categories():
    assert get_template("support/followup").subject == "Did that fix it?"
    assert get_template("transactional/support-alert").category == "transactional"
    assert get_template("transactional/lead-alert").category == "transactional"
    assert get_template("retention-weekly-digest").category == "digest"


def test_a_template_pair_is_known_without_registration(extra_templates):
    extra_templates("lifecycle/trial-ending", "<html><body>Hi</body></html>")
    entry = get_template("lifecycle/trial-ending")
    assert (entry.subject, entry.category) == ("lifecycle/trial-ending", "journey")


def test_the_followup_buttons_are_the_seeds_answers():
    html, _ = render("support/followup", {"ticketId": "T-9"})
    assert semantic_anchors(html) == [
        ("support.followup_answered", {"answer": "yes", "ticketId": "T-9"}, "Yes, all sorted"),
        ("support.followup_answered", {"answer": "no", "ticketId": "T-9"}, "No, still broken"),
    ]


def test_the_nps_survey_has_three_bands():
    html, _ = render("feedback/nps-survey", {})
    assert [(e, p, label) for e, p, label in semantic_anchors(html)] == [
        ("nps.submitted", {"band": "detractor"}, "0–6"),
        ("nps.submitted", {"band": "passive"}, "7–8"),
        ("nps.submitted", {"band": "promoter"}, "9–10"),
    ]


def test_the_eleven_point_survey_and_the_star_rating():
    nps, _ = render("feedback/nps-survey-0-10", {})
    assert [p["score"] for _, p, _ in semantic_anchors(nps)] == list(range(11))
    stars, _ = render("ecommerce/review-request", {"productName": "Kettle"})
    anchors = semantic_anchors(stars)
    assert [(e, p["rating"]) for e, p, _ in anchors] == [("review.rated", n) for n in range(1, 6)]
    assert anchors[-1][2] == "★★★★★"


@pytest.mark.parametrize(("mode", "extra", "values"), [
    ("yesno", "", [True, False]),
    ("scale", "min=0 max=3", [0, 1, 2, 3]),
    ("choices", 'choices="a:Apple|b:Banana"', ["a", "b"]),
])
def test_the_survey_tag_modes(mode, extra, values):
    html = Template("{% load hogsend %}{% survey 'q.answered' mode='" + mode + "' " + extra
                    + " %}").render(Context())
    assert [p["value"] for _, p, _ in semantic_anchors(html)] == values
    assert 'href="hogsend://answer"' in html


def test_an_email_action_with_a_url_and_no_props():
    html = Template('{% load hogsend %}{% email_action "x.y" href="https://x.test/?a=1&b=2" %}'
                    "Go{% end_email_action %}").render(Context())
    assert html == '<a href="https://x.test/?a=1&amp;b=2" data-hs-event="x.y">Go</a>'


def test_in_a_text_body_an_email_action_is_a_marker():
    text = Template('{% load hogsend %}{% email_action "x.y" v=1 %}Go{% end_email_action %}'
                    ).render(Context({TEXT_MODE_FLAG: True}))
    assert re.fullmatch(r"Go: \[\[hs:[A-Za-z0-9_\-=]+\]\]", text)


def test_the_checks_pass_for_the_project():
    assert check_email_templates(None) == []
    assert check_email_lists(None) == []


def test_a_registered_key_without_files_fails_start_up():
    templates_registry.register_template("ghost/missing", subject="Boo")
    try:
        assert [e.id for e in check_email_templates(None)] == ["hogsend.E101"]
    finally:
        templates_registry._registered.pop("ghost/missing")


@pytest.mark.parametrize(("lists", "category", "expected"), [
    ([], "nonsense", "hogsend.E102"),
    ([{"id": "telegram", "kind": "channel"}], "telegram", "hogsend.E102"),
    ([{"id": "beta", "default_opt_in": False}], "beta", "hogsend.E102"),
    ([{"id": "news", "default_opt_in": True}], "news", "hogsend.W101"),
])
def test_an_invalid_template_category_fails_start_up(settings, lists, category, expected):
    settings.EMAIL_LISTS = lists
    settings.ENABLED_LISTS = ["digest"]
    templates_registry.register_template("support/followup", subject="Did that fix it?",
                                         category=category)
    try:
        assert [e.id for e in check_email_templates(None)] == [expected]
    finally:
        templates_registry.register_template("support/followup", subject="Did that fix it?")


def test_a_reserved_list_id_fails_start_up(settings):
    settings.EMAIL_LISTS = [{"id": "transactional"}, {"id": "bad id!"}]
    assert [e.id for e in check_email_lists(None)] == ["hogsend.E103", "hogsend.E103"]


def test_list_polarity():
    assert categories.is_subscribed({}, "journey")
    assert not categories.is_subscribed({"journey": False}, "journey")
    assert categories.is_subscribed({}, "digest")
    assert categories.is_subscribed({}, "unknown-list")
