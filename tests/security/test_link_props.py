"""Props cannot make script links, and cannot replace the unsubscribe link."""

from __future__ import annotations

import re

import pytest

from tracking.exceptions import TemplateRenderError, UnsafeLink
from tracking.hrefs import ENGINE_HREFS, links_check
from tracking.mailer import email_send
from tracking.models import EmailSend
from tracking.selectors import template_preview
from tracking.templatetags.hogsend import HOSTED_ANSWER_HREF

pytestmark = pytest.mark.django_db
EVIL = "https://evil.example/unsubscribe"
LAYOUT = '{% extends "emails/base.html" %}{% block content %}X{% endblock %}'


def send(**kwargs):
    kwargs.setdefault("to", "ada@example.com")
    kwargs.setdefault("template", "feedback/referral-ask")
    return email_send(**kwargs)


@pytest.mark.parametrize("target", [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "\tjavascript:alert(1)",
    "\x00javascript:alert(1)",
    "java\nscript:alert(1)",
    "javascript\u00a0:alert(1)",
    "\u200bjavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "mailto:attacker@example.com",
    "file:///etc/passwd",
])
def test_a_prop_that_makes_a_link_target_other_than_http_is_a_send_error(ada, mailoutbox,
                                                                          target):
    with pytest.raises(UnsafeLink) as refused:
        send(props={"referralUrl": target})
    assert isinstance(refused.value, TemplateRenderError)
    assert "Prop 'referralUrl' is used as a link target" in refused.value.message
    assert mailoutbox == []
    assert not EmailSend.objects.filter(status="sent").exists()


def test_post_v1_emails_answers_400_naming_the_prop(api, ada, mailoutbox):
    response = api.post("/v1/emails", {"to": "ada@example.com", "template": "feedback/referral-ask",
                                       "props": {"referralUrl": "javascript:alert(1)"}},
                        format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "Prop 'referralUrl' is used as a link target and must "
                                        "be an http(s) URL, not a javascript: URL"}
    assert mailoutbox == []


@pytest.mark.parametrize("target", ["https://example.com/r/ada", "HTTP://example.com/r",
                                    " https://example.com/r "])
def test_http_and_https_props_still_make_links(ada, mailoutbox, target):
    assert send(props={"referralUrl": target}).status == "sent"
    assert len(mailoutbox) == 1


def test_a_nested_prop_is_named_by_its_template_path(ada, extra_templates):
    extra_templates("t/nested", '<a href="{{ order.links.1 }}">Track</a>')
    with pytest.raises(UnsafeLink, match=re.escape("Prop 'order.links.1'")):
        send(template="t/nested", props={"order": {"links": ["https://ok.example",
                                                            "data:text/html,<b>x</b>"]}})


def test_an_answer_button_whose_href_is_a_prop_is_refused(ada, extra_templates):
    extra_templates("t/answer", '{% load hogsend %}{% email_action "thing.rated" score=5 '
                                'href=target %}Great{% end_email_action %}')
    with pytest.raises(UnsafeLink, match="Prop 'target'"):
        send(template="t/answer", props={"target": "javascript:alert(1)"})


def test_html_passed_in_a_prop_cannot_carry_a_script_link(ada, extra_templates):
    extra_templates("t/blurb", "<p>{{ blurb|safe }}</p>")
    with pytest.raises(UnsafeLink, match="Prop 'blurb'"):
        send(template="t/blurb",
             props={"blurb": '<a href="&#106;ava&#x09;script:alert(1)">Win</a>'})


def test_an_escaped_entity_in_a_prop_stays_an_inert_relative_link(ada, extra_templates,
                                                                   mailoutbox):
    # Autoescaped, `&#106;avascript:` reaches the browser as the text `&#106;...`:
    # a relative link that runs nothing, so the send goes out.
    extra_templates("t/link", '<a href="{{ url }}">Go</a>')
    assert send(template="t/link", props={"url": "&#106;avascript:alert(1)"}).status == "sent"
    assert 'href="&amp;#106;avascript:alert(1)"' in mailoutbox[0].alternatives[0][0]


def test_a_developers_mailto_link_stays_and_a_prop_only_fills_in_the_address(
        ada, extra_templates, mailoutbox):
    extra_templates("t/mailto", '<a href="mailto:{{ supportEmail }}">Write to us</a> '
                                '<a href="tel:+4930123">Call</a>')
    assert send(template="t/mailto", props={"supportEmail": "help@example.com"}).status == "sent"
    html = mailoutbox[0].alternatives[0][0]
    assert 'href="mailto:help@example.com"' in html and 'href="tel:+4930123"' in html


def test_a_script_link_written_in_the_template_is_refused_too(ada, extra_templates):
    extra_templates("t/script", '<a href="javascript:void(0)">Nothing</a>')
    with pytest.raises(UnsafeLink, match="Template 't/script' has a javascript: link"):
        send(template="t/script")


@pytest.mark.parametrize("html", [
    "<A HREF=\"JAVASCRIPT:alert(1)\">x</A>",
    "<a title='href=\"https://ok' href=javascript:alert(1)>x</a>",
    "<a href=\"https://ok.example\" href=\"javascript:alert(1)\">x</a>",
    "<form action=\"javascript:alert(1)\"><button formaction=vbscript:x>Go</button></form>",
    "<svg><a xlink:href=\"data:text/html,x\">x</a></svg>",
    "<a href=\"hogsend://answer-not\">x</a>",
])
def test_the_check_reads_link_attributes_however_they_are_written(html):
    with pytest.raises(UnsafeLink):
        links_check(html=html, props={}, template_key="t")


def test_plain_web_links_and_the_answer_sentinel_pass_the_check():
    links_check(html='<a href="https://a.example">a</a><a href="hogsend://answer">b</a>'
                     '<img src="data:image/png;base64,AAAA"><a href="#top">c</a>',
                props={}, template_key="t")


def test_the_hosted_answer_sentinel_is_the_one_engine_href():
    assert {HOSTED_ANSWER_HREF} == ENGINE_HREFS


# --- the unsubscribe link is the engine's ---------------------------------------------


OWN_NAMES = {"unsubscribeUrl": EVIL, "preferencesUrl": EVIL, "unsubscribe_url": EVIL,
             "UnsubscribeLink": EVIL, "listUnsubscribe": EVIL, "preferenceCenterUrl": EVIL,
             "manage_preferences_link": EVIL}


def test_caller_props_cannot_replace_the_unsubscribe_or_preference_link(ada, extra_templates,
                                                                        mailoutbox):
    extra_templates("t/footer", LAYOUT + "{% block brand %}{{ unsubscribe_url }}"
                                "{{ preferenceCenterUrl }}{% endblock %}",
                    text="{% include 'emails/_partials/footer.txt' %}")
    assert send(template="t/footer", props=OWN_NAMES).status == "sent"
    message = mailoutbox[0]
    header = message.extra_headers["List-Unsubscribe"].strip("<>")
    html = message.alternatives[0][0]
    assert "evil.example" not in html and "evil.example" not in message.body
    assert f'href="{header}"' in html and f"Unsubscribe: {header}" in message.body
    assert "/v1/email/preferences?token=" in html


def test_the_api_cannot_replace_the_unsubscribe_link_either(api, ada, mailoutbox):
    response = api.post("/v1/emails", {"to": "ada@example.com", "template": "feedback/referral-ask",
                                       "props": {"unsubscribeUrl": EVIL}}, format="json")
    assert response.status_code == 202
    message = mailoutbox[0]
    header = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert "evil.example" not in message.alternatives[0][0]
    assert f'href="{header}"' in message.alternatives[0][0]


def test_a_send_without_an_unsubscribe_link_takes_none_from_the_caller(ada, mailoutbox):
    send(props={"unsubscribeUrl": EVIL}, skip_preference_check=True)
    message = mailoutbox[0]
    assert "List-Unsubscribe" not in message.extra_headers
    assert "evil.example" not in message.alternatives[0][0] and "evil.example" not in message.body


def test_props_that_merely_mention_preferences_are_left_alone(ada, extra_templates,
                                                              mailoutbox):
    extra_templates("t/prefs", "<p>{{ preferences.theme }} {{ unsubscribeReason }}</p>")
    send(template="t/prefs", props={"preferences": {"theme": "dark"},
                                    "unsubscribeReason": "too many"})
    assert "dark too many" in mailoutbox[0].alternatives[0][0]


def test_the_admin_preview_shows_the_engine_links_not_the_callers(db):
    preview = template_preview(key="feedback/referral-ask", props={"unsubscribeUrl": EVIL})
    assert "evil.example" not in preview.html
    assert "/v1/email/unsubscribe?token=preview" in preview.html
