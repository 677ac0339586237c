"""The console's campaign pages: status, counts with a progress bar and why
people were skipped, a preview of the email, and cancel (action and button)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from campaigns.models import Campaign
from campaigns.services import campaign_create
from contacts.preferences import contact_preferences_set
from tests.campaigns.conftest import NOW, drain

pytestmark = pytest.mark.django_db


def announcement(**fields) -> Campaign:
    campaign, _ = campaign_create(template="marketing/announcement", list_id="digest",
                                  name="June update", subject="Saved views are here",
                                  props={"headline": "Saved views are here"}, **fields)
    return campaign


def test_the_list_shows_status_progress_and_counts(admin_client, people, clock):
    contact_preferences_set(contact=people[0], unsubscribed_all=True, source="api")
    announcement()
    drain()
    announcement(send_at=NOW + timedelta(days=1))
    page = admin_client.get(reverse("admin:campaigns_campaign_changelist")).content.decode()
    assert '<progress value="5" max="5"' in page and "5 of 5" in page
    assert "4 sent · 1 skipped · 0 failed" in page
    assert "not started" in page and "list digest" in page


def test_the_page_previews_the_email_and_says_why_people_were_skipped(
        admin_client, people, clock):
    contact_preferences_set(contact=people[0], unsubscribed_all=True, source="api")
    contact_preferences_set(contact=people[1], categories={"digest": False}, source="api")
    campaign = announcement()
    drain()
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<iframe sandbox srcdoc=" in html and "Saved views are here" in html
    assert "1 unsubscribed from everything, 1 left this list" in html
    assert "3 sent · 2 skipped · 0 failed" in html
    assert 'id="cancel-campaign"' not in html  # it already finished


def test_the_cancel_button_stops_a_scheduled_campaign(admin_client, people, clock,
                                                      mailoutbox):
    campaign = announcement(send_at=NOW + timedelta(days=1))
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert 'id="cancel-campaign"' in page.content.decode()
    response = admin_client.post(reverse("admin:campaigns_campaign_cancel", args=[campaign.pk]))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert (campaign.status, campaign.canceled_by) == ("canceled", "admin")
    clock.shift(timedelta(days=2))
    drain()
    assert mailoutbox == []
    again = admin_client.post(reverse("admin:campaigns_campaign_cancel", args=[campaign.pk]),
                              follow=True)
    assert "not canceled: Campaign is already canceled" in again.content.decode()


def test_the_cancel_action_cancels_the_unfinished_and_names_the_finished(
        admin_client, people, clock):
    later = announcement(send_at=NOW + timedelta(days=1))
    sent = announcement()
    drain()
    response = admin_client.post(reverse("admin:campaigns_campaign_changelist"), {
        "action": "cancel_campaigns", "_selected_action": [later.pk, sent.pk]}, follow=True)
    html = response.content.decode()
    assert "1 campaign(s) canceled." in html
    assert f"{sent.pk}: Campaign is already sent" in html
    assert dict(Campaign.objects.values_list("pk", "status")) == {
        later.pk: "canceled", sent.pk: "sent"}
