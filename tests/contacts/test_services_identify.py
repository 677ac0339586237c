"""contact_identify / contact_upsert / contact_delete: resolve, link, merge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError

from alerts.models import Alert, HandlerJob
from contacts import identity as services
from contacts.identity import (
    IdentityRequired,
    contact_delete,
    contact_find,
    contact_identify,
    contact_upsert,
    merge_properties,
)
from contacts.models import Contact, ContactAlias, EmailPreference, PreferenceChange
from contacts.preferences import preference_update
from hogsend_site.errors import HogsendError, NotFound
from journeys.models import JourneyRun
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def make(**fields) -> Contact:
    fields.setdefault("first_seen_at", T0)
    return Contact.objects.create(**fields)


# --- create and resolve ---------------------------------------------------------


def test_it_creates_a_contact_for_keys_nobody_holds():
    result = contact_upsert(user_id=" u1 ", email="  Ada@Example.COM ", properties={"plan": "pro"})
    contact = result.contact
    assert (result.created, result.linked) == (True, False)
    assert (contact.external_id, contact.email) == ("u1", "ada@example.com")
    assert contact.properties == {"plan": "pro"}
    assert contact.first_seen_at is not None and contact.last_seen_at == contact.first_seen_at


def test_it_resolves_the_same_contact_by_user_id_or_by_email_in_any_case():
    created = contact_upsert(user_id="u1", email="ada@example.com").contact
    by_user = contact_upsert(user_id="u1")
    by_email = contact_upsert(email="ADA@example.com")
    assert by_user.contact.pk == by_email.contact.pk == created.pk
    assert (by_user.created, by_user.linked) == (False, False)
    assert Contact.objects.count() == 1


def test_it_links_a_supplied_key_the_contact_is_missing():
    first = contact_upsert(email="ada@example.com")
    second = contact_upsert(email="ada@example.com", user_id="u1")
    assert second.contact.pk == first.contact.pk
    assert (second.created, second.linked) == (False, True)
    assert Contact.objects.get().external_id == "u1"


def test_it_does_not_overwrite_a_different_external_id_found_by_email():
    contact = make(external_id="u1", email="ada@example.com")
    result = contact_upsert(email="ada@example.com", user_id="u2")
    assert result.contact.pk == contact.pk
    contact.refresh_from_db()
    assert contact.external_id == "u1"


def test_it_requires_email_or_user_id():
    with pytest.raises(IdentityRequired, match="email or userId is required"):
        contact_upsert(email="  ", user_id="")
    with pytest.raises(IdentityRequired):
        contact_upsert(anonymous_id="anon")
    assert not Contact.objects.exists()


def test_ingest_may_identify_by_anonymous_id_alone(anon):
    assert contact_identify(anonymous_id="anon_1").contact.pk == anon.pk


def test_the_canonical_key_is_external_id_then_anonymous_id_then_uuid():
    assert make(external_id="u1", anonymous_id="a1").key == "u1"
    assert make(anonymous_id="a2", email="x@example.com").key == "a2"
    only_email = make(email="y@example.com")
    assert only_email.key == str(only_email.pk)


def test_it_sets_a_valid_timezone_and_refuses_an_unknown_one():
    contact = contact_upsert(user_id="u1", tz="Europe/Prague").contact
    assert contact.timezone == "Europe/Prague"
    with pytest.raises(HogsendError, match="unknown IANA timezone"):
        contact_upsert(user_id="u1", tz="Mars/Olympus")


def test_it_refreshes_last_seen_at_only_once_a_minute(time_machine):
    time_machine.move_to(T0, tick=False)
    contact = contact_upsert(user_id="u1").contact
    time_machine.shift(timedelta(seconds=30))
    contact_upsert(user_id="u1")
    contact.refresh_from_db()
    assert contact.last_seen_at == T0
    time_machine.shift(timedelta(seconds=31))
    contact_upsert(user_id="u1")
    contact.refresh_from_db()
    assert contact.last_seen_at == T0 + timedelta(seconds=61)


def test_it_resolves_again_when_a_concurrent_request_created_the_contact(monkeypatch):
    existing = make(external_id="u1")
    real_resolve = services._resolve
    calls = []

    def resolve_missing_once(keys):
        calls.append(keys)
        # The first lookup runs "before" the other request committed its row.
        return [] if len(calls) == 1 else real_resolve(keys)

    monkeypatch.setattr(services, "_resolve", resolve_missing_once)
    result = contact_upsert(user_id="u1")
    assert (result.contact.pk, result.created) == (existing.pk, False)
    assert len(calls) == 2


# --- properties -----------------------------------------------------------------


def test_properties_merge_with_the_patch_winning_and_null_clearing_a_key():
    contact_upsert(user_id="u1", properties={"plan": "free", "company": "Acme"})
    contact_upsert(user_id="u1", properties={"plan": "pro"})
    assert Contact.objects.get().properties == {"plan": "pro", "company": "Acme"}
    contact_upsert(user_id="u1", properties={"company": None})
    assert Contact.objects.get().properties == {"plan": "pro"}


def test_stored_nulls_disappear_on_the_next_merge():
    assert merge_properties({"a": None, "b": 1}, {"c": 2}) == {"b": 1, "c": 2}


def test_discord_and_telegram_objects_merge_one_level_deep():
    existing = {"discord": {"id": "1", "name": "ada"}, "other": {"x": 1}}
    patch = {"discord": {"name": "Ada", "id": None}, "other": {"y": 2}}
    assert merge_properties(existing, patch) == {"discord": {"name": "Ada"}, "other": {"y": 2}}


# --- merge ----------------------------------------------------------------------


def test_two_keys_naming_two_contacts_merge_into_the_identified_one():
    older_anonymous = make(email="ada@example.com", first_seen_at=T0 - timedelta(days=9))
    identified = make(external_id="u1", first_seen_at=T0)
    result = contact_upsert(user_id="u1", email="ada@example.com")
    assert result.contact.pk == identified.pk
    assert (result.created, result.linked) == (False, True)
    older_anonymous.refresh_from_db()
    identified.refresh_from_db()
    assert older_anonymous.deleted_at is not None
    assert identified.email == "ada@example.com"
    assert identified.first_seen_at == T0 - timedelta(days=9)


def test_without_an_identified_contact_the_oldest_first_seen_survives():
    newer = make(email="ada@example.com", first_seen_at=T0)
    older = make(anonymous_id="anon-1", first_seen_at=T0 - timedelta(hours=1))
    result = contact_identify(email="ada@example.com", anonymous_id="anon-1")
    assert result.contact.pk == older.pk
    newer.refresh_from_db()
    assert newer.deleted_at is not None


@pytest.mark.parametrize("email_contact_is_lower", [True, False])
def test_a_first_seen_tie_goes_to_the_lowest_uuid(email_contact_is_lower):
    low, high = sorted([uuid.uuid4(), uuid.uuid4()])
    email_id, anon_id = (low, high) if email_contact_is_lower else (high, low)
    make(id=email_id, email="ada@example.com")
    make(id=anon_id, anonymous_id="anon-1")
    result = contact_identify(email="ada@example.com", anonymous_id="anon-1")
    assert result.contact.pk == low
    assert Contact.objects.get(pk=high).deleted_at is not None


def test_a_merge_folds_properties_with_the_survivor_winning_then_the_patch():
    make(email="ada@example.com", properties={"plan": "free", "seats": 3, "source": "ads"})
    make(external_id="u1", properties={"plan": "pro", "company": "Acme"})
    result = contact_upsert(user_id="u1", email="ada@example.com", properties={"source": None,
                                                                               "role": "cto"})
    assert result.contact.properties == {"plan": "pro", "company": "Acme", "seats": 3,
                                         "role": "cto"}
    assert Contact.objects.get(pk=result.contact.pk).properties == result.contact.properties


def test_a_merge_records_the_losers_keys_as_aliases_that_resolve_to_the_survivor():
    loser = make(email="old@example.com", anonymous_id="anon-1", first_seen_at=T0)
    survivor = make(external_id="u1", email="new@example.com", first_seen_at=T0)
    contact_identify(user_id="u1", anonymous_id="anon-1")
    aliases = {(a.kind, a.value): a for a in ContactAlias.objects.all()}
    assert set(aliases) == {("email", "old@example.com"), ("anonymous_id", "anon-1")}
    assert all(a.contact_id == survivor.pk and a.from_contact_id == loser.pk
               for a in aliases.values())
    # The survivor kept its own email; the loser's old one still finds it.
    assert contact_find(email="OLD@example.com") == [survivor]
    assert contact_upsert(email="old@example.com").contact.pk == survivor.pk
    survivor.refresh_from_db()
    assert survivor.anonymous_id == "anon-1"  # it had none, so it took the loser's


def test_a_second_merge_carries_the_aliases_the_loser_had_inherited():
    make(email="first@example.com", first_seen_at=T0)
    middle = make(anonymous_id="anon-1", email="second@example.com",
                  first_seen_at=T0 - timedelta(days=1))
    contact_identify(email="first@example.com", anonymous_id="anon-1")  # first → middle
    final = make(external_id="u1")
    contact_identify(user_id="u1", email="second@example.com")  # middle → final
    assert ContactAlias.objects.get(value="first@example.com").contact_id == final.pk
    assert contact_upsert(email="first@example.com").contact.pk == final.pk
    assert Contact.objects.get(pk=middle.pk).deleted_at is not None
    assert Contact.objects.filter(deleted_at__isnull=True).count() == 1


def test_a_merge_repoints_the_losers_history_to_the_survivor():
    loser = make(email="ada@example.com")
    survivor = make(external_id="u1")
    event = UserEvent.objects.create(contact=loser, user_key=loser.key, event="signed_up")
    send = EmailSend.objects.create(contact=loser, template_key="welcome", from_email="a@x",
                                    to_email="ada@example.com", subject="Hi")
    pref = preference_update(contact=loser, email="ada@example.com", unsubscribed_all=True,
                             source="api")
    alert = Alert.objects.create(kind="lead", title="Lead", contact=loser, dedupe_key="lead:1")
    job = HandlerJob.objects.create(handler="h", event=event, contact=loser, due_at=T0)
    run = JourneyRun.objects.create(journey_id="welcome", contact=loser, user_key=loser.key,
                                    status="completed")
    contact_upsert(user_id="u1", email="ada@example.com")
    for row in (event, send, pref, alert, job, run, PreferenceChange.objects.get()):
        row.refresh_from_db()
        assert row.contact_id == survivor.pk, row


def test_a_merge_leaves_a_clashing_live_run_on_the_loser():
    loser = make(email="ada@example.com")
    survivor = make(external_id="u1")
    clash = JourneyRun.objects.create(journey_id="nps", contact=loser, user_key="k-loser",
                                      status="waiting")
    other = JourneyRun.objects.create(journey_id="welcome", contact=loser, user_key="k-loser",
                                      status="waiting")
    JourneyRun.objects.create(journey_id="nps", contact=survivor, user_key="u1", status="active")
    contact_upsert(user_id="u1", email="ada@example.com")
    clash.refresh_from_db()
    other.refresh_from_db()
    assert clash.contact_id == loser.pk
    assert other.contact_id == survivor.pk


def test_a_merge_is_not_undone_by_a_failed_link_and_resolves_again(monkeypatch):
    loser = make(email="ada@example.com")
    survivor = make(external_id="u1")
    real_save = Contact.save
    failures = []

    def save_failing_once(self, *args, **kwargs):
        if kwargs.get("update_fields") and not failures:
            failures.append(True)
            raise IntegrityError("simulated race on a linked key")
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(Contact, "save", save_failing_once)
    result = contact_identify(user_id="u1", email="ada@example.com", anonymous_id="anon-9")
    assert result.contact.pk == survivor.pk
    assert result.contact.anonymous_id == "anon-9"
    assert Contact.objects.get(pk=loser.pk).deleted_at is not None


# --- lists ----------------------------------------------------------------------


def test_upsert_lists_write_the_contacts_preferences_with_an_audit_row():
    contact = contact_upsert(email="ada@example.com", lists={"product-news": False, "tips": True},
                             actor="api-key:hsk_test").contact
    pref = EmailPreference.objects.get(contact=contact)
    assert pref.categories == {"product-news": False, "tips": True}
    change = PreferenceChange.objects.get()
    assert (change.source, change.actor) == ("api", "api-key:hsk_test")


def test_upsert_lists_without_an_email_write_nothing():
    with pytest.raises(HogsendError, match="no email address"):
        contact_upsert(user_id="u1", lists={"tips": True}, properties={"plan": "pro"})
    assert not Contact.objects.exists()
    assert not EmailPreference.objects.exists()


def test_upsert_refuses_a_malformed_list_id():
    with pytest.raises(HogsendError, match="invalid list id"):
        contact_upsert(email="ada@example.com", lists={"no spaces!": True})
    assert not Contact.objects.exists()


# --- find and soft delete -------------------------------------------------------


def test_find_returns_nothing_for_unknown_keys():
    assert contact_find(email="nobody@example.com") == []
    assert contact_find(user_id="nobody") == []


def test_soft_delete_hides_the_contact_and_frees_its_keys():
    old = contact_upsert(user_id="u1", email="ada@example.com").contact
    assert contact_delete(user_id="u1").pk == old.pk
    assert contact_find(user_id="u1") == []
    assert contact_find(email="ada@example.com") == []
    new = contact_upsert(user_id="u1", email="ada@example.com")
    assert new.created and new.contact.pk != old.pk
    old.refresh_from_db()
    assert old.deleted_at is not None and old.external_id == "u1"


def test_deleting_an_unknown_contact_is_not_found_and_no_key_is_required():
    with pytest.raises(NotFound):
        contact_delete(email="nobody@example.com")
    with pytest.raises(IdentityRequired):
        contact_delete()
