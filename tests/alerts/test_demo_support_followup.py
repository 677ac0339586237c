"""`manage.py demo_support_followup`: the support story, told by the production paths."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from alerts.models import Alert
from contacts.models import Contact
from journeys.models import JourneyRun
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db


def demo() -> str:
    out = StringIO()
    call_command("demo_support_followup", stdout=out)
    return out.getvalue()


def test_it_tells_the_whole_story_and_leaves_it_in_the_database(mailoutbox):
    text = demo()
    contact = Contact.objects.get(external_id__startswith="demo-")
    for line in (
        "ticket.resolved",
        "waits at 'next-morning'",
        'morning email "Did that fix it?"',
        'clicks "No, still broken"',
        "adds a note",
        "answer confirmed",
        "support.reopen_requested",
        "support-alert pages support@example.com",
        "The run is completed",
    ):
        assert line in text, line
    assert re.search(r"09:00:00 CES?T", text)  # the morning, on the customer's clock
    run = JourneyRun.objects.get(contact=contact, journey_id="support-followup")
    assert run.status == "completed"
    assert UserEvent.objects.get(event="support.followup_answered").properties["answer"] == "no"
    alert = Alert.objects.get()
    assert (alert.kind, alert.contact, alert.journey_run) == ("reopen_requested", contact, run)
    assert [m.to for m in mailoutbox] == [[contact.email], ["support@example.com"]]
    assert mailoutbox[1].subject.startswith("[Reopen requested] #T-")
    assert "The export still fails" in mailoutbox[1].body


def test_it_can_be_run_again(mailoutbox):
    demo()
    demo()
    assert Contact.objects.filter(external_id__startswith="demo-").count() == 2
    assert Alert.objects.count() == 2
    assert EmailSend.objects.filter(to_email="support@example.com").count() == 2


def test_it_points_at_the_stored_copies_in_the_local_outbox(settings, tmp_path):
    settings.EMAIL_BACKEND = "hogsend_site.mail.LocalOutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path
    text = demo()
    paths = re.findall(r"stored copy: (\S+\.eml)", text)
    assert len(paths) == 2
    assert all(Path(p).is_file() and Path(p).parent == tmp_path for p in paths)
    assert "[Reopen requested]" in Path(paths[1]).read_text()


def test_it_says_so_when_the_journey_is_switched_off():
    from django.core.management import CommandError

    from journeys.models import JourneyConfig

    JourneyConfig.objects.create(journey_id="support-followup", enabled=False)
    with pytest.raises(CommandError, match="is the journey enabled"):
        demo()
