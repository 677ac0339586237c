"""A broadcast is chunked due work: the clock claims one chunk (a range of the
audience) per pass beside the journeys' due runs, a cancel stops it at the next
chunk, a killed worker's chunk is claimed again and sends nobody twice, and one
chunk costs a bounded number of statements."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.due import CHUNKS
from campaigns.models import Campaign, CampaignChunk
from campaigns.selectors import audience_contacts, audience_in_range
from campaigns.services import Tally, campaign_cancel, campaign_chunk_finish, campaign_create
from contacts.models import Contact
from hogsend_site.due import DEFAULT_LEASE
from journeys.engine import define_journey, hours
from tests.campaigns.conftest import NOW, drain, one_pass
from tracking.ingest import EventInput, event_ingest
from tracking.models import EmailSend

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """A worker killed mid-chunk (a BaseException: no handler of ours sees it)."""


def announcement(**fields) -> Campaign:
    campaign, _ = campaign_create(template="marketing/announcement", list_id="digest",
                                  subject="Saved views are here", **fields)
    return campaign


def chunks(campaign: Campaign) -> list[tuple[str, str]]:
    return list(CampaignChunk.objects.filter(campaign=campaign).order_by("seq")
                .values_list("kind", "status"))


def test_the_plan_cuts_the_audience_into_ranges_of_the_chunk_size(people, clock, settings):
    settings.CAMPAIGN_CHUNK_SIZE = 2
    campaign = announcement()
    one_pass()  # the plan
    audience = audience_contacts(kind="list", audience_id="digest")
    ranges = [[c.external_id for c in audience_in_range(audience, after=chunk.after_contact,
                                                        until=chunk.until_contact)]
              for chunk in CampaignChunk.objects.filter(kind="send").order_by("seq")]
    ordered = [c.external_id for c in sorted(people, key=lambda c: c.pk)]
    assert ranges == [ordered[0:2], ordered[2:4], ordered[4:]]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.total_recipients) == ("sending", 5)


def test_cancel_stops_a_sending_campaign_at_the_next_chunk(people, clock, mailoutbox,
                                                           settings):
    settings.CAMPAIGN_CHUNK_SIZE = 2
    campaign = announcement()
    one_pass()  # the plan
    one_pass()  # the first chunk
    assert len(mailoutbox) == 2
    campaign_cancel(campaign_id=campaign.pk, actor="ops")
    drain()
    clock.shift(timedelta(hours=1))
    drain()
    campaign.refresh_from_db()
    assert len(mailoutbox) == 2
    assert (campaign.status, campaign.sent_count, campaign.total_recipients) == (
        "canceled", 2, 5)
    assert chunks(campaign) == [("plan", "done"), ("send", "done"), ("send", "canceled"),
                                ("send", "canceled")]


def test_a_chunk_claimed_before_a_cancel_sends_nothing_after_it(people, clock, mailoutbox):
    campaign = announcement()
    one_pass()  # the plan
    claimed = CHUNKS.claim(timezone.now(), 1)
    campaign_cancel(campaign_id=campaign.pk)
    # The claimed chunk was left to its worker, which finds the campaign canceled.
    assert chunks(campaign) == [("plan", "done"), ("send", "pending")]
    CHUNKS.process(claimed)
    assert mailoutbox == [] and chunks(campaign) == [("plan", "done"), ("send", "canceled")]


def test_a_worker_killed_after_sending_a_chunk_never_sends_it_twice(
        people, clock, mailoutbox, monkeypatch):
    campaign = announcement()
    one_pass()  # the plan

    def killed(**kwargs):
        raise Crash

    monkeypatch.setattr(services, "campaign_chunk_finish", killed)
    with pytest.raises(Crash):
        one_pass()
    monkeypatch.undo()
    assert len(mailoutbox) == 5
    drain()  # its lease still holds: nobody else takes the chunk yet
    assert chunks(campaign)[1] == ("send", "pending")
    clock.shift(DEFAULT_LEASE + timedelta(seconds=1))
    drain()
    campaign.refresh_from_db()
    assert len(mailoutbox) == 5
    assert (campaign.status, campaign.sent_count, campaign.skipped_count) == ("sent", 5, 0)


def test_a_worker_killed_between_writing_the_sends_and_the_provider_sends_each_once(
        people, clock, mailoutbox, monkeypatch):
    campaign = announcement()
    one_pass()  # the plan

    def written_then_killed(prepared, **kwargs):
        from tracking.models import TrackedLink
        from tracking.rows import rows_insert

        rows_insert(EmailSend, [p.row for p in prepared])
        rows_insert(TrackedLink, [link for p in prepared for link in p.links])
        raise Crash

    monkeypatch.setattr(services, "emails_dispatch", written_then_killed)
    with pytest.raises(Crash):
        one_pass()
    monkeypatch.undo()
    assert mailoutbox == [] and EmailSend.objects.filter(status="queued").count() == 5
    clock.shift(DEFAULT_LEASE + timedelta(seconds=1))
    drain()
    campaign.refresh_from_db()
    assert sorted(m.to[0] for m in mailoutbox) == [f"p{n}@example.com" for n in range(5)]
    assert set(EmailSend.objects.values_list("status", flat=True)) == {"sent"}
    assert (campaign.status, campaign.sent_count) == ("sent", 5)


def test_a_late_worker_whose_chunk_was_claimed_again_changes_no_count(people, clock,
                                                                        mailoutbox):
    campaign = announcement()
    one_pass()  # the plan
    [chunk_id] = CHUNKS.claim(timezone.now(), 1)
    first_claim = CampaignChunk.objects.select_related("campaign").get(pk=chunk_id)
    clock.shift(DEFAULT_LEASE + timedelta(seconds=1))
    drain()  # the chunk is claimed again and sent
    assert not campaign_chunk_finish(chunk=first_claim, tally=Tally(sent=5))
    campaign.refresh_from_db()
    assert (campaign.sent_count, len(mailoutbox)) == (5, 5)


def test_a_failing_chunk_is_retried_with_backoff_then_fails_the_campaign(
        people, clock, mailoutbox, monkeypatch):
    campaign = announcement()

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "audience_in_range", broken)
    drain()
    chunk = CampaignChunk.objects.get(kind="send")
    assert (chunk.status, chunk.attempts, chunk.due_at) == (
        "pending", 1, NOW + timedelta(seconds=30))
    for _ in range(4):
        clock.shift(timedelta(hours=1))
        drain()
    campaign.refresh_from_db()
    chunk.refresh_from_db()
    assert (chunk.status, chunk.attempts) == ("failed", 5)
    assert campaign.status == "failed"
    assert campaign.note == "Chunk 1 failed: RuntimeError: database went away"
    assert mailoutbox == []


def test_a_journey_due_while_a_broadcast_drains_goes_out_in_the_next_pass(
        add_journey, people, clock, mailoutbox, settings):
    """Interleaving: each clock pass takes the due journey runs and one chunk, so a
    journey never waits behind the rest of a broadcast."""

    @define_journey(id="morning-nudge", name="Morning nudge",
                    trigger="nudge.requested")
    def nudge(user, ctx):
        ctx.sleep(hours(2), label="until-nine")
        ctx.send("feedback/referral-ask")

    add_journey(nudge)
    event_ingest(EventInput(name="nudge.requested", user_id="p0"))
    drain()  # the run sleeps until NOW + 2 h
    settings.CAMPAIGN_CHUNK_SIZE = 1
    clock.move_to(NOW + timedelta(hours=1, minutes=30))
    campaign = announcement()
    one_pass()  # the plan: six chunks of one
    one_pass()  # the first chunk
    clock.move_to(NOW + timedelta(hours=2))
    one_pass()
    campaign.refresh_from_db()
    assert any(m.subject.startswith("Thanks!") for m in mailoutbox)  # the journey's email
    assert campaign.sent_count == 2
    assert CampaignChunk.objects.filter(campaign=campaign, status="pending").count() == 4
    drain()
    campaign.refresh_from_db()
    assert (campaign.status, campaign.sent_count) == ("sent", 5)


class DedupingProvider(LocmemBackend):
    """A provider that deduplicates on the send's key (as Resend does)."""

    idempotency_key_header = "Idempotency-Key"


def statements(fn) -> int:
    with CaptureQueriesContext(connection) as captured:
        fn()
    # Savepoints exist only because each test runs inside a transaction.
    return sum(1 for q in captured.captured_queries if "SAVEPOINT" not in q["sql"])


@pytest.mark.parametrize("size", [10, 60])
@pytest.mark.parametrize(("backend", "per_send"), [
    (f"{__name__}.DedupingProvider", 0),
    # Without provider keys each send is marked sent on its own (in-doubt window).
    ("django.core.mail.backends.locmem.EmailBackend", 1),
])
def test_one_chunk_costs_a_fixed_handful_of_statements(db, clock, settings, size, backend,
                                                       per_send):
    settings.EMAIL_BACKEND = backend
    settings.CAMPAIGN_CHUNK_SIZE = size
    Contact.objects.bulk_create([Contact(external_id=f"q{n}", email=f"q{n}@example.com")
                                 for n in range(size)])
    announcement()
    one_pass()  # the plan
    ids = CHUNKS.claim(timezone.now(), 1)
    count = statements(lambda: CHUNKS.process(ids))
    assert EmailSend.objects.filter(status="sent").count() == size
    # The chunk and its campaign; the audience range; the keys sent before; the
    # preferences; one INSERT of the sends, one of their links; one UPDATE marking
    # them sent; then the campaign locked, the chunk closed, the pending check, the
    # campaign's counts: about a dozen however many people the chunk holds. (An
    # SQLite built with the old 999-parameter limit splits a bulk INSERT every ~30
    # send rows; PostgreSQL never does.)
    fixed = 13 if connection.vendor == "postgresql" else 13 + math.ceil(size / 30)
    assert count <= fixed + per_send * size
