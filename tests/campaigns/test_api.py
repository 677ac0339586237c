"""`/v1/campaigns` on the wire, as the reference's client calls it: create (202,
idempotent), read with live counts, list by status with paging, cancel (409 once
finished). Bad input is a 400 naming the problem, and writes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from campaigns.models import Campaign, CampaignChunk
from hogsend_site.auth import api_key_create
from tests.campaigns.conftest import drain

pytestmark = pytest.mark.django_db

ANNOUNCEMENT = {"name": "June update", "list": "digest", "template": "marketing/announcement",
                "subject": "Saved views are here", "props": {"headline": "Saved views"}}


def create(api, **fields):
    return api.post("/v1/campaigns", {**ANNOUNCEMENT, **fields}, format="json")


def test_a_campaign_sent_now_is_accepted_queued_and_its_counts_follow_the_drain(
        api, people, clock, mailoutbox):
    response = create(api)
    assert response.status_code == 202
    body = response.json()
    assert set(body) == {"campaignId", "status", "scheduledAt"}
    assert body["status"] == "queued" and body["scheduledAt"] == "2026-06-01T09:00:00Z"
    before = api.get(f"/v1/campaigns/{body['campaignId']}").json()
    assert (before["status"], before["totalRecipients"], before["sentCount"]) == (
        "queued", None, 0)
    drain()
    after = api.get(f"/v1/campaigns/{body['campaignId']}").json()
    assert {key: after[key] for key in (
        "id", "name", "status", "audienceKind", "audienceId", "templateKey", "totalRecipients",
        "sentCount", "skippedCount", "failedCount", "startedAt", "completedAt", "canceledAt",
        "createdAt", "scheduledAt")} == {
        "id": body["campaignId"], "name": "June update", "status": "sent",
        "audienceKind": "list", "audienceId": "digest", "templateKey": "marketing/announcement",
        "totalRecipients": 5, "sentCount": 5, "skippedCount": 0, "failedCount": 0,
        "startedAt": "2026-06-01T09:00:00Z", "completedAt": "2026-06-01T09:00:00Z",
        "canceledAt": None, "createdAt": "2026-06-01T09:00:00Z",
        "scheduledAt": "2026-06-01T09:00:00Z"}
    assert len(mailoutbox) == 5


def test_a_future_send_at_is_scheduled_and_nothing_goes_out_before_it(
        api, people, clock, mailoutbox):
    body = create(api, sendAt="2026-06-02T09:00:00+02:00").json()
    assert (body["status"], body["scheduledAt"]) == ("scheduled", "2026-06-02T07:00:00Z")
    clock.shift(timedelta(hours=21, minutes=59))
    drain()
    assert mailoutbox == []
    clock.shift(timedelta(minutes=1))
    drain()
    assert len(mailoutbox) == 5
    assert api.get(f"/v1/campaigns/{body['campaignId']}").json()["status"] == "sent"


def test_a_send_at_a_few_seconds_past_is_sent_now(api, people, clock):
    body = create(api, sendAt="2026-06-01T08:59:30Z").json()
    assert (body["status"], body["scheduledAt"]) == ("queued", "2026-06-01T09:00:00Z")


def test_a_retry_with_the_same_idempotency_key_answers_the_same_campaign(
        api, people, clock, mailoutbox):
    first = create(api, idempotencyKey="june-1", sendAt="2026-06-01T09:00:30Z")
    clock.shift(timedelta(minutes=5))  # the retry comes after sendAt: still the same campaign
    again = create(api, idempotencyKey="june-1", sendAt="2026-06-01T09:00:30Z")
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    by_header = api.post("/v1/campaigns", {**ANNOUNCEMENT, "idempotencyKey": "other"},
                         format="json", HTTP_IDEMPOTENCY_KEY="june-1")
    assert by_header.json()["campaignId"] == first.json()["campaignId"]
    assert Campaign.objects.count() == 1
    drain()
    assert len(mailoutbox) == 5


BAD = [
    ({"list": "digest", "bucket": "dormant-30d"}, "Exactly one of list or bucket is required"),
    ({"list": None}, "Exactly one of list or bucket is required"),
    ({"list": "no-such-list"}, "Unknown list: no-such-list"),
    ({"list": None, "bucket": "no-such-bucket"}, "Unknown bucket: no-such-bucket"),
    ({"template": "marketing/nope"}, "Unknown template: marketing/nope"),
    ({"template": "transactional/support-alert"}, "Template transactional/support-alert is "
                                                  "transactional"),
    ({"sendAt": "2026-06-01T08:58:59Z"}, "sendAt is in the past"),
    ({"sendAt": "tomorrow"}, "sendAt: Datetime has wrong format"),
    ({"props": {"ctaUrl": "javascript:alert(1)"}}, "ctaUrl"),
    ({"props": ["not", "a", "dict"]}, "props: Expected a dictionary"),
    ({"from": "not an address"}, "from: Enter a valid email address."),
    ({"template": None}, "template: This field may not be null."),
]


@pytest.mark.parametrize(("fields", "message"), BAD)
def test_bad_input_is_a_400_naming_the_problem_and_writes_nothing(api, people, clock, fields,
                                                                   message):
    response = create(api, **fields, idempotencyKey="k-1")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Campaign.objects.exists() and not CampaignChunk.objects.exists()


def test_the_list_reads_newest_first_filtered_by_status_and_paged(api, people, clock):
    ids = []
    for n in range(3):
        ids.append(create(api, name=f"c{n}", sendAt="2026-07-01T09:00:00Z").json()["campaignId"])
        clock.shift(timedelta(seconds=1))
    api.post(f"/v1/campaigns/{ids[0]}/cancel", format="json")
    page = api.get("/v1/campaigns", {"limit": 2}).json()
    assert [c["name"] for c in page["campaigns"]] == ["c2", "c1"] and page["hasMore"] is True
    rest = api.get("/v1/campaigns", {"limit": 2, "offset": 2}).json()
    assert [c["name"] for c in rest["campaigns"]] == ["c0"] and rest["hasMore"] is False
    scheduled = api.get("/v1/campaigns", {"status": "scheduled"}).json()
    assert [c["name"] for c in scheduled["campaigns"]] == ["c2", "c1"]
    both = api.get("/v1/campaigns", {"status": "canceled,sent"}).json()
    assert [c["name"] for c in both["campaigns"]] == ["c0"]
    bad = api.get("/v1/campaigns", {"status": "done"})
    assert bad.status_code == 400 and "unknown status 'done'" in bad.json()["error"]


def test_an_unknown_campaign_is_a_404(api):
    for response in (api.get("/v1/campaigns/nope"), api.post("/v1/campaigns/nope/cancel")):
        assert response.status_code == 404
        assert response.json() == {"error": "Campaign not found"}


def test_cancel_stops_a_scheduled_campaign_and_a_finished_one_is_a_409(
        api, people, clock, mailoutbox):
    later = create(api, sendAt="2026-06-02T09:00:00Z").json()["campaignId"]
    now = create(api).json()["campaignId"]
    drain()
    canceled = api.post(f"/v1/campaigns/{later}/cancel", format="json")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["canceledAt"] == "2026-06-01T09:00:00Z"
    for campaign_id, status in ((later, "canceled"), (now, "sent")):
        again = api.post(f"/v1/campaigns/{campaign_id}/cancel", format="json")
        assert again.status_code == 409
        assert again.json() == {"error": f"Campaign is already {status}"}
    clock.shift(timedelta(days=2))
    drain()
    assert len(mailoutbox) == 5  # the sent one's five; the canceled one sent nothing


def test_a_publishable_key_cannot_use_campaigns_and_no_key_is_a_401(db, people):
    key = api_key_create(name="site", scopes=["ingest-public"],
                         allowed_origins=["https://app.example.com"])[1]
    browser = APIClient()
    browser.credentials(HTTP_AUTHORIZATION=f"Bearer {key}",
                        HTTP_ORIGIN="https://app.example.com")
    assert browser.post("/v1/campaigns", ANNOUNCEMENT, format="json").status_code == 403
    assert APIClient().get("/v1/campaigns").status_code == 401
    assert not Campaign.objects.exists()


def test_the_campaign_routes_are_in_the_openapi_schema(client):
    schema = client.get("/v1/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert set(paths["/v1/campaigns"]) >= {"get", "post"}
    assert "get" in paths["/v1/campaigns/{campaign_id}"]
    assert "post" in paths["/v1/campaigns/{campaign_id}/cancel"]
    assert paths["/v1/campaigns"]["post"]["operationId"] == "campaigns_send"
