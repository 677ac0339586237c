"""contacts_identify_many: the batch form of contact_identify gives the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from contacts import identity as services
from contacts.identity import (
    IdentifyRequest,
    IdentityRequired,
    contact_identify,
    contacts_identify_many,
)
from contacts.models import Contact

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

# A batch exercising every path: new, repeated, linking, properties, a merge
# in the middle, keys in other cases, and a request without keys.
SCENARIO = [
    IdentifyRequest(user_id="u1", email="one@example.com", properties={"plan": "free"}),
    IdentifyRequest(email="ONE@example.com"),
    IdentifyRequest(email="two@example.com"),
    IdentifyRequest(email="two@example.com", user_id="u2"),
    IdentifyRequest(user_id="u1", properties={"plan": "pro", "seats": 3}),
    IdentifyRequest(anonymous_id="anon-3", properties={"ref": "ads"}),
    IdentifyRequest(user_id="u2", anonymous_id="anon-3"),  # merges anon-3 into u2
    IdentifyRequest(anonymous_id="anon-3"),  # now an alias of u2
    IdentifyRequest(user_id="  "),
    IdentifyRequest(user_id="old", properties={"plan": None}),
    IdentifyRequest(email="old@example.com", user_id="old"),
]


def seed() -> None:
    Contact.objects.create(external_id="old", properties={"plan": "legacy", "x": 1},
                           first_seen_at=T0 - timedelta(days=30),
                           last_seen_at=T0 - timedelta(days=1))


def describe(results: list) -> tuple[list, list]:
    answers = [
        type(r).__name__ if isinstance(r, Exception)
        else (r.contact.key if r.contact.external_id or r.contact.anonymous_id else
              r.contact.email, r.created, r.linked, sorted(r.changed))
        for r in results
    ]
    contacts = [
        (c.external_id, c.email, c.anonymous_id, c.properties, c.deleted_at is not None,
         c.last_seen_at)
        for c in Contact.objects.all()
    ]
    return answers, sorted(contacts, key=repr)


def run_sequentially(requests: list[IdentifyRequest]) -> list:
    results = []
    for request in requests:
        try:
            results.append(contact_identify(
                user_id=request.user_id, email=request.email, anonymous_id=request.anonymous_id,
                properties=request.properties, now=T0))
        except IdentityRequired as exc:
            results.append(exc)
    return results


def in_rollback(fn):
    with transaction.atomic():
        seed()
        outcome = describe(fn())
        transaction.set_rollback(True)
    return outcome


def test_a_batch_gives_the_same_answers_and_rows_as_one_call_per_request():
    one_by_one = in_rollback(lambda: run_sequentially(SCENARIO))
    batched = in_rollback(lambda: contacts_identify_many(requests=SCENARIO, now=T0))
    assert batched == one_by_one
    answers, _ = batched
    assert answers[0] == ("u1", True, False, ["plan"])
    assert answers[3] == ("u2", False, True, [])
    assert answers[8] == "IdentityRequired"


def test_each_result_names_the_property_keys_its_request_changed():
    """What segments reading properties look at again: a key sent again with the
    value it had is not changed, one cleared is."""
    requests = [
        IdentifyRequest(user_id="u1", properties={"plan": "pro", "seats": 3}),
        IdentifyRequest(user_id="u1", properties={"plan": "pro", "seats": 3}),
        IdentifyRequest(user_id="u1", properties={"plan": "pro", "seats": 4}),
        IdentifyRequest(user_id="u1", properties={"plan": None, "ref": None}),
        IdentifyRequest(user_id="old", properties={"plan": "legacy", "x": 1}),
        IdentifyRequest(user_id="old", properties={"discord": {"handle": "ada"}}),
        IdentifyRequest(user_id="old", properties={"discord": {"handle": "ada", "id": None}}),
    ]
    changed = [["plan", "seats"], [], ["seats"], ["plan"], [], ["discord"], []]
    for run in (lambda: run_sequentially(requests),
                lambda: contacts_identify_many(requests=requests, now=T0)):
        with transaction.atomic():
            seed()
            assert [sorted(r.changed) for r in run()] == changed
            transaction.set_rollback(True)


def test_a_batch_of_new_and_known_people_costs_a_handful_of_queries(
    django_assert_max_num_queries,
):
    contacts_identify_many(requests=[IdentifyRequest(user_id=f"u{n}") for n in range(250)],
                           now=T0)
    requests = [IdentifyRequest(user_id=f"u{n}", email=f"u{n}@example.com",
                                properties={"n": n}) for n in range(500)]
    # The contacts and aliases lookups, a savepoint pair, the INSERT and the
    # UPDATE (SQLite splits those two by its 999-parameter limit): not 500 of anything.
    with django_assert_max_num_queries(10):
        results = contacts_identify_many(requests=requests, now=T0 + timedelta(minutes=5))
    assert [r.created for r in results] == [False] * 250 + [True] * 250
    assert all(r.linked for r in results[:250])
    assert Contact.objects.get(external_id="u7").properties == {"n": 7}
    assert Contact.objects.get(external_id="u7").last_seen_at == T0 + timedelta(minutes=5)


def test_a_key_linked_later_in_the_batch_does_not_change_an_earlier_answer():
    first, second = contacts_identify_many(requests=[
        IdentifyRequest(email="ada@example.com"),
        IdentifyRequest(email="ada@example.com", user_id="u_ada"),
    ], now=T0)
    assert first.contact.pk == second.contact.pk
    assert first.contact.key == str(first.contact.pk)
    assert second.contact.key == "u_ada"


def test_a_lost_race_falls_back_to_one_call_per_request(monkeypatch):
    real_flush = services._BulkIdentify.flush
    flushes = []

    def flush_after_a_racer(self):
        if not flushes:
            # Another request creates "u2" between the lookup and the INSERT.
            Contact.objects.create(external_id="u2")
        flushes.append(real_flush(self))
        return flushes[-1]

    monkeypatch.setattr(services._BulkIdentify, "flush", flush_after_a_racer)
    results = contacts_identify_many(requests=[IdentifyRequest(user_id="u1"),
                                               IdentifyRequest(user_id="u2")], now=T0)
    assert flushes == [False]
    assert [(r.contact.external_id, r.created) for r in results] == [("u1", True), ("u2", False)]
    assert Contact.objects.filter(external_id="u2").count() == 1
