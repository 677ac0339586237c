"""Admin pages render the times Django formats itself in STAFF_TIME_ZONE, named."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from contacts.models import EmailPreference

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 6, 17, 7, 0, tzinfo=UTC)


@pytest.fixture
def preference(ada) -> EmailPreference:
    with time_machine.travel(MORNING, tick=False):
        return EmailPreference.objects.create(contact=ada, user_key=ada.key, email=ada.email)


def test_a_read_only_time_on_an_admin_page_is_in_the_staff_zone(admin_client, preference,
                                                                  settings):
    settings.STAFF_TIME_ZONE = "Europe/Prague"
    page = admin_client.get(f"/admin/contacts/emailpreference/{preference.pk}/change/")
    assert page.status_code == 200
    assert "Wed 17 Jun 2026, 09:00 CEST" in page.content.decode()


def test_without_a_staff_zone_admin_times_are_utc_and_say_so(admin_client, preference):
    page = admin_client.get(f"/admin/contacts/emailpreference/{preference.pk}/change/")
    assert "Wed 17 Jun 2026, 07:00 UTC" in page.content.decode()


def test_the_staff_zone_does_not_leak_into_the_api(admin_api, ada, settings):
    settings.STAFF_TIME_ZONE = "Europe/Prague"
    with time_machine.travel(MORNING, tick=False):
        admin_api.put("/v1/contacts", {"userId": "u_ada", "properties": {"x": 1}},
                      format="json")
    body = admin_api.get("/v1/contacts/find", {"userId": "u_ada"}).json()
    assert body["contacts"][0]["lastSeenAt"].endswith(("Z", "+00:00"))
