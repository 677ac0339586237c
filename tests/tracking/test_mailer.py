from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import time_machine
from anymail.message import AnymailMessage

from contacts.preferences import preference_update
from contacts.tokens import token_read
from journeys.engine.send_policy import SendsSeen, journey_blocker
from tests.tracking.conftest import answer_link
from tracking.exceptions import SemanticLinkError, UnknownTemplate
from tracking.mailer import email_dispatch, email_prepare, email_send
from tracking.models import EmailSend, TrackedLink
from tracking.send_types import Origin

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)


def html_of(message) -> str:
    return next(content for content, mime in message.alternatives if mime == "text/html")


def test_it_sends_the_followup_with_tracked_answer_links(followup, mailoutbox):
    assert followup.status == "sent" and followup.sent_at is not None
    message = mailoutbox[0]
    assert isinstance(message, AnymailMessage)
    assert message.subject == "Did that fix it?"
    assert message.to == ["ada@example.com"]
    html = html_of(message)
    assert "data-hs-" not in html and "hogsend://" not in html
    assert "Yes, all sorted" in html and "No, still broken" in html
    links = {link.event_properties["answer"]: link for link in followup.links.all()}
    assert set(links) == {"yes", "no"}
    for link in links.values():
        assert link.event == "support.followup_answered"
        assert link.event_properties["ticketId"] == "T-9"
        assert link.original_url == f"http://testserver/v1/t/a/{link.pk}"
        assert f'href="http://testserver/v1/t/c/{link.pk}"' in html
    assert f'src="http://testserver/v1/t/o/{followup.pk}"' in html
    assert html.index("/v1/t/o/") < html.index("</body>")


def test_the_text_body_carries_the_same_tracked_links(followup, mailoutbox):
    text = mailoutbox[0].body
    no = answer_link(followup, "no")
    assert f"No, still broken: http://testserver/v1/t/c/{no.pk}" in text
    assert "[[hs:" not in text
    assert followup.links.count() == 2


def test_it_stores_what_it_sent_and_tags_the_message(followup, mailoutbox):
    message = mailoutbox[0]
    assert followup.html == html_of(message)
    assert followup.text == message.body
    assert message.metadata["emailSendId"] == str(followup.pk)
    assert message.metadata["templateKey"] == "support/followup"
    assert message.tags == ["support/followup"]


def test_a_journey_send_has_a_global_one_click_unsubscribe(followup, mailoutbox):
    headers = mailoutbox[0].extra_headers
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = headers["List-Unsubscribe"].strip("<>")
    assert url.startswith("http://testserver/v1/email/unsubscribe?token=")
    token = token_read(url.split("token=")[1])
    assert (token.key, token.email, token.category, token.action) == (
        "u_ada", "ada@example.com", None, "unsubscribe")
    # The footer link is the same URL and is never rewritten for tracking.
    assert url.replace("&", "&amp;") in html_of(mailoutbox[0])


def test_a_non_journey_send_unsubscribes_from_its_category(ada, mailoutbox):
    email_send(to=ada.email, template="retention-weekly-digest", contact=ada)
    url = mailoutbox[0].extra_headers["List-Unsubscribe"].strip("<>")
    assert token_read(url.split("token=")[1]).category == "digest"


def test_it_injects_the_reference_props(ada, mailoutbox):
    email_send(to=ada.email, template="feedback/referral-ask", contact=ada,
               props={"firstName": "Ada", "name": "ignored"})
    assert "Hi Ada," in mailoutbox[0].body
    email_send(to="grace.h@example.com", template="feedback/referral-ask")
    assert "Hi grace.h," in mailoutbox[1].body


def test_the_subject_can_be_overridden(ada, mailoutbox):
    email_send(to=ada.email, template="support/followup", subject="Quick check")
    assert mailoutbox[0].subject == "Quick check"


def test_it_resolves_the_contact_from_the_user_id(ada, mailoutbox):
    result = email_send(to="ada@example.com", template="feedback/referral-ask", user_id="u_ada")
    send = EmailSend.objects.get(pk=result.email_send_id)
    assert send.contact_id == ada.pk and send.user_key == "u_ada"


def test_an_unknown_template_fails_before_anything_is_written(ada, mailoutbox):
    with pytest.raises(UnknownTemplate):
        email_send(to=ada.email, template="nope/missing")
    assert not EmailSend.objects.exists() and mailoutbox == []


# --- idempotency -------------------------------------------------------------------


def test_a_repeat_with_the_same_key_is_a_duplicate_without_a_provider_call(followup, mailoutbox):
    again = email_send(to="ada@example.com", template="support/followup",
                       idempotency_key="k-followup")
    assert (again.status, again.reason, again.email_send_id) == ("sent", "duplicate",
                                                                  str(followup.pk))
    assert len(mailoutbox) == 1


@pytest.mark.parametrize("status", ["delivered", "opened", "clicked", "bounced", "complained"])
def test_any_post_dispatch_status_is_a_duplicate(followup, mailoutbox, status):
    EmailSend.objects.filter(pk=followup.pk).update(status=status)
    again = email_send(to="ada@example.com", template="support/followup",
                       idempotency_key="k-followup")
    assert (again.status, again.reason) == ("sent", "duplicate")
    assert len(mailoutbox) == 1


def test_a_crash_before_the_provider_call_is_re_driven_on_retry(ada, mailoutbox):
    with time_machine.travel(NOON, tick=False) as clock:
        with mock.patch("tracking.mailer.provider_message", side_effect=KeyboardInterrupt), \
                pytest.raises(KeyboardInterrupt):
            email_send(to=ada.email, template="support/followup", idempotency_key="k1")
        orphan = EmailSend.objects.get()
        assert orphan.status == "queued" and orphan.idempotency_key == "k1"
        links_before = set(orphan.links.values_list("pk", flat=True))
        # While the crashed attempt's lease runs, a concurrent caller does not send.
        in_flight = email_send(to=ada.email, template="support/followup", idempotency_key="k1")
        assert (in_flight.status, in_flight.reason) == ("skipped", "in_flight")
        clock.shift(timedelta(minutes=3))
        retry = email_send(to=ada.email, template="support/followup", idempotency_key="k1")
    assert retry.status == "sent" and retry.email_send_id == str(orphan.pk)
    assert len(mailoutbox) == 1 and EmailSend.objects.count() == 1
    # The stored HTML (and its link ids) is what went out on the re-drive.
    assert set(orphan.links.values_list("pk", flat=True)) == links_before


def test_a_crash_while_rendering_leaves_nothing_and_the_retry_sends_once(ada, mailoutbox):
    with time_machine.travel(NOON, tick=False) as clock:
        with mock.patch("tracking.templates_registry.render", side_effect=KeyboardInterrupt), \
                pytest.raises(KeyboardInterrupt):
            email_send(to=ada.email, template="support/followup", idempotency_key="k5")
        assert not EmailSend.objects.exists()  # rendered before the row is written
        clock.shift(timedelta(minutes=3))
        retry = email_send(to=ada.email, template="support/followup", idempotency_key="k5")
    assert retry.status == "sent" and len(mailoutbox) == 1
    assert EmailSend.objects.get().links.count() == 2


def test_a_crash_after_the_provider_call_never_sends_twice(ada, mailoutbox):
    first = email_send(to=ada.email, template="support/followup", idempotency_key="k2")
    retry = email_send(to=ada.email, template="support/followup", idempotency_key="k2")
    assert retry.email_send_id == first.email_send_id and retry.reason == "duplicate"
    assert len(mailoutbox) == 1


def test_a_provider_error_fails_the_row_and_releases_the_key(ada, mailoutbox):
    with mock.patch.object(AnymailMessage, "send", side_effect=ConnectionError("ESP down")), \
            pytest.raises(ConnectionError):
        email_send(to=ada.email, template="support/followup", idempotency_key="k3")
    failed = EmailSend.objects.get()
    assert failed.status == "failed" and failed.idempotency_key is None
    assert "ESP down" in failed.error
    retry = email_send(to=ada.email, template="support/followup", idempotency_key="k3")
    assert retry.status == "sent" and retry.email_send_id != str(failed.pk)
    assert len(mailoutbox) == 1


# --- preferences -------------------------------------------------------------------


def test_a_suppressed_address_is_not_sent_and_keeps_no_key(ada, mailoutbox):
    preference_update(contact=None, email="ada@example.com", suppressed=True, source="bounce")
    result = email_send(to=ada.email, template="support/followup", contact=ada,
                        idempotency_key="k4")
    assert (result.status, result.reason) == ("suppressed", "suppressed")
    row = EmailSend.objects.get(pk=result.email_send_id)
    assert row.status == "suppressed" and row.idempotency_key is None
    assert mailoutbox == []


def test_an_unsubscribed_contact_gets_nothing_even_transactional(unsubscribed, mailoutbox):
    result = email_send(to=unsubscribed.email, template="transactional/support-alert",
                        contact=unsubscribed)
    assert (result.status, result.reason) == ("unsubscribed", "unsubscribed")
    assert mailoutbox == []


def test_skip_preference_check_delivers_without_unsubscribe_headers(unsubscribed, mailoutbox):
    result = email_send(to=unsubscribed.email, template="transactional/support-alert",
                        skip_preference_check=True, props={"ticketId": "T-9"})
    assert result.status == "sent"
    assert "List-Unsubscribe" not in mailoutbox[0].extra_headers


def test_a_category_opt_out_blocks_that_category_only(ada, mailoutbox):
    preference_update(contact=ada, email=ada.email, categories={"digest": False}, source="link")
    blocked = email_send(to=ada.email, template="retention-weekly-digest", contact=ada)
    assert (blocked.status, blocked.reason) == ("unsubscribed", "category_unsubscribed")
    assert email_send(to=ada.email, template="support/followup", contact=ada).status == "sent"


def test_an_opt_in_list_sends_only_to_members(ada, mailoutbox, settings):
    settings.EMAIL_LISTS = [{"id": "beta", "name": "Beta news", "default_opt_in": False}]
    first = email_send(to=ada.email, template="feedback/referral-ask", contact=ada,
                       category="beta")
    assert first.reason == "category_unsubscribed"
    preference_update(contact=ada, email=ada.email, categories={"beta": True}, source="link")
    assert email_send(to=ada.email, template="feedback/referral-ask", contact=ada,
                      category="beta").status == "sent"


def test_the_frequency_cap_skips_without_a_row_and_exempts_transactional(ada, mailoutbox,
                                                                         settings):
    settings.EMAIL_FREQUENCY_CAP = {"count": 1, "window": timedelta(days=1)}
    assert email_send(to=ada.email, template="feedback/referral-ask").status == "sent"
    capped = email_send(to=ada.email, template="feedback/referral-ask")
    assert (capped.status, capped.reason, capped.email_send_id) == (
        "skipped", "frequency_capped", "")
    assert email_send(to=ada.email, template="transactional/support-alert").status == "sent"
    assert EmailSend.objects.count() == 2


# --- journey suppress (only other runs' sends gap a send: the journeys' blocker) -----------


def _journey_send(ada, run_id, key, record_once=None):
    def verdict(key, compute):
        return compute() if record_once is None else record_once(key, compute)

    blocker = journey_blocker(SendsSeen(), timedelta(hours=24), verdict)
    return email_dispatch(email_prepare(
        to=ada.email, template="feedback/referral-ask", contact=ada, idempotency_key=key,
        origin=Origin(journey_run_id=run_id, journey_id="nps-survey"), blockers=[blocker]))


def test_another_run_of_the_journey_within_the_window_suppresses(ada, mailoutbox):
    assert _journey_send(ada, uuid.uuid4(), "a").status == "sent"
    skipped = _journey_send(ada, uuid.uuid4(), "b")
    assert (skipped.status, skipped.reason, skipped.email_send_id) == (
        "skipped", "journey_suppressed", "")
    assert EmailSend.objects.count() == 1


def test_a_runs_own_earlier_send_never_suppresses_its_later_ones(ada, mailoutbox):
    run = uuid.uuid4()
    assert _journey_send(ada, run, "a").status == "sent"
    assert _journey_send(ada, run, "b").status == "sent"


def test_the_suppress_window_ends(ada, mailoutbox):
    with time_machine.travel(NOON, tick=False) as clock:
        _journey_send(ada, uuid.uuid4(), "a")
        clock.shift(timedelta(hours=25))
        assert _journey_send(ada, uuid.uuid4(), "b").status == "sent"


def test_the_suppress_verdict_is_recorded_once(ada, mailoutbox):
    journal: dict[str, object] = {}

    def record_once(key, compute):
        if key not in journal:
            journal[key] = compute()
        return journal[key]

    _journey_send(ada, uuid.uuid4(), "a")
    run = uuid.uuid4()
    assert _journey_send(ada, run, "b", record_once).reason == "journey_suppressed"
    assert journal == {"suppress:b": True}
    EmailSend.objects.all().delete()
    # A replay sees the recorded verdict, not a fresh one.
    assert _journey_send(ada, run, "b", record_once).reason == "journey_suppressed"


# --- semantic link validation at send ---------------------------------------------------


@pytest.mark.parametrize(("anchor", "message"), [
    ('<a href="https://x.test" data-hs-event="">x</a>', "empty"),
    ('<a href="https://x.test" data-hs-event="email.clicked">x</a>', "reserved"),
    ('<a href="https://x.test" data-hs-event="journey:x">x</a>', "reserved"),
    ('<a href="https://x.test" data-hs-event="a.b" data-hs-props="[1]">x</a>', "JSON object"),
    ('<a href="https://x.test" data-hs-event="a.b" data-hs-props="{&quot;a&quot;:[1]}">x</a>',
     "scalars"),
    ('<a href="https://x.test" data-hs-event="a.b" data-hs-props="nope">x</a>', "not JSON"),
    ('<a href="hogsend://answer">x</a>', "hosted-answer"),
    ('<a href="/relative" data-hs-event="a.b">x</a>', "http(s)"),
    ('<a href="https://x.test/v1/email/unsubscribe?t=1" data-hs-event="a.b">x</a>', "http(s)"),
])
def test_a_broken_semantic_link_fails_the_send_before_the_provider(
    ada, mailoutbox, extra_templates, anchor, message,
):
    extra_templates("test/broken", f"<html><body>{anchor}</body></html>")
    with pytest.raises(SemanticLinkError, match=re.escape(message)):
        email_send(to=ada.email, template="test/broken", idempotency_key="kb")
    row = EmailSend.objects.get()
    assert row.status == "failed" and row.idempotency_key is None
    assert not TrackedLink.objects.exists() and mailoutbox == []


def test_props_over_2048_chars_are_refused(ada, mailoutbox, extra_templates):
    extra_templates("test/big", "{% load hogsend %}<html><body>"
                    "{% email_action 'a.b' blob=blob %}x{% end_email_action %}</body></html>")
    with pytest.raises(SemanticLinkError, match="2048"):
        email_send(to=ada.email, template="test/big", props={"blob": "x" * 2100})


def test_links_are_deduplicated_by_url_event_and_props(ada, mailoutbox, extra_templates):
    extra_templates("test/dedupe", """{% load hogsend %}<html><body>
      <a href="https://example.com/a">one</a> <a href="https://example.com/a">two</a>
      {% email_action "q.answered" href="https://example.com/a" v=1 %}1{% end_email_action %}
      {% email_action "q.answered" href="https://example.com/a" v=2 %}2{% end_email_action %}
      {% email_action "q.answered" v=2 %}2 again{% end_email_action %}
      {% email_action "q.answered" v=2 %}2 hosted twice{% end_email_action %}
      <a href="mailto:help@example.com">mail</a></body></html>""")
    email_send(to=ada.email, template="test/dedupe")
    links = TrackedLink.objects.all()
    assert links.count() == 4
    assert links.filter(event="").get().original_url == "https://example.com/a"
    assert 'href="mailto:help@example.com"' in html_of(mailoutbox[0])
