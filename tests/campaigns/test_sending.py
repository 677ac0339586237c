"""What a broadcast sends: its audience as it is at send time, each person once
through the tracked mailer (links, pixel, the list's List-Unsubscribe, the
frequency cap), with unsubscribed and suppressed people skipped and counted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from buckets import define_bucket, prop
from campaigns.models import Campaign
from campaigns.services import campaign_create, send_key
from contacts.identity import contact_upsert
from contacts.models import EmailPreference
from contacts.preferences import contact_preferences_set, preference_update
from contacts.tokens import token_read
from tests.campaigns.conftest import NOW, drain
from tracking.lists import list_subscription_set
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db


def broadcast(**fields) -> Campaign:
    fields = {"template": "marketing/announcement", "subject": "Saved views are here",
              "props": {"headline": "Saved views", "ctaUrl": "https://example.com/views"},
              **fields}
    campaign, _ = campaign_create(**fields)
    drain()
    campaign.refresh_from_db()
    return campaign


def addresses(mailoutbox) -> list[str]:
    return sorted(message.to[0] for message in mailoutbox)


def test_a_list_broadcast_skips_and_counts_people_who_opted_out_or_are_suppressed(
        people, clock, mailoutbox):
    _, p1, p2, p3, _ = sorted(people, key=lambda c: c.external_id)
    contact_preferences_set(contact=p1, categories={"digest": False}, source="api")
    contact_preferences_set(contact=p2, unsubscribed_all=True, source="api")
    preference_update(contact=p3, email=p3.email, suppressed=True, source="bounce")
    campaign = broadcast(list_id="digest")
    assert addresses(mailoutbox) == ["p0@example.com", "p4@example.com"]
    assert (campaign.status, campaign.total_recipients, campaign.sent_count,
            campaign.skipped_count, campaign.failed_count) == ("sent", 5, 2, 3, 0)
    assert campaign.skip_reasons == {"category_unsubscribed": 1, "unsubscribed": 1,
                                     "suppressed": 1}
    # Skipped people leave no send row behind; each sent one has its campaign key.
    assert sorted(EmailSend.objects.values_list("idempotency_key", flat=True)) == [
        send_key(campaign.pk, "p0@example.com"), send_key(campaign.pk, "p4@example.com")]


def test_each_send_is_tracked_and_unsubscribes_from_the_list_only(
        people, clock, mailoutbox, client):
    campaign = broadcast(list_id="digest")
    message = next(m for m in mailoutbox if m.to == ["p0@example.com"])
    html = message.alternatives[0][0]
    send = EmailSend.objects.get(to_email="p0@example.com")
    assert (send.category, send.status, send.metadata["campaignId"]) == (
        "digest", "sent", campaign.pk)
    assert f"/v1/t/o/{send.pk}" in html  # the open pixel
    assert "/v1/t/c/" in html and "https://example.com/views" not in html  # a tracked link
    assert message.subject == "Saved views are here" and "Hi p0," in message.body
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    assert token_read(url.split("token=")[1]).category == "digest"
    client.post(url, {"List-Unsubscribe": "One-Click"})
    [row] = EmailPreference.objects.filter(email="p0@example.com")
    assert row.categories == {"digest": False} and row.unsubscribed_all is False


def test_a_chunk_renders_its_template_once_and_fills_in_each_recipient(
        people, clock, mailoutbox, monkeypatch):
    from tracking import templates_registry

    renders = []
    real = templates_registry.render
    monkeypatch.setattr(templates_registry, "render",
                        lambda key, props: renders.append(key) or real(key, props))
    broadcast(list_id="digest")
    assert len(mailoutbox) == 5
    assert all(f"Hi {m.to[0].split('@')[0]}," in m.body for m in mailoutbox)
    assert len(renders) < len(mailoutbox)  # the skeleton and its check, not one per person


def test_an_open_of_a_campaign_email_carries_its_campaign_id(people, clock, mailoutbox,
                                                              client):
    campaign = broadcast(list_id="digest")
    send = EmailSend.objects.get(to_email="p0@example.com")
    client.get(f"/v1/t/o/{send.pk}")
    drain()
    opened = UserEvent.objects.get(event="email.opened")
    assert opened.properties["campaignId"] == campaign.pk
    assert opened.properties["emailSendId"] == str(send.pk)


def test_an_opt_in_list_goes_only_to_the_people_who_said_yes(beta_list, people, clock,
                                                              mailoutbox):
    list_subscription_set(list_id=beta_list, subscribed=True, user_id="p1")
    list_subscription_set(list_id=beta_list, subscribed=True, user_id="p3")
    list_subscription_set(list_id=beta_list, subscribed=False, user_id="p4")
    campaign = broadcast(list_id=beta_list)
    assert addresses(mailoutbox) == ["p1@example.com", "p3@example.com"]
    assert (campaign.total_recipients, campaign.sent_count, campaign.skipped_count) == (2, 2, 0)


def test_the_audience_is_read_when_it_sends_not_when_it_is_created(beta_list, people, clock,
                                                                    mailoutbox):
    list_subscription_set(list_id=beta_list, subscribed=True, user_id="p1")
    list_subscription_set(list_id=beta_list, subscribed=True, user_id="p2")
    campaign, _ = campaign_create(template="marketing/announcement", list_id=beta_list,
                                  send_at=NOW + timedelta(days=1))
    list_subscription_set(list_id=beta_list, subscribed=True, user_id="p3")
    list_subscription_set(list_id=beta_list, subscribed=False, user_id="p1")
    clock.shift(timedelta(days=1))
    drain()
    assert addresses(mailoutbox) == ["p2@example.com", "p3@example.com"]
    campaign.refresh_from_db()
    assert (campaign.total_recipients, campaign.sent_count) == (2, 2)


def test_a_bucket_broadcast_goes_to_its_active_members_and_counts_the_unsubscribed(
        add_bucket, people, clock, mailoutbox):
    add_bucket(define_bucket(id="pro-users", name="Pro users", criteria=prop("plan").eq("pro")))
    for user_id in ("p0", "p2", "p4"):
        contact_upsert(user_id=user_id, properties={"plan": "pro"})
    contact_upsert(user_id="p4", properties={"plan": "free"})  # joined, then left
    contact_upsert(user_id="p3", properties={"plan": "pro"})
    p3 = next(c for c in people if c.external_id == "p3")
    contact_preferences_set(contact=p3, unsubscribed_all=True, source="api")
    campaign = broadcast(bucket_id="pro-users")
    assert addresses(mailoutbox) == ["p0@example.com", "p2@example.com"]
    assert (campaign.total_recipients, campaign.sent_count, campaign.skipped_count,
            campaign.skip_reasons) == (3, 2, 1, {"unsubscribed": 1})
    # A bucket's broadcast is in its template's category.
    assert set(EmailSend.objects.values_list("category", flat=True)) == {"journey"}


def test_the_frequency_cap_skips_people_who_were_emailed_too_recently(
        people, clock, mailoutbox, settings):
    from tracking.mailer import email_send

    settings.EMAIL_FREQUENCY_CAP = {"count": 1, "window": timedelta(days=1)}
    email_send(to="p0@example.com", template="feedback/referral-ask")
    mailoutbox.clear()
    campaign = broadcast(list_id="digest")
    assert "p0@example.com" not in addresses(mailoutbox) and len(mailoutbox) == 4
    assert (campaign.sent_count, campaign.skip_reasons) == (4, {"frequency_capped": 1})


class FlakyProvider(LocmemBackend):
    """Refuses one address, as a provider might refuse a malformed one."""

    def send_messages(self, messages):
        for message in messages:
            if message.to == ["p2@example.com"]:
                raise ConnectionError("provider said no")
        return super().send_messages(messages)


def test_a_provider_error_fails_that_person_only_and_is_counted(people, clock, mailoutbox,
                                                                 settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyProvider"
    campaign = broadcast(list_id="digest")
    assert len(mailoutbox) == 4
    assert (campaign.status, campaign.sent_count, campaign.failed_count) == ("sent", 4, 1)
    failed = EmailSend.objects.get(to_email="p2@example.com")
    assert failed.status == "failed" and failed.idempotency_key is None


def test_people_without_an_address_or_deleted_are_not_in_the_audience(people, clock,
                                                                       mailoutbox):
    from contacts.models import Contact

    Contact.objects.create(external_id="no-mail")
    Contact.objects.filter(external_id="p4").update(deleted_at=NOW)
    campaign = broadcast(list_id="digest")
    assert campaign.total_recipients == 4 and len(mailoutbox) == 4
