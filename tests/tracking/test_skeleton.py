"""A template rendered once per batch and filled per recipient is the full render."""

from __future__ import annotations

import pytest
from django.template import Template

from contacts.tokens import token_make
from tracking import skeleton, templates_registry

BASE = "http://testserver"

# Values that need escaping in text, attributes and JSON, and plain ones.
RECIPIENTS = [
    {"name": "Ada", "ticketId": "T-1", "email": "ada@example.com"},
    {"name": "Bob <b>&amp; \"O'Hara\"\u00a0é", "ticketId": 'T-"2" <x> & ü', "email": "b@x.io"},
    {"name": "Zoë \u2028 tab\tin", "ticketId": "\\u0041 [hs]", "email": "z@example.org"},
]
# Props each shipped template reads beyond the engine's (values as callers send them).
EXTRA = {
    "ecommerce/review-request": {"orderId": "O-7", "productName": "Lamp"},
    "ecommerce/review-public-ask": {"rating": 5, "reviewUrl": "https://example.com/r"},
    "lifecycle/trial-expiring": {"daysLeft": 3, "discountPercent": "20"},
    "marketing/announcement": {"headline": "New", "intro": "Hello there",
                               "paragraphs": ["One", "Two"], "ctaUrl": "https://example.com/c",
                               "ctaLabel": "Go"},
    "retention-weekly-digest": {"weekOf": "1 June", "totalReports": 2,
                                "projects": [{"projectId": "p1", "count": 2}]},
    "sales/high-fit": {"tier": "gold"},
    "sales/high-fit-nudge": {"tier": "gold"},
    "transactional/verify-email": {"firstName": "Ada", "verifyUrl": "https://example.com/v"},
}
# Shipped templates whose per-recipient values must be filled in, not rendered.
SPLIT = {"support/followup", "feedback/nps-survey", "feedback/nps-survey-0-10",
         "offer/setup-call", "retention/winback", "retention/re-permission",
         "ecommerce/review-request", "marketing/announcement"}


def _props(key: str, person: dict[str, str]) -> dict:
    unsubscribe = token_make(key=person["email"], email=person["email"], action="unsubscribe")
    manage = token_make(key=person["email"], email=person["email"], action="manage")
    entry = templates_registry.get_template(key)
    return {
        "ticketId": person["ticketId"], **EXTRA.get(key, {}),
        "unsubscribeUrl": f"{BASE}/v1/email/unsubscribe?token={unsubscribe}",
        "preferencesUrl": f"{BASE}/v1/email/preferences?token={manage}",
        "name": person["name"], "journeyName": "J", "eventName": key,
        "subject": entry.subject, "body": entry.subject,
    }


def _facts(links):
    return [(link.id, link.email_send_id, link.original_url, link.event,
             link.event_properties) for link in links]


@pytest.mark.parametrize("key", templates_registry.template_keys())
def test_a_filled_skeleton_equals_the_full_render_of_every_shipped_template(key):
    store = skeleton._Store()
    used = []
    for number, person in enumerate(RECIPIENTS):
        props = _props(key, person)
        found, values = skeleton._skeleton_for(store, key, props, BASE)
        html, text, links = skeleton.render_full(key, props, send_id=f"send-{number}",
                                                 base_url=BASE)
        if found is None:
            continue
        used.append(found)
        filled = found.fill(values, send_id=f"send-{number}", base_url=BASE,
                            link_ids=iter([link.id for link in links]))
        assert filled is not None
        assert filled[0] == html
        assert filled[1] == text
        assert _facts(filled[2]) == _facts(links)
    if key in SPLIT:
        assert used, f"{key} should be filled in, not rendered per recipient"
        assert "name" in used[0].names and "unsubscribeUrl" in used[0].names


def test_the_followup_fills_its_ticket_into_the_answer_properties():
    store = skeleton._Store()
    props = _props("support/followup", RECIPIENTS[1])
    found, values = skeleton._skeleton_for(store, "support/followup", props, BASE)
    assert found is not None and "ticketId" in found.names
    html, text, links = found.fill(values, send_id="s", base_url=BASE)
    assert {link.event_properties["ticketId"] for link in links} == {'T-"2" <x> & ü'}
    assert {link.event_properties["answer"] for link in links} == {"yes", "no"}
    assert "Bob &lt;b&gt;&amp;amp; \"O'Hara\"&nbsp;é" in html
    assert "Hi Bob <b>&amp; \"O'Hara\"\u00a0é," in text


@pytest.fixture(autouse=True)
def no_lasting_skeletons():
    """Each test starts without the skeletons earlier tests' batches built."""
    skeleton._lasting.clear()
    yield
    skeleton._lasting.clear()


def _batch_of(count: int, first: int = 0) -> list[str]:
    htmls = []
    with skeleton.batch_renders():
        for number in range(first, first + count):
            person = {"name": f"P{number}", "ticketId": f"T-{number}",
                      "email": f"p{number}@example.com"}
            html, _text, _links = skeleton.render_send(
                "support/followup", _props("support/followup", person), send_id=number,
                base_url=BASE)
            htmls.append(html)
    return htmls


def test_later_batches_reuse_the_skeleton_until_the_brand_changes(monkeypatch, settings):
    renders = []
    real = templates_registry.render
    monkeypatch.setattr(templates_registry, "render",
                        lambda key, props: renders.append(key) or real(key, props))
    _batch_of(3)
    _batch_of(3, first=3)
    assert len(renders) == 2  # built and checked once, for both batches
    settings.BRAND_NAME = "Acme Support"
    htmls = _batch_of(3, first=6)
    assert len(renders) == 4 and all("Acme Support" in html for html in htmls)


def test_one_skeleton_serves_every_recipient_of_a_batch(monkeypatch):
    renders = []
    real = templates_registry.render
    monkeypatch.setattr(templates_registry, "render",
                        lambda key, props: renders.append(key) or real(key, props))
    with skeleton.batch_renders():
        for number in range(20):
            person = {"name": f"P{number}", "ticketId": f"T-{number}",
                      "email": f"p{number}@example.com"}
            html, _text, links = skeleton.render_send(
                "support/followup", _props("support/followup", person), send_id=number,
                base_url=BASE)
            assert f"Hi P{number}," in html and f"/v1/t/o/{number}" in html
            assert len(links) == 2 and all(link.email_send_id == number for link in links)
    assert len(renders) == 2  # the skeleton and its probe check


def test_without_a_batch_every_send_renders_in_full(monkeypatch):
    renders = []
    real = templates_registry.render
    monkeypatch.setattr(templates_registry, "render",
                        lambda key, props: renders.append(key) or real(key, props))
    for number in range(3):
        skeleton.render_send("support/followup", _props("support/followup", RECIPIENTS[0]),
                             send_id=number, base_url=BASE)
    assert len(renders) == 3


def test_a_value_that_cannot_be_filled_in_keys_the_skeleton_instead():
    store = skeleton._Store()
    props = _props("support/followup", RECIPIENTS[0])
    props["name"] = "  padded  "  # the text body's strip() could touch it
    found, _values = skeleton._skeleton_for(store, "support/followup", props, BASE)
    assert found is not None and "name" not in found.names
    props["ticketId"] = ""  # falsy: `{% if ticketId %}` takes the other branch
    found, _values = skeleton._skeleton_for(store, "support/followup", props, BASE)
    assert "ticketId" not in found.names


def test_a_prop_in_a_link_target_is_keyed_not_filled():
    store = skeleton._Store()
    props = _props("marketing/announcement", RECIPIENTS[0])
    found, _values = skeleton._skeleton_for(store, "marketing/announcement", props, BASE)
    assert found is not None
    assert "ctaUrl" not in found.names and "name" in found.names
    assert "ctaUrl" in store.keyed


def _uses(source: str) -> dict:
    uses: dict = {}
    skeleton._walk(Template("{% load hogsend %}" + source).nodelist, uses, seen=set())
    return uses


def test_only_plain_uses_qualify_a_prop():
    uses = _uses('{{ a }}{% if b %}{{ c|upper }}{% endif %}{% if d == "x" %}{% endif %}'
                 '{% email_action "e.v" p=e href=f %}L{% end_email_action %}'
                 '{% with g=h %}{{ g }}{% endwith %}')
    assert uses["a"] == {"plain"} and uses["b"] == {"truth"} and uses["c"] == {"opaque"}
    assert uses["d"] == {"opaque"} and uses["e"] == {"prop"} and uses["f"] == {"opaque"}
    assert uses["h"] == {"opaque"}


def test_a_tag_it_does_not_know_makes_the_template_render_in_full():
    with pytest.raises(skeleton._Unsplittable):
        _uses('{% now "Y" %}{{ name }}')
