"""The reference engine's presets: Stripe, Segment, PostHog, Clerk and Supabase."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contacts.models import Contact
from tests.sources import vendors
from tests.sources.vendors import SECRETS, post, raw, stored

pytestmark = pytest.mark.django_db


# --- Stripe ----------------------------------------------------------------------------


def stripe_event(kind: str, obj: dict, event_id: str = "evt_1NG8Du2eZvKYlo2CUI79vXWy") -> dict:
    """An Event object as Stripe posts it to a webhook endpoint."""
    return {"id": event_id, "object": "event", "api_version": "2024-06-20",
            "created": 1718548800, "data": {"object": obj}, "livemode": False,
            "pending_webhooks": 1, "request": {"id": "req_Nq4s", "idempotency_key": None},
            "type": kind}


CUSTOMER = {"id": "cus_Q1ada", "object": "customer", "address": None, "balance": 0,
            "created": 1718548800, "currency": None, "email": "ada@example.com",
            "livemode": False, "metadata": {"plan": "pro"}, "name": "Ada Lovelace",
            "phone": None, "preferred_locales": []}
INVOICE = {"id": "in_1PaidX", "object": "invoice", "customer": "cus_Q1ada",
           "customer_email": "ada@example.com", "amount_due": 4900, "amount_paid": 4900,
           "currency": "usd", "status": "paid", "billing_reason": "subscription_cycle",
           "subscription": "sub_1MowQV"}
SUBSCRIPTION = {"id": "sub_1MowQV", "object": "subscription", "customer": "cus_Q1ada",
                "status": "active", "cancel_at_period_end": False, "currency": "usd"}


def send_stripe(client, payload: dict, **sign) -> object:
    body = raw(payload)
    return post(client, "stripe", body, vendors.stripe(body, **sign))


def test_a_stripe_customer_becomes_a_contact_with_its_profile(client):
    response = send_stripe(client, stripe_event("customer.created", CUSTOMER))

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert event.event == "contact.created"
    assert event.idempotency_key == "src:stripe:evt_1NG8Du2eZvKYlo2CUI79vXWy"
    assert event.properties["stripe_customer_id"] == "cus_Q1ada"
    contact = Contact.objects.get()
    assert contact.email == "ada@example.com"
    assert contact.properties == {"plan": "pro", "name": "Ada Lovelace",
                                  "stripe_customer_id": "cus_Q1ada"}


def test_later_stripe_events_without_an_email_land_on_the_same_contact(client):
    send_stripe(client, stripe_event("customer.created", CUSTOMER))

    response = send_stripe(client, stripe_event("customer.subscription.created", SUBSCRIPTION,
                                                "evt_sub"))

    assert response.status_code == 200
    created, subscribed = stored()
    assert subscribed.event == "subscription.created"
    assert subscribed.contact_id == created.contact_id
    assert subscribed.properties["status"] == "active"
    assert Contact.objects.count() == 1


def test_a_paid_stripe_invoice_is_an_invoice_event_and_touches_no_profile(client):
    response = send_stripe(client, stripe_event("invoice.paid", INVOICE, "evt_inv"))

    assert response.status_code == 200
    (event,) = stored()
    assert (event.event, event.properties["amount_paid"], event.properties["currency"]) == (
        "invoice.paid", 4900, "usd")
    assert Contact.objects.get().properties == {}


def test_stripe_retrying_an_event_stores_it_once(client):
    payload = stripe_event("invoice.paid", INVOICE, "evt_retry")

    first, second = send_stripe(client, payload), send_stripe(client, payload)

    assert (first.status_code, second.status_code) == (200, 200)
    assert len(stored()) == 1


def test_a_stripe_signature_older_than_five_minutes_is_refused(client):
    old = vendors.now() - timedelta(minutes=5, seconds=30)

    response = send_stripe(client, stripe_event("invoice.paid", INVOICE), at=old)

    assert response.status_code == 401
    assert "tolerance" in response.json()["error"]
    assert stored() == []


def test_a_stripe_signature_four_minutes_old_is_accepted(client):
    response = send_stripe(client, stripe_event("invoice.paid", INVOICE),
                           at=vendors.now() - timedelta(minutes=4))

    assert response.status_code == 200


@pytest.mark.parametrize("header", [None, "t=1718548800", "v1=abc", "t=abc,v1=abc",
                                    "t=99999999999999999999,v1=00"])
def test_stripe_without_a_valid_signature_header_is_refused(client, header):
    headers = {"Stripe-Signature": header} if header else {}

    response = post(client, "stripe", raw(stripe_event("invoice.paid", INVOICE)), headers)

    assert response.status_code == 401
    assert stored() == []


def test_stripe_signed_with_another_endpoints_secret_is_refused(client):
    response = send_stripe(client, stripe_event("invoice.paid", INVOICE), secret="whsec_other")

    assert response.status_code == 401


def test_an_unmapped_stripe_event_is_acknowledged(client):
    response = send_stripe(client, stripe_event("charge.succeeded", {"id": "ch_1"}))

    assert response.status_code == 200 and "charge.succeeded" in response.json()["ignored"]
    assert stored() == []


def test_a_stripe_event_without_its_object_is_a_400(client):
    response = send_stripe(client, {**stripe_event("invoice.paid", INVOICE), "data": {}})

    assert response.status_code == 400
    assert stored() == []


# --- Segment ---------------------------------------------------------------------------

TRACK = {
    "anonymousId": "507f191e810c19729de860ea",
    "context": {"ip": "8.8.8.8", "library": {"name": "analytics.js", "version": "2.11.1"},
                "traits": {"email": "ada@example.com"}},
    "event": "Order Completed",
    "integrations": {},
    "messageId": "ajs-f8ca1e4de5024d9430b3928bd8ac6b96",
    "properties": {"revenue": 49, "currency": "USD"},
    "receivedAt": "2026-06-16T14:40:01.303Z",
    "sentAt": "2026-06-16T14:40:00.932Z",
    "timestamp": "2026-06-16T14:40:00.932Z",
    "type": "track",
    "userId": "u_ada",
    "version": 2,
}
IDENTIFY = {"anonymousId": "507f191e810c19729de860ea", "messageId": "ajs-identify-1",
            "traits": {"email": "ada@example.com", "plan": "pro", "name": "Ada"},
            "type": "identify", "userId": "u_ada", "version": 2}


def send_segment(client, payload, **sign) -> object:
    body = raw(payload)
    return post(client, "segment", body, vendors.segment(body, **sign))


def test_a_segment_track_call_becomes_the_event_it_names(client):
    response = send_segment(client, TRACK)

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert (event.event, event.user_key, event.properties) == (
        "Order Completed", "u_ada", {"revenue": 49, "currency": "USD"})
    assert event.idempotency_key == "src:segment:ajs-f8ca1e4de5024d9430b3928bd8ac6b96"
    contact = Contact.objects.get()
    assert (contact.email, contact.anonymous_id) == ("ada@example.com", "507f191e810c19729de860ea")


def test_a_segment_identify_call_merges_traits_onto_the_contact(client):
    response = send_segment(client, IDENTIFY)

    assert response.status_code == 200
    (event,) = stored()
    assert event.event == "contact.updated"
    assert Contact.objects.get().properties == {"email": "ada@example.com", "plan": "pro",
                                                "name": "Ada"}


def test_a_batched_segment_delivery_stores_each_call_and_skips_pages(client):
    page = {"type": "page", "userId": "u_ada", "messageId": "ajs-page", "name": "Home"}

    response = send_segment(client, [TRACK, page, IDENTIFY])

    assert response.status_code == 200
    assert [e.event for e in stored()] == ["Order Completed", "contact.updated"]


def test_segment_retries_store_one_event(client):
    send_segment(client, TRACK)
    send_segment(client, TRACK)

    assert len(stored()) == 1


def test_segment_with_a_wrong_or_missing_signature_is_refused(client):
    assert send_segment(client, TRACK, secret="wrong").status_code == 401
    assert post(client, "segment", raw(TRACK), {}).status_code == 401
    assert stored() == []


def test_a_segment_page_call_alone_is_acknowledged(client):
    response = send_segment(client, {"type": "page", "userId": "u_ada", "messageId": "m"})

    assert response.status_code == 200 and response.json()["ignored"]
    assert stored() == []


def test_a_segment_track_call_without_a_user_is_a_400_and_stores_nothing_of_its_batch(client):
    orphan = {"type": "track", "event": "Order Completed", "messageId": "ajs-orphan"}

    response = send_segment(client, [IDENTIFY, orphan])

    assert response.status_code == 400
    assert "no user id or email" in response.json()["details"]
    assert stored() == [] and not Contact.objects.exists()


# --- PostHog ---------------------------------------------------------------------------

POSTHOG = {
    "event": {
        "uuid": "01908c5a-51a8-7d3c-a5c6-2f8a0c4e5b11",
        "event": "subscription upgraded",
        "distinct_id": "u_ada",
        "properties": {"plan": "pro", "$browser": "Chrome", "$current_url": "https://app.example.com/billing"},
        "elements_chain": "",
        "timestamp": "2026-06-16T14:40:00.000Z",
        "url": "https://eu.posthog.com/project/1/events/01908c5a-51a8-7d3c-a5c6-2f8a0c4e5b11",
    },
    "person": {"id": "01908c5a-0000-7000-8000-000000000001",
               "properties": {"email": "ada@example.com", "name": "Ada"},
               "name": "ada@example.com", "url": "https://eu.posthog.com/project/1/person/u_ada"},
    "groups": {},
    "project": {"id": 1, "name": "Default project", "url": "https://eu.posthog.com/project/1"},
    "source": {"name": "Hogsend webhook", "url": "https://eu.posthog.com/project/1/pipeline/1"},
}


def test_a_posthog_destination_event_keeps_event_and_person_properties_apart(client):
    secret = SECRETS["POSTHOG_WEBHOOK_SECRET"]

    response = post(client, "posthog", raw(POSTHOG), {"X-PostHog-Webhook-Secret": secret})

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert (event.event, event.user_key) == ("subscription upgraded", "u_ada")
    assert event.properties == POSTHOG["event"]["properties"]
    assert event.idempotency_key == "src:posthog:01908c5a-51a8-7d3c-a5c6-2f8a0c4e5b11"
    contact = Contact.objects.get()
    assert (contact.email, contact.properties) == (
        "ada@example.com", {"email": "ada@example.com", "name": "Ada"})


def test_a_flat_posthog_payload_with_a_bearer_secret_is_read_too(client):
    flat = {"event": "$pageview", "distinct_id": "u_ada", "uuid": "0190-flat",
            "properties": {"$current_url": "https://app.example.com"}}
    bearer = {"Authorization": f"Bearer {SECRETS['POSTHOG_WEBHOOK_SECRET']}"}

    first, second = (post(client, "posthog", raw(flat), bearer) for _ in range(2))

    assert (first.status_code, second.status_code) == (200, 200)
    assert [e.event for e in stored()] == ["$pageview"]


def test_posthog_without_the_shared_secret_is_refused(client):
    for headers in ({}, {"X-PostHog-Webhook-Secret": "guess"}, {"Authorization": "Bearer guess"}):
        assert post(client, "posthog", raw(POSTHOG), headers).status_code == 401

    assert stored() == []


def test_a_posthog_event_without_a_distinct_id_is_a_400(client):
    payload = {**POSTHOG, "event": {**POSTHOG["event"], "distinct_id": ""}}

    response = post(client, "posthog", raw(payload),
                    {"X-PostHog-Webhook-Secret": SECRETS["POSTHOG_WEBHOOK_SECRET"]})

    assert response.status_code == 400
    assert stored() == []


# --- Clerk (Svix) ----------------------------------------------------------------------

CLERK_USER = {
    "data": {
        "birthday": "", "created_at": 1654012591514,
        "email_addresses": [
            {"email_address": "old@example.com", "id": "idn_old", "linked_to": [],
             "object": "email_address", "verification": {"status": "verified"}},
            {"email_address": "ada@example.com", "id": "idn_29w83yL7CwVlJXylYLxcslromF1",
             "linked_to": [], "object": "email_address",
             "verification": {"status": "verified", "strategy": "ticket"}}],
        "external_accounts": [], "external_id": "567772", "first_name": "Ada", "gender": "",
        "id": "user_29w83sxmDNGwOuEthce5gg56FcC", "image_url": "https://img.clerk.com/xxxxxx",
        "last_name": "Lovelace", "last_sign_in_at": 1654012591514, "object": "user",
        "password_enabled": True, "phone_numbers": [],
        "primary_email_address_id": "idn_29w83yL7CwVlJXylYLxcslromF1",
        "primary_phone_number_id": None, "primary_web3_wallet_id": None,
        "private_metadata": {}, "profile_image_url": "https://www.gravatar.com/avatar?d=mp",
        "public_metadata": {"plan": "pro"}, "two_factor_enabled": False, "unsafe_metadata": {},
        "updated_at": 1654012591835, "username": None, "web3_wallets": []},
    "event_attributes": {"http_request": {"client_ip": "0.0.0.0", "user_agent": "Mozilla/5.0"}},
    "instance_id": "ins_2b9Wd6Xl5YV0qfBkJ1z4yKdwWGr",
    "object": "event",
    "timestamp": 1654012591835,
    "type": "user.created",
}


def send_clerk(client, payload: dict, message_id: str = "msg_2Lh9KRb0pzN4LePd3XiA4dYHfA3", **kw):
    body = raw(payload)
    return post(client, "clerk", body, vendors.svix(body, message_id, **kw))


def test_a_clerk_user_becomes_a_contact_with_its_primary_email_and_profile(client):
    response = send_clerk(client, CLERK_USER)

    assert response.status_code == 200, response.content
    (event,) = stored()
    assert (event.event, event.user_key) == ("contact.created", "user_29w83sxmDNGwOuEthce5gg56FcC")
    assert event.idempotency_key == "src:clerk:msg_2Lh9KRb0pzN4LePd3XiA4dYHfA3"
    contact = Contact.objects.get()
    assert contact.email == "ada@example.com"
    assert contact.properties == {
        "plan": "pro", "clerk_user_id": "user_29w83sxmDNGwOuEthce5gg56FcC", "first_name": "Ada",
        "last_name": "Lovelace", "avatar_url": "https://img.clerk.com/xxxxxx"}


def test_svix_retries_carry_the_same_message_id_and_store_once(client):
    send_clerk(client, CLERK_USER)
    send_clerk(client, CLERK_USER)

    assert len(stored()) == 1


def test_a_deleted_clerk_user_is_an_event_only(client):
    deleted = {**CLERK_USER, "type": "user.deleted",
               "data": {"deleted": True, "id": "user_29w83sxmDNGwOuEthce5gg56FcC",
                        "object": "user"}}

    response = send_clerk(client, deleted, "msg_deleted")

    assert response.status_code == 200
    assert [e.event for e in stored()] == ["contact.deleted"]
    assert Contact.objects.get().properties == {}


def test_clerk_signed_with_another_key_or_too_long_ago_is_refused(client):
    wrong = send_clerk(client, CLERK_USER, key=b"some-other-32-byte-signing-key!!")
    stale = send_clerk(client, CLERK_USER, at=vendors.now() - timedelta(minutes=6))
    unsigned = post(client, "clerk", raw(CLERK_USER), {})

    assert (wrong.status_code, stale.status_code, unsigned.status_code) == (401, 401, 401)
    assert stored() == []


def test_clerk_sessions_are_acknowledged(client):
    response = send_clerk(client, {**CLERK_USER, "type": "session.created"}, "msg_session")

    assert response.status_code == 200 and response.json()["ignored"]
    assert stored() == []


# --- Supabase --------------------------------------------------------------------------

SUPABASE_INSERT = {
    "type": "INSERT",
    "table": "users",
    "schema": "auth",
    "record": {"id": "4d3c8e0a-5b1f-4c1e-9f0e-7a6d2b9c1e55", "aud": "authenticated",
               "role": "authenticated", "email": "ada@example.com", "phone": "",
               "email_confirmed_at": "2026-06-16T14:40:00.000000+00:00",
               "raw_user_meta_data": {"full_name": "Ada Lovelace"},
               "created_at": "2026-06-16T14:39:00.000000+00:00",
               "updated_at": "2026-06-16T14:40:00.000000+00:00"},
    "old_record": None,
}


def test_a_supabase_database_webhook_with_the_shared_secret_header_creates_the_contact(client):
    headers = {"X-Supabase-Webhook-Secret": SECRETS["SUPABASE_WEBHOOK_SECRET"]}

    first = post(client, "supabase", raw(SUPABASE_INSERT), headers)
    retried = post(client, "supabase", raw(SUPABASE_INSERT), headers)

    assert (first.status_code, retried.status_code) == (200, 200)
    (event,) = stored()
    assert (event.event, event.user_key) == ("contact.created", SUPABASE_INSERT["record"]["id"])
    contact = Contact.objects.get()
    assert contact.email == "ada@example.com"
    assert contact.properties == {"full_name": "Ada Lovelace", "email_verified": True,
                                  "supabase_user_id": SUPABASE_INSERT["record"]["id"]}


def test_a_supabase_delivery_signed_the_standard_webhooks_way_is_accepted(client):
    body = raw({**SUPABASE_INSERT, "type": "UPDATE", "old_record": SUPABASE_INSERT["record"]})
    headers = {k.replace("svix-", "webhook-"): v
               for k, v in vendors.svix(body, "msg_supabase_1").items()}

    response = post(client, "supabase", body, headers)

    assert response.status_code == 200, response.content
    assert [e.event for e in stored()] == ["contact.updated"]
    assert stored()[0].idempotency_key == "src:supabase:msg_supabase_1"


def test_supabase_without_the_secret_or_with_a_bad_signature_is_refused(client):
    body = raw(SUPABASE_INSERT)
    bad = vendors.svix(body, "msg_x", key=b"some-other-32-byte-signing-key!!")

    assert post(client, "supabase", body, {}).status_code == 401
    assert post(client, "supabase", body, {"X-Supabase-Webhook-Secret": "guess"}).status_code == 401
    assert post(client, "supabase", body, bad).status_code == 401
    assert stored() == []


def test_supabase_rows_of_other_tables_are_acknowledged(client):
    payload = {**SUPABASE_INSERT, "schema": "public", "table": "profiles"}

    response = post(client, "supabase", raw(payload),
                    {"Authorization": f"Bearer {SECRETS['SUPABASE_WEBHOOK_SECRET']}"})

    assert response.status_code == 200 and response.json()["ignored"]
    assert stored() == []


def test_a_supabase_payload_that_is_no_database_webhook_is_a_400(client):
    response = post(client, "supabase", raw({"type": "TRUNCATE", "table": "users"}),
                    {"X-Supabase-Webhook-Secret": SECRETS["SUPABASE_WEBHOOK_SECRET"]})

    assert response.status_code == 400
    assert stored() == []
