"""Contact erasure: personal data goes everywhere, the history's shape stays, recorded."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from alerts.models import Alert
from contacts.erasure import contact_erase
from contacts.models import Contact, ContactAlias, EmailPreference, ErasureRecord
from contacts.preferences import preference_update
from journeys.models import JourneyRun, StepRecord
from tracking.models import EmailSend, LinkClick, ProviderEvent, TrackedLink, UserEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(ada):
    """Ada with a bit of everything: events, a comment, a send and its click, a
    preference, a finished and a live run, an alert, an alias, and a bystander."""
    ada.properties = {"plan": "pro", "phone": "+49 30 1234"}
    ada.save()
    ContactAlias.objects.create(contact=ada, kind="email", value="ada.old@example.com")
    UserEvent.objects.create(contact=ada, user_key="u_ada", event="ticket.resolved",
                             properties={"ticket_id": "T-1", "note": "printer on fire"})
    UserEvent.objects.create(contact=ada, user_key="u_ada",
                             event="support.followup_answered.comment",
                             properties={"comment": "still broken, call +49 30 1234"})
    UserEvent.objects.create(user_key="ada.old@example.com", event="page.viewed",
                             properties={"url": "/secret"})  # stored by an old key only
    send = EmailSend.objects.create(contact=ada, user_key="u_ada", to_email="ada@example.com",
                                    template_key="support/followup", subject="Hi Ada",
                                    html="<p>Hi Ada</p>", text="Hi Ada", from_email="f@x.test",
                                    status="sent", metadata={"replyTo": "ada@example.com"})
    link = TrackedLink.objects.create(email_send=send, original_url="https://x.test", event="e")
    LinkClick.objects.create(tracked_link=link, ip_address="203.0.113.9", user_agent="Firefox")
    ProviderEvent.objects.create(esp_name="postmark", dedupe_key="d1", event_type="bounced",
                                 recipient="ada@example.com", email_send=send)
    preference_update(contact=ada, email="ada@example.com", unsubscribed_all=True, source="api")
    done = JourneyRun.objects.create(journey_id="a", contact=ada, user_key="u_ada",
                                     user_email="ada@example.com", status="completed",
                                     context={"ticket_id": "T-1"})
    StepRecord.objects.create(run=done, key="await-answer", kind="wait", at=done.created_at,
                              value={"result": {"properties": {"comment": "call me"}}})
    live = JourneyRun.objects.create(journey_id="b", contact=ada, user_key="u_ada",
                                     user_email="ada@example.com", status="waiting")
    Alert.objects.create(kind="reopen_requested", title="Reopen: ada@example.com",
                         dedupe_key="a1", contact=ada, payload={"customerEmail": "ada@example.com"})
    bystander = Contact.objects.create(external_id="u_bob", email="bob@example.com",
                                       properties={"plan": "free"})
    UserEvent.objects.create(contact=bystander, user_key="u_bob", event="ticket.resolved",
                             properties={"ticket_id": "T-2"})
    return {"contact": ada, "send": send, "live": live, "bystander": bystander}


def test_erasure_clears_personal_data_everywhere_and_records_it(person):
    ada = person["contact"]
    record = contact_erase(contact_id=ada.pk, actor="dpo@example.com")

    ada.refresh_from_db()
    assert (ada.email, ada.external_id, ada.anonymous_id, ada.properties, ada.timezone) == (
        None, None, None, {}, "")
    assert ada.deleted_at is not None and ada.key == str(ada.pk)
    assert not ContactAlias.objects.filter(contact=ada).exists()
    events = UserEvent.objects.exclude(user_key="u_bob")
    assert events.count() == 3
    assert all(e.properties == {} and e.user_key == str(ada.pk) for e in events)
    send = EmailSend.objects.get(pk=person["send"].pk)
    assert (send.to_email, send.subject, send.html, send.text, send.metadata) == (
        "", "", "", "", {})
    click = LinkClick.objects.get()
    assert (click.ip_address, click.user_agent) == ("", "")
    assert ProviderEvent.objects.get().recipient == ""
    pref = EmailPreference.objects.get()
    assert "ada" not in pref.email and pref.user_key == str(ada.pk)
    runs = JourneyRun.objects.filter(contact=ada)
    assert {r.status for r in runs} == {"completed", "exited"}
    assert all(r.user_email == "" and r.context == {} for r in runs)
    assert StepRecord.objects.get().value == {"erased": True}
    alert = Alert.objects.get()
    assert alert.payload == {} and "ada" not in alert.title and alert.kind == "reopen_requested"

    assert record.actor == "dpo@example.com" and record.contact_id == ada.pk
    assert record.counts["events"] == 3 and record.counts["comments"] == 1
    assert record.counts["sends"] == 1 and record.counts["runs_exited"] == 1
    assert record.counts["alerts"] == 1 and record.counts["preferences"] == 1
    assert ErasureRecord.objects.count() == 1


def test_erasure_leaves_other_people_alone(person):
    contact_erase(contact_id=person["contact"].pk, actor="dpo")
    bob = person["bystander"]
    bob.refresh_from_db()
    assert bob.email == "bob@example.com" and bob.properties == {"plan": "free"}
    assert UserEvent.objects.get(user_key="u_bob").properties == {"ticket_id": "T-2"}


def test_erasing_twice_finds_nothing_personal_left(person):
    ada = person["contact"]
    contact_erase(contact_id=ada.pk, actor="dpo")
    second = contact_erase(contact_id=ada.pk, actor="dpo")
    assert second.counts["runs_exited"] == 0
    assert all(e.properties == {} for e in UserEvent.objects.exclude(user_key="u_bob"))
    assert ErasureRecord.objects.count() == 2


@pytest.mark.parametrize("ref", ["ada@example.com", "u_ada", "ID"])
def test_the_command_finds_the_contact_by_email_external_id_or_id(person, ref):
    ada = person["contact"]
    out = StringIO()
    call_command("erase_contact", str(ada.pk) if ref == "ID" else ref, "--actor", "ops",
                 stdout=out)
    assert f"Erased contact {ada.pk}" in out.getvalue()
    assert ErasureRecord.objects.get().actor == "ops"


def test_the_command_refuses_an_unknown_contact(db):
    with pytest.raises(CommandError, match="no contact matches"):
        call_command("erase_contact", "nobody@example.com")
