"""Campaigns defined in code are lined up with the database before the clock
sends anything: a future one is scheduled, one due within the grace hour sends,
an older one expires with a warning and never sends, and nothing that was sent,
canceled or expired is sent again by a redeploy."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from campaigns import DefinitionError, define_campaign
from campaigns import due as campaign_due
from campaigns.checks import check_campaigns
from campaigns.models import Campaign, CampaignChunk
from campaigns.registry import enabled_ids, registry
from campaigns.services import campaign_cancel, campaigns_sync
from tests.campaigns.conftest import NOW, drain

pytestmark = pytest.mark.django_db


def june(**overrides):
    fields = {"id": "june-update", "audience": {"list": "digest"},
              "template": "marketing/announcement", "subject": "Saved views are here",
              "props": {"headline": "Saved views are here"}, "send_at": NOW}
    return define_campaign(**{**fields, **overrides})


def redeploy() -> None:
    """A new process: the clock syncs the definitions again on its first claim."""
    campaign_due.reset()


def test_a_definition_with_a_future_send_at_is_scheduled_and_sends_at_that_time(
        add_campaign, people, clock, mailoutbox):
    add_campaign(june(send_at=NOW + timedelta(days=1)))
    drain()
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.origin, campaign.send_at) == (
        "scheduled", "code", NOW + timedelta(days=1))
    assert mailoutbox == []
    clock.move_to(NOW + timedelta(days=1))
    drain()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count, campaign.total_recipients) == ("sent", 5, 5)
    assert sorted(m.to[0] for m in mailoutbox) == [f"p{n}@example.com" for n in range(5)]
    assert {m.subject for m in mailoutbox} == {"Saved views are here"}


def test_a_definition_due_within_the_grace_hour_sends_at_once(add_campaign, people, clock,
                                                                mailoutbox):
    add_campaign(june(send_at=NOW - timedelta(minutes=59)))
    drain()
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.sent_count) == ("sent", 5)
    assert len(mailoutbox) == 5


def test_an_older_definition_is_recorded_expired_with_a_warning_and_never_sends(
        add_campaign, people, clock, mailoutbox, caplog):
    add_campaign(june(send_at=NOW - timedelta(hours=3)))
    with caplog.at_level(logging.WARNING, logger="campaigns.services"):
        drain()
    campaign = Campaign.objects.get()
    assert campaign.status == "expired" and campaign.sent_count == 0
    assert "3.0 h after its send time" in campaign.note
    assert any("june-update expired without sending" in r.getMessage() for r in caplog.records)
    assert not CampaignChunk.objects.exists()
    clock.shift(timedelta(days=2))
    redeploy()
    drain()
    assert mailoutbox == [] and Campaign.objects.get().status == "expired"


def test_a_sent_campaign_is_never_resurrected_by_a_redeploy_even_with_a_changed_definition(
        add_campaign, people, clock, mailoutbox):
    add_campaign(june())
    drain()
    assert len(mailoutbox) == 5
    registry.remove("june-update")
    add_campaign(june(subject="Saved views are here (again)", send_at=NOW + timedelta(hours=1)))
    redeploy()
    clock.shift(timedelta(hours=2))
    drain()
    campaign = Campaign.objects.get()
    assert (campaign.status, campaign.subject, campaign.sent_count) == (
        "sent", "Saved views are here", 5)
    assert len(mailoutbox) == 5


def test_an_expired_or_canceled_campaign_stays_so_when_redeployed_with_a_future_time(
        add_campaign, people, clock, mailoutbox):
    add_campaign(june(id="old-news", send_at=NOW - timedelta(days=1)))
    add_campaign(june(id="called-off", send_at=NOW + timedelta(days=1)))
    drain()
    campaign_cancel(campaign_id="called-off", actor="ops")
    for campaign_id in ("old-news", "called-off"):
        registry.remove(campaign_id)
        add_campaign(june(id=campaign_id, send_at=NOW + timedelta(hours=2)))
    redeploy()
    clock.shift(timedelta(hours=3))
    drain()
    assert dict(Campaign.objects.values_list("pk", "status")) == {
        "old-news": "expired", "called-off": "canceled"}
    assert mailoutbox == []


def test_a_scheduled_definition_changed_before_it_sends_sends_the_new_version(
        add_campaign, people, clock, mailoutbox):
    add_campaign(june(send_at=NOW + timedelta(days=1)))
    drain()
    registry.remove("june-update")
    add_campaign(june(send_at=NOW + timedelta(days=2), subject="Saved views, at last"))
    redeploy()
    clock.shift(timedelta(days=1, hours=1))
    drain()
    assert mailoutbox == [] and Campaign.objects.get().status == "scheduled"
    clock.shift(timedelta(days=1))
    drain()
    assert {m.subject for m in mailoutbox} == {"Saved views, at last"}
    assert len(mailoutbox) == 5


def test_a_scheduled_definition_that_is_removed_is_canceled_and_never_sends(
        add_campaign, people, clock, mailoutbox):
    add_campaign(june(send_at=NOW + timedelta(days=1)))
    drain()
    registry.remove("june-update")
    redeploy()
    clock.shift(timedelta(days=2))
    drain()
    campaign = Campaign.objects.get()
    assert campaign.status == "canceled" and "no longer deployed" in campaign.note
    assert mailoutbox == []


def test_two_processes_syncing_at_once_create_one_campaign(add_campaign, people, clock):
    add_campaign(june(send_at=NOW + timedelta(days=1)))
    first, second = campaigns_sync(), campaigns_sync()
    assert first.scheduled == ["june-update"] and second.unchanged == ["june-update"]
    assert Campaign.objects.count() == 1 and CampaignChunk.objects.count() == 1


def test_sync_campaigns_says_what_it_did(add_campaign, people, clock):
    add_campaign(june(id="later", send_at=NOW + timedelta(days=1)))
    add_campaign(june(id="now", send_at=NOW - timedelta(minutes=5)))
    add_campaign(june(id="too-late", send_at=NOW - timedelta(days=1)))
    out = io.StringIO()
    call_command("sync_campaigns", stdout=out)
    assert out.getvalue().splitlines() == [
        "scheduled: later", "sending now: now", "expired (not sent): too-late"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"audience": {"list": "digest", "bucket": "dormant-30d"}}, 'exactly one of "list"'),
    ({"audience": {}}, 'exactly one of "list"'),
    ({"audience": {"segment": "x"}}, "unknown key 'segment'"),
    ({"send_at": NOW.replace(tzinfo=None)}, "send_at must be an aware datetime"),
    ({"id": "June Update"}, "id must be a lower-case slug"),
    ({"props": {"when": object()}}, "props must be JSON values"),
])
def test_a_bad_definition_fails_naming_the_campaign_and_the_field(fields, message):
    with pytest.raises(DefinitionError) as caught:
        june(**fields)
    where = f"campaign {fields.get('id', 'june-update')!r}: "
    assert str(caught.value).startswith(where) and message in str(caught.value)


def test_an_unknown_template_or_audience_fails_the_start_up_check(add_campaign, beta_list):
    add_campaign(june(id="no-template", template="marketing/nope"))
    add_campaign(june(id="no-list", audience={"list": "nope"}))
    add_campaign(june(id="no-bucket", audience={"bucket": "nope"}))
    add_campaign(june(id="ok", audience={"list": beta_list}))
    errors = {e.msg.split(" ", 2)[1]: e for e in check_campaigns(None)}
    assert set(errors) == {"'no-template'", "'no-list'", "'no-bucket'"}
    assert {e.id for e in errors.values()} == {"hogsend.E601"}
    assert "Unknown template: marketing/nope" in errors["'no-template'"].msg
    assert "Unknown list: nope" in errors["'no-list'"].msg


def test_an_invalid_definition_is_not_synced_and_the_rest_are(add_campaign, people, clock,
                                                                caplog):
    add_campaign(june(id="broken", template="marketing/nope"))
    add_campaign(june(id="fine", send_at=NOW + timedelta(days=1)))
    with caplog.at_level(logging.ERROR, logger="campaigns.services"):
        drain()
    assert list(Campaign.objects.values_list("pk", flat=True)) == ["fine"]
    assert any("broken" in r.getMessage() for r in caplog.records)


def test_enabled_campaigns_naming_an_unknown_id_stops_start_up_with_a_suggestion(settings):
    settings.ENABLED_CAMPAIGNS = "june-updat"
    with pytest.raises(ImproperlyConfigured, match="Did you mean 'june-update'"):
        enabled_ids(["june-update", "july-update"])
    settings.ENABLED_CAMPAIGNS = "*"
    assert enabled_ids(["june-update"]) is None
