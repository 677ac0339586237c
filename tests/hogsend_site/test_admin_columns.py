"""Changelists a person can read on a laptop: few columns, times that name their zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.template import Context, Template
from django.urls import reverse

from contacts.models import Contact
from hogsend_site.admin_columns import short_stamp

# Beside the selection checkbox, this many columns fit 1366 px with the
# navigation and filter sidebars open (tests/browser/test_screens.py measures it).
MAX_COLUMNS = 6


@pytest.mark.parametrize("model", sorted(admin.site._registry, key=lambda m: m._meta.label),
                         ids=lambda m: m._meta.label_lower)
def test_no_changelist_shows_more_than_six_columns(model):
    columns = admin.site._registry[model].list_display
    assert len(columns) <= MAX_COLUMNS, f"{model._meta.label}: {columns}"


def test_a_stamp_names_its_zone_and_drops_this_years_year(settings):
    settings.STAFF_TIME_ZONE = "Europe/Prague"
    with time_machine.travel(datetime(2026, 6, 17, 12, tzinfo=UTC), tick=False):
        assert short_stamp(datetime(2026, 6, 17, 7, tzinfo=UTC)) == "Wed 17 Jun, 09:00 CEST"
        assert short_stamp(datetime(2025, 12, 1, 7, tzinfo=UTC)) == "Mon 1 Dec 2025, 08:00 CET"
        assert short_stamp(None) == "—"


def test_datetimes_django_renders_itself_name_their_zone():
    moment = datetime(2026, 6, 17, 7, 5, tzinfo=UTC)
    assert display_for_value(moment, "—") == "Wed 17 Jun 2026, 07:05 UTC"
    assert Template("{{ moment }}").render(Context({"moment": moment})) == (
        "Wed 17 Jun 2026, 07:05 UTC")


@pytest.mark.django_db
def test_list_columns_show_staff_time_with_its_zone(admin_client, settings):
    settings.STAFF_TIME_ZONE = "Europe/Berlin"
    Contact.objects.create(email="ada@example.com",
                           last_seen_at=datetime(2020, 6, 17, 7, tzinfo=UTC))
    page = admin_client.get(reverse("admin:contacts_contact_changelist")).content.decode()
    assert "Wed 17 Jun 2020, 09:00 CEST" in page
