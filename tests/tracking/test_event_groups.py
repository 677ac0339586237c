"""`groups` on `POST /v1/events` is stored on the event (UserEvent.groups), never dropped."""

from __future__ import annotations

import pytest

from contacts.erasure import contact_erase
from contacts.models import Contact
from tracking.models import UserEvent

pytestmark = pytest.mark.django_db

GROUPS = {"company": "acme", "project": "p_42"}


def test_groups_on_a_single_event_are_stored_beside_its_properties(api):
    response = api.post("/v1/events", {"name": "project.created", "userId": "u1",
                                       "eventProperties": {"plan": "pro"}, "groups": GROUPS},
                        format="json")
    assert response.status_code == 202, response.content
    event = UserEvent.objects.get()
    assert event.groups == GROUPS
    assert event.properties == {"plan": "pro"}  # never mixed into what triggers read


def test_an_event_without_groups_stores_an_empty_map(api):
    api.post("/v1/events", {"name": "x.y", "userId": "u1"}, format="json")
    assert UserEvent.objects.get().groups == {}


def test_groups_in_a_batch_are_stored_per_event_and_a_bad_map_fails_alone(api):
    events = [{"name": "a.b", "userId": "u1", "groups": {"company": "acme"}},
              {"name": "a.b", "userId": "u2", "groups": {"company": {"id": 1}}},
              {"name": "a.b", "userId": "u3"}]
    response = api.post("/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 202
    results = response.json()["results"]
    assert results[0]["stored"] is True and results[2]["stored"] is True
    assert results[1]["index"] == 1 and results[1]["error"].startswith("groups.company:")
    assert dict(UserEvent.objects.values_list("user_key", "groups")) == {
        "u1": {"company": "acme"}, "u3": {}}


@pytest.mark.parametrize("groups", [["acme"], {"company": {"id": 1}}, {"company": ""},
                                    {"company": "x" * 256}])
def test_a_malformed_groups_map_is_a_400_naming_groups_and_stores_nothing(api, groups):
    response = api.post("/v1/events", {"name": "x.y", "userId": "u1", "groups": groups},
                        format="json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("groups")
    assert not UserEvent.objects.exists()


def test_a_replayed_event_keeps_its_groups(api, admin_api):
    api.post("/v1/events", {"name": "x.y", "userId": "u1", "groups": GROUPS}, format="json")
    original = UserEvent.objects.get()
    response = admin_api.post("/v1/admin/events/replay", {"eventIds": [original.pk]},
                              format="json")
    assert response.json()["replayed"] == 1
    assert UserEvent.objects.exclude(pk=original.pk).get().groups == GROUPS
    detail = admin_api.get(f"/v1/admin/events/{original.pk}").json()
    assert detail["event"]["groups"] == GROUPS


def test_erasing_a_contact_clears_the_groups_of_their_events(api):
    api.post("/v1/events", {"name": "x.y", "userId": "u_erase", "groups": GROUPS},
             format="json")
    contact_erase(contact_id=Contact.objects.get(external_id="u_erase").pk, actor="test")
    assert UserEvent.objects.get().groups == {}
