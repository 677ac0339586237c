"""The client's admin plane against the real server: preferences, journeys and their
runs, API keys, events and templates."""

from __future__ import annotations

import pytest
from hogsend import AuthenticationError, BadRequestError, ConflictError, NotFoundError

from alerts.models import Alert
from contacts.models import EmailPreference
from journeys.engine import days, define_journey
from journeys.models import JourneyRun
from tests.journeys.conftest import register
from tracking.models import UserEvent

__all__ = ["register"]


@pytest.fixture
def followup(register):
    @define_journey(id="client-followup", name="Client follow-up",
                    trigger="client.ticket_solved")
    def run(user, ctx):
        ctx.sleep(days(1), label="later")

    return register(run)


def test_preferences_update_and_get_by_user_id(hs_admin, ada):
    body = hs_admin.admin.contacts.preferences.update(
        "u_ada", unsubscribed_all=True, categories={"product-updates": False})
    preferences = body["preferences"]
    assert preferences["unsubscribedAll"] is True
    assert preferences["categories"] == {"product-updates": False}
    assert hs_admin.admin.contacts.preferences.get(str(ada.pk)) == body
    stored = EmailPreference.objects.get(email="ada@example.com")
    assert stored.unsubscribed_all is True
    detail = hs_admin.admin.contacts.get("u_ada")
    assert detail["contact"]["id"] == str(ada.pk) and detail["preferences"] == preferences


def test_preferences_of_an_unknown_contact_or_a_bad_category_are_errors(hs_admin, ada):
    with pytest.raises(NotFoundError):
        hs_admin.admin.contacts.preferences.update("u_nobody", unsubscribed_all=True)
    with pytest.raises(BadRequestError, match="invalid category id"):
        hs_admin.admin.contacts.preferences.update("u_ada", categories={"no spaces": False})


def test_journeys_enrol_list_runs_and_cancel_one(hs_admin, followup, ada):
    [journey] = hs_admin.admin.journeys.list()["journeys"]
    assert (journey["id"], journey["enabled"]) == ("client-followup", True)

    enrolled = hs_admin.admin.journeys.enroll("client-followup", user_id="u_ada",
                                              user_email="ada@example.com")
    assert enrolled["enrolled"] is True
    run = JourneyRun.objects.get(journey_id="client-followup")
    assert enrolled["stateId"] == str(run.pk)

    states = hs_admin.admin.journeys.runs.list("client-followup", user_id="u_ada")
    assert [s["id"] for s in states["states"]] == [str(run.pk)] and states["total"] == 1
    detail = hs_admin.admin.journeys.runs.get("client-followup", str(run.pk))
    assert detail["state"]["status"] == run.status

    cancelled = hs_admin.admin.journeys.runs.cancel("client-followup", str(run.pk))
    assert cancelled["state"]["status"] == "exited"
    run.refresh_from_db()
    assert run.status == "exited"
    with pytest.raises(ConflictError) as caught:
        hs_admin.admin.journeys.runs.cancel("client-followup", str(run.pk))
    assert (caught.value.status, caught.value.error) == (409, "Run is already exited")


def test_a_journey_is_switched_off_and_batch_enrolment_reports_each_user(
        hs_admin, followup, ada):
    switched = hs_admin.admin.journeys.update("client-followup", enabled=False)
    assert switched["journey"]["enabled"] is False
    assert hs_admin.admin.journeys.get("client-followup")["journey"]["enabled"] is False
    hs_admin.admin.journeys.update("client-followup", enabled=True)
    body = hs_admin.admin.journeys.enroll_batch(
        "client-followup", [{"user_id": "u_ada"}, {"user_email": "grace@example.com"}, {}])
    assert (body["enrolled"], body["skipped"]) == (2, 1)
    assert body["results"][2]["reason"] == "email or userId is required"


def test_an_api_key_made_through_the_client_works_until_revoked(make_client, hs_admin):
    created = hs_admin.admin.api_keys.create(name="backend", scopes=["ingest"])
    assert created["scopes"] == ["ingest"] and created["key"].startswith(created["keyPrefix"])
    backend = make_client(created["key"])
    assert backend.events.send("signup", user_id="u_new")["stored"] is True
    assert hs_admin.admin.api_keys.revoke(created["id"]) == {"revoked": True}
    with pytest.raises(AuthenticationError):
        backend.events.send("signup", user_id="u_new")
    listed = hs_admin.admin.api_keys.list()["apiKeys"]
    assert any(key["id"] == created["id"] and key["revokedAt"] for key in listed)


def test_events_are_listed_read_and_replayed(hs_admin):
    hs_admin.events.send("trial.started", user_id="u_ada", event_properties={"plan": "pro"})
    [listed] = hs_admin.admin.events.list(event="trial.started", user_id="u_ada")["events"]
    event = hs_admin.admin.events.get(listed["id"])
    assert event["event"]["properties"] == {"plan": "pro"}
    replayed = hs_admin.admin.events.replay([listed["id"], 424242])
    assert replayed["replayed"] == 1 and replayed["errors"][0]["eventId"] == 424242
    assert UserEvent.objects.filter(event="trial.started").count() >= 1


def test_templates_are_listed_and_previewed_as_json_or_raw_html(hs_admin):
    keys = [t["key"] for t in hs_admin.admin.templates.list()["templates"]]
    assert "feedback/referral-ask" in keys
    preview = hs_admin.admin.templates.preview("feedback/referral-ask",
                                               props={"firstName": "Grace"})
    assert "Hi Grace," in preview["text"]
    html = hs_admin.admin.templates.preview("feedback/referral-ask", props={"firstName": "Grace"},
                                            format="html")
    assert isinstance(html, str) and "Grace" in html and html.lstrip().startswith("<")


def test_an_alert_is_acknowledged_then_resolved_and_the_writes_are_audited(hs_admin):
    alert = Alert.objects.create(kind="support.reopen", title="Ada asked to reopen T-9",
                                 dedupe_key="reopen:T-9")
    [listed] = hs_admin.admin.alerts.list(status="open")["alerts"]
    assert listed["id"] == alert.pk
    assert hs_admin.admin.alerts.acknowledge(alert.pk)["alert"]["status"] == "acknowledged"
    assert hs_admin.admin.alerts.resolve(alert.pk)["alert"]["status"] == "resolved"
    alert.refresh_from_db()
    assert alert.status == "resolved"
    audit = hs_admin.admin.audit_logs.list(actor="admin")
    assert audit["total"] == 2
