"""The support console's answers list (with comments and CSV export) and event replay."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from journeys.models import JourneyRun
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db

ANSWERS = "admin:tracking_answer_changelist"


def messages_of(response) -> str:
    return " | ".join(str(m) for m in get_messages(response.wsgi_request))


def send_to(contact, journey_id: str, template: str) -> EmailSend:
    return EmailSend.objects.create(journey_id=journey_id, contact=contact, template_key=template,
                                    from_email="a@x", to_email=contact.email, subject="?",
                                    status="sent")


def answer(contact, send: EmailSend, event: str, comment: str | None = None, **props):
    context = {"emailSendId": str(send.pk), "templateKey": send.template_key,
               "journeyId": send.journey_id}
    row = UserEvent.objects.create(contact=contact, user_key=contact.key, event=event,
                                   source="tracking", idempotency_key=f"sem:{send.pk}:{event}",
                                   properties={**context, **props})
    if comment is not None:
        UserEvent.objects.create(contact=contact, user_key=contact.key, event=f"{event}.comment",
                                 source="tracking", idempotency_key=f"semc:{send.pk}:{event}",
                                 properties={**context, **props, "comment": comment})
    return row


@pytest.fixture
def answers(ada, anon) -> dict[str, UserEvent]:
    bob = type(ada).objects.create(external_id="u_bob", email="bob@example.com")
    followup = send_to(ada, "support-followup", "support/followup")
    nps = send_to(bob, "nps-survey", "feedback/nps-survey")
    old = answer(bob, send_to(bob, "nps-survey", "feedback/nps-survey"), "nps.answered",
                 band="promoter", score=9)
    UserEvent.objects.filter(pk=old.pk).update(occurred_at=timezone.now() - timedelta(days=40))
    UserEvent.objects.create(contact=ada, user_key=ada.key, event="ticket.resolved")
    return {
        "no": answer(ada, followup, "support.followup_answered", comment="=HYPERLINK(evil)",
                     answer="no"),
        "detractor": answer(bob, nps, "nps.answered", comment="Too slow.", band="detractor",
                            score=3),
        "old": old,
    }


@pytest.mark.parametrize("who", ["admin_client", "support_client"])
def test_the_answers_list_shows_only_answers_with_their_comments(request, who, answers):
    client = request.getfixturevalue(who)
    response = client.get(reverse(ANSWERS))
    assert response.status_code == 200
    listed = {row.pk for row in response.context["cl"].result_list}
    assert listed == {a.pk for a in answers.values()}
    html = response.content.decode()
    for text in ("answer: no", "=HYPERLINK(evil)", "band: detractor, score: 3", "Too slow.",
                 "support-followup", 'id="export-csv"'):
        assert text in html, text
    page = client.get(reverse("admin:tracking_answer_change", args=[answers["no"].pk]))
    assert page.status_code == 200 and b"=HYPERLINK(evil)" in page.content


@pytest.mark.parametrize(("params", "expected"), [
    ({"journey": "nps-survey"}, {"detractor", "old"}),
    ({"event": "support.followup_answered"}, {"no"}),
    ({"value": "band:detractor"}, {"detractor"}),
    ({"value": "score:9"}, {"old"}),
    ({"value": "answer:no"}, {"no"}),
    ({"occurred_at__gte": "2000-01-01 00:00:00+00:00", "journey": "nps-survey",
      "value": "score:3"}, {"detractor"}),
])
def test_answers_filter_by_journey_event_value_and_date(admin_client, answers, params, expected):
    response = admin_client.get(reverse(ANSWERS), params)
    assert response.status_code == 200
    listed = {row.pk for row in response.context["cl"].result_list}
    assert listed == {answers[name].pk for name in expected}


def test_the_filters_offer_the_journeys_events_and_values_answered(admin_client, answers):
    html = admin_client.get(reverse(ANSWERS)).content.decode()
    for choice in ("?journey=nps-survey", "?event=support.followup_answered",
                   "?value=band%3Adetractor", "?value=score%3A9"):
        assert choice in html, choice


def read_csv(response) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_csv_downloads_the_filtered_rows_with_comments(admin_client, answers):
    response = admin_client.get(reverse("admin:tracking_answer_export"),
                                {"journey": "nps-survey", "value": "band:detractor"})
    (row,) = read_csv(response)
    assert (row["event"], row["band"], row["score"], row["comment"], row["contact"]) == (
        "nps.answered", "detractor", "3", "Too slow.", "bob@example.com")
    assert row["email_send_id"] == answers["detractor"].properties["emailSendId"]
    assert "attachment" in response["Content-Disposition"]


def test_export_defuses_spreadsheet_formulas(admin_client, answers):
    rows = read_csv(admin_client.get(reverse("admin:tracking_answer_export"),
                                     {"event": "support.followup_answered"}))
    assert rows[0]["comment"] == "'=HYPERLINK(evil)"


def test_the_export_action_exports_the_selected_rows(support_client, answers):
    response = support_client.post(reverse(ANSWERS), {
        "action": "export_csv", "_selected_action": [answers["no"].pk, answers["old"].pk]})
    assert {row["event_id"] for row in read_csv(response)} == {
        str(answers["no"].pk), str(answers["old"].pk)}


def test_export_needs_the_view_permission(answers, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", is_staff=True)
    client = Client()
    client.force_login(nobody)
    assert client.get(reverse("admin:tracking_answer_export")).status_code == 403


# --- event replay ---------------------------------------------------------------------


def test_replay_runs_events_through_the_pipeline_and_reports_skips(support_client, ada):
    event = UserEvent.objects.create(contact=ada, user_key=ada.key, event="ticket.resolved",
                                     properties={"ticket_id": "T-7"})
    changelist = reverse("admin:tracking_userevent_changelist")
    first = support_client.post(changelist, {"action": "replay", "_selected_action": [event.pk]},
                                follow=True)
    assert "Replayed 1 of 1 event(s). Runs started: support-followup ×1." in messages_of(first)
    run = JourneyRun.objects.get(journey_id="support-followup")
    assert run.context == {"ticket_id": "T-7"} and run.trigger_event.source == "replay"
    second = support_client.post(changelist, {"action": "replay", "_selected_action": [event.pk]},
                                 follow=True)
    assert (f"support-followup not started (period_not_elapsed) for event(s) #{event.pk}"
            in messages_of(second))
    assert UserEvent.objects.filter(event="ticket.resolved", source="replay").count() == 2


def test_replay_needs_its_permission(ada, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_userevent"))
    client = Client()
    client.force_login(viewer)
    event = UserEvent.objects.create(contact=ada, user_key=ada.key, event="ticket.resolved")
    client.post(reverse("admin:tracking_userevent_changelist"),
                {"action": "replay", "_selected_action": [event.pk]})
    assert UserEvent.objects.count() == 1
