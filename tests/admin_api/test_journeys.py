"""Journeys on the admin plane: registry and counts, the switch, runs, enrolment."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from journeys.engine import days, define_journey, hours
from journeys.engine.registry import registry
from journeys.models import JourneyConfig, JourneyLog, JourneyRun

pytestmark = pytest.mark.django_db


def onboarding():
    @define_journey(id="onboarding", name="Onboarding", trigger={
        "event": "trial.started", "where": lambda b: b.prop("plan").eq("pro")},
        entry_limit="once", suppress=hours(12), exit_on=["trial.converted"])
    def run(user, ctx):
        ctx.sleep(days(1), label="day-one")

    return run


def nurture():
    @define_journey(id="nurture", name="Nurture", trigger="lead.created")
    def run(user, ctx):
        ctx.sleep(days(1), label="later")

    return run


@pytest.fixture
def journeys(register) -> None:
    register(onboarding())
    register(nurture())


def make_run(contact: Contact, status: str, journey_id: str = "onboarding") -> JourneyRun:
    return JourneyRun.objects.create(journey_id=journey_id, contact=contact,
                                     user_key=contact.key, user_email=contact.email or "",
                                     status=status)


@pytest.fixture
def runs(journeys, ada) -> dict[str, JourneyRun]:
    others = [Contact.objects.create(external_id=f"u_{i}") for i in range(4)]
    return {
        "waiting": make_run(ada, "waiting"),
        "completed": make_run(others[0], "completed"),
        "failed": make_run(others[1], "failed"),
        "exited": make_run(others[2], "exited"),
        "held_out": make_run(others[3], "held_out"),
    }


# --- registry -------------------------------------------------------------------------


def test_the_list_shows_every_registered_journey_with_its_run_counts(admin_api, runs):
    body = admin_api.get("/v1/admin/journeys").json()
    assert [j["id"] for j in body["journeys"]] == ["nurture", "onboarding"]
    assert body["total"] == 2
    item = body["journeys"][1]
    assert item == {
        "id": "onboarding", "name": "Onboarding", "description": "", "enabled": True,
        "trigger": {"event": "trial.started"}, "entryLimit": "once",
        "counts": {"active": 0, "waiting": 1, "completed": 1, "failed": 1, "exited": 1,
                   "heldOut": 1},
    }


def test_the_counts_of_all_journeys_cost_one_query(admin_api, runs):
    with CaptureQueriesContext(connection) as queries:
        admin_api.get("/v1/admin/journeys")
    run_queries = [q for q in queries.captured_queries
                   if "journeys_journeyrun" in q["sql"].lower()]
    assert len(run_queries) == 1
    assert "group by" in run_queries[0]["sql"].lower()


def test_enabled_means_on_in_code_and_not_switched_off(admin_api, journeys):
    JourneyConfig.objects.create(journey_id="nurture", enabled=False)
    body = admin_api.get("/v1/admin/journeys").json()
    assert {j["id"]: j["enabled"] for j in body["journeys"]} == {"nurture": False,
                                                                 "onboarding": True}
    only_on = admin_api.get("/v1/admin/journeys?enabled=true").json()
    assert [j["id"] for j in only_on["journeys"]] == ["onboarding"] and only_on["total"] == 1


def test_the_detail_adds_rules_and_the_ten_most_recent_runs(admin_api, journeys, ada):
    for _ in range(12):
        make_run(ada, "completed")
    body = admin_api.get("/v1/admin/journeys/onboarding").json()["journey"]
    assert body["trigger"] == {"event": "trial.started", "where": [
        {"type": "property", "property": "plan", "operator": "eq", "value": "pro"}]}
    assert body["exitOn"] == [{"event": "trial.converted", "where": []}]
    assert body["suppress"] == 12 * 3600
    assert body["enabledInCode"] is True and body["versionHash"]
    assert len(body["recentStates"]) == 10
    assert body["counts"]["completed"] == 12


def test_an_unknown_journey_is_a_404(admin_api, journeys):
    for method, path in (("get", "/v1/admin/journeys/nope"),
                         ("patch", "/v1/admin/journeys/nope"),
                         ("get", "/v1/admin/journeys/nope/states"),
                         ("post", "/v1/admin/journeys/nope/enroll")):
        body = {"enabled": False} if method == "patch" else {"userId": "u_ada"}
        response = getattr(admin_api, method)(path, body, format="json")
        assert response.status_code == 404, path
        assert response.json() == {"error": "Journey not found"}


def test_patch_switches_a_journey_off_for_new_enrolments(admin_api, journeys, ada):
    response = admin_api.patch("/v1/admin/journeys/onboarding", {"enabled": False},
                               format="json")
    assert response.status_code == 200
    assert response.json()["journey"]["enabled"] is False
    assert JourneyConfig.objects.get(journey_id="onboarding").enabled is False
    enroll = admin_api.post("/v1/admin/journeys/onboarding/enroll",
                            {"userId": "u_ada", "properties": {"plan": "pro"}}, format="json")
    assert enroll.json()["reason"] == "journey_disabled_by_admin"
    admin_api.patch("/v1/admin/journeys/onboarding", {"enabled": True}, format="json")
    assert JourneyConfig.objects.get(journey_id="onboarding").enabled is True


def test_patch_needs_a_boolean(admin_api, journeys):
    response = admin_api.patch("/v1/admin/journeys/onboarding", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "enabled: This field is required."}


# --- runs -----------------------------------------------------------------------------


def test_states_are_listed_newest_first_with_filters(admin_api, runs):
    body = admin_api.get("/v1/admin/journeys/onboarding/states").json()
    assert body["total"] == 5
    assert body["states"][0]["id"] == str(runs["held_out"].pk)
    failed = admin_api.get("/v1/admin/journeys/onboarding/states?status=failed").json()
    assert [s["id"] for s in failed["states"]] == [str(runs["failed"].pk)]
    ada = admin_api.get("/v1/admin/journeys/onboarding/states?userId=u_ada").json()
    assert [s["id"] for s in ada["states"]] == [str(runs["waiting"].pk)]
    assert ada["states"][0]["userEmail"] == "ada@example.com"
    page = admin_api.get("/v1/admin/journeys/onboarding/states?limit=2&offset=4").json()
    assert len(page["states"]) == 1 and page["total"] == 5


def test_runs_of_a_journey_removed_from_code_are_still_listed(admin_api, runs):
    registry.remove("onboarding")
    body = admin_api.get("/v1/admin/journeys/onboarding/states").json()
    assert body["total"] == 5


def test_one_state_comes_with_its_logs(admin_api, runs):
    run = runs["waiting"]
    JourneyLog.objects.create(run=run, action="entered", to_step="start",
                              created_at=run.created_at)
    body = admin_api.get(f"/v1/admin/journeys/onboarding/states/{run.pk}").json()
    assert body["state"]["status"] == "waiting"
    assert [(log["action"], log["toNodeId"]) for log in body["logs"]] == [("entered", "start")]


def test_a_state_of_another_journey_is_a_404(admin_api, runs):
    response = admin_api.get(f"/v1/admin/journeys/nurture/states/{runs['waiting'].pk}")
    assert response.status_code == 404
    assert response.json() == {"error": "Run not found"}


def test_delete_cancels_a_live_run(admin_api, runs):
    run = runs["waiting"]
    response = admin_api.delete(f"/v1/admin/journeys/onboarding/states/{run.pk}")
    assert response.status_code == 200
    state = response.json()["state"]
    assert (state["id"], state["status"]) == (str(run.pk), "exited")
    assert state["exitedAt"]
    run.refresh_from_db()
    assert run.status == "exited" and run.exit_reason == "cancelled by admin"


@pytest.mark.parametrize("status", ["completed", "failed", "exited", "held_out"])
def test_cancelling_a_terminal_run_is_a_409(admin_api, runs, status):
    response = admin_api.delete(f"/v1/admin/journeys/onboarding/states/{runs[status].pk}")
    assert response.status_code == 409
    assert response.json() == {"error": f"Run is already {status}"}


def test_retry_puts_a_failed_run_back_in_line(admin_api, runs):
    run = runs["failed"]
    response = admin_api.post(f"/v1/admin/journeys/onboarding/states/{run.pk}/retry")
    assert response.status_code == 202
    assert response.json()["state"]["status"] == "active"
    run.refresh_from_db()
    assert run.status == "active" and run.wake_at is not None


def test_retrying_a_run_that_did_not_fail_is_a_409(admin_api, runs):
    response = admin_api.post(f"/v1/admin/journeys/onboarding/states/{runs['waiting'].pk}/retry")
    assert response.status_code == 409
    assert response.json() == {"error": "Only failed runs can be retried; this one is waiting"}


# --- enrolment ------------------------------------------------------------------------


def test_enrol_goes_through_the_guards_and_a_second_once_enrolment_is_skipped(
        admin_api, journeys, ada):
    body = {"userId": "u_ada", "userEmail": "ada@example.com", "properties": {"plan": "pro"}}
    first = admin_api.post("/v1/admin/journeys/onboarding/enroll", body, format="json")
    assert first.status_code == 202
    assert first.json()["enrolled"] is True and first.json()["reason"] is None
    assert (first.json()["event"], first.json()["userId"]) == ("trial.started", "u_ada")
    run = JourneyRun.objects.get(journey_id="onboarding")
    assert first.json()["stateId"] == str(run.pk)
    second = admin_api.post("/v1/admin/journeys/onboarding/enroll", body, format="json")
    assert second.status_code == 202
    assert second.json() == {"enrolled": False, "reason": "already_entered_once",
                             "event": "trial.started", "userId": "u_ada", "stateId": None}
    assert JourneyRun.objects.filter(journey_id="onboarding").count() == 1


def test_enrol_applies_the_trigger_conditions(admin_api, journeys, ada):
    response = admin_api.post("/v1/admin/journeys/onboarding/enroll",
                              {"userId": "u_ada", "properties": {"plan": "free"}}, format="json")
    assert response.json()["reason"] == "trigger_conditions_not_met"


def test_enrol_by_email_alone_creates_the_contact(admin_api, journeys):
    response = admin_api.post("/v1/admin/journeys/nurture/enroll",
                              {"userEmail": "new@example.com"}, format="json")
    assert response.json()["enrolled"] is True
    assert Contact.objects.filter(email="new@example.com").exists()


def test_enrol_needs_a_user(admin_api, journeys):
    response = admin_api.post("/v1/admin/journeys/nurture/enroll", {}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "userId or userEmail is required"}


def test_batch_enrol_reports_each_user(admin_api, journeys, ada):
    users = [{"userId": "u_ada"}, {"userId": "u_ada"}, {"userId": "u_two"}, {}]
    response = admin_api.post("/v1/admin/journeys/nurture/enroll/batch", {"users": users},
                              format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["enrolled"], body["skipped"]) == (2, 2)
    assert [(r["index"], r["enrolled"], r["reason"]) for r in body["results"]] == [
        (0, True, None), (1, False, "already_active"), (2, True, None),
        (3, False, "email or userId is required")]


def test_batch_enrol_refuses_more_than_500_users(admin_api, journeys):
    users = [{"userId": f"u_{i}"} for i in range(501)]
    response = admin_api.post("/v1/admin/journeys/nurture/enroll/batch", {"users": users},
                              format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "users: Ensure this field has no more than 500 elements."}
    assert not JourneyRun.objects.exists()
