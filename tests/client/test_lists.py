"""The `hogsend` client's lists calls against the real server, and what they change
for the mailer: an unsubscribe through the client blocks that list's sends."""

from __future__ import annotations

import asyncio

import pytest
from hogsend import BadRequestError

from contacts.models import Contact, PreferenceChange


@pytest.fixture(autouse=True)
def lists(settings) -> None:
    settings.EMAIL_LISTS = [{"id": "beta", "name": "Beta programme", "default_opt_in": False}]


def test_a_client_unsubscribe_blocks_that_lists_sends_and_only_those(hs, ada, mailoutbox):
    assert hs.emails.send(template="feedback/referral-ask", to="ada@example.com",
                          category="digest")["status"] == "sent"
    left = hs.lists.unsubscribe("digest", user_id="u_ada")
    assert left == {"list": {"id": "digest", "name": "Weekly digest",
                             "description": "A Monday summary of what happened in your projects.",
                             "defaultOptIn": True, "kind": "topic", "subscribed": False},
                    "subscribed": False, "unsubscribedAll": False}
    blocked = hs.emails.send(template="feedback/referral-ask", to="ada@example.com",
                             category="digest")
    assert (blocked["status"], blocked["reason"]) == ("unsubscribed", "category_unsubscribed")
    assert hs.emails.send(template="feedback/referral-ask", to="ada@example.com",
                          category="journey")["status"] == "sent"
    assert len(mailoutbox) == 2
    assert list(PreferenceChange.objects.values_list("source", flat=True)) == ["api"]


def test_the_async_client_subscribes_a_new_person_and_reads_them_back(make_async_client,
                                                                      ingest_key):
    async def run() -> tuple[dict, list, list]:
        async with make_async_client(ingest_key) as hs:
            joined = await hs.lists.subscribe("beta", email="new@example.com")
            mine = await hs.lists.list(email="new@example.com")
            anyone = await hs.lists.list()
            return joined, mine, anyone

    joined, mine, anyone = asyncio.run(run())
    assert (joined["list"]["id"], joined["subscribed"]) == ("beta", True)
    assert {item["id"]: item["subscribed"] for item in mine} == {"digest": True, "beta": True}
    assert {item["id"]: item["subscribed"] for item in anyone} == {"digest": True, "beta": False}
    assert Contact.objects.get().email == "new@example.com"


def test_a_person_the_server_cannot_mail_is_a_bad_request(hs, anon):
    with pytest.raises(BadRequestError) as caught:
        hs.lists.subscribe("beta", user_id="u_nobody_yet")
    assert caught.value.error == "Contact has no email address"
    assert Contact.objects.count() == 1
