"""Idempotency keys with the engine's own prefixes are refused from API callers.

A caller who stored `sem:<send>:<event>` first would own that person's answer (the
real click becomes a duplicate); one who stored `semc:...` would pre-empt their
comment, and a `journeySend:` or operator-alert key would stop that email.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from tests.tracking.conftest import answer_link
from tracking.forms import answer_form_token
from tracking.keys import RESERVED_KEY_PREFIXES, reserved_key_problem
from tracking.models import EmailSend, UserEvent

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
HUMAN = {"HTTP_USER_AGENT": "Mozilla/5.0 (Macintosh)"}

# `idempotency_key=f"x:`, `key = f"x:`, `key = idempotency_key or f"x:`,
# `side_effect_key(f"x:` and `..._KEY_PREFIX = "x:"`: every way the code builds an
# event or send key.
KEY_BUILDERS = re.compile(
    r"""(?:\b(?:idempotency_)?key\s*=\s*(?:\w+\s+or\s+)?|side_effect_key\()f["']([A-Za-z_][\w.-]*:)"""
    r"""|\b\w*KEY_PREFIX\s*=\s*["']([A-Za-z_][\w.-]*:)["']""")
# Keys built the same way that are never event or send idempotency keys: a
# run's throttle journal entry (a StepRecord label).
NOT_IDEMPOTENCY_KEYS = {"throttle:"}


def test_every_key_prefix_the_engine_writes_is_reserved():
    written: dict[str, str] = {}
    for app in (apps.parent for apps in ROOT.glob("*/apps.py")):
        for path in app.rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for built, constant in KEY_BUILDERS.findall(path.read_text()):
                written.setdefault(built or constant, str(path.relative_to(ROOT)))
    assert {"sem:", "semc:", "journeySend:", "journeyTrigger:"} <= set(written)
    unreserved = {prefix: where for prefix, where in written.items()
                  if prefix not in NOT_IDEMPOTENCY_KEYS and reserved_key_problem(prefix) is None}
    assert unreserved == {}


def test_keys_that_only_resemble_a_reserved_prefix_are_the_callers():
    for key in ("zendesk:T-9:resolved", "semantic:1", "SEM:1:x", "my-sem:1", "journeys:1",
                "sub_created_123"):
        assert reserved_key_problem(key) is None, key


@pytest.mark.parametrize("prefix", RESERVED_KEY_PREFIXES)
def test_a_reserved_body_key_on_post_events_is_a_400_and_stores_nothing(api, prefix):
    response = api.post("/v1/events", {"name": "x.y", "userId": "u1",
                                       "idempotencyKey": f"{prefix}1:x"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": f"idempotencyKey: the prefix {prefix!r} is reserved "
                                        "for keys the engine writes itself"}
    assert not UserEvent.objects.exists()


def test_a_reserved_idempotency_key_header_is_a_400_even_with_a_good_body_key(api):
    response = api.post("/v1/events", {"name": "x.y", "userId": "u1", "idempotencyKey": "mine"},
                        format="json", HTTP_IDEMPOTENCY_KEY="journeyTrigger:1:a:x.y")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Idempotency-Key: the prefix 'journeyTrigger:'")
    assert not UserEvent.objects.exists()


def test_an_idempotency_key_header_longer_than_the_column_is_a_400(api):
    response = api.post("/v1/events", {"name": "x.y", "userId": "u1"}, format="json",
                        HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert response.json() == {"error": "Idempotency-Key: at most 255 characters"}
    assert not UserEvent.objects.exists()


def test_a_reserved_key_in_a_batch_fails_alone(api):
    events = [{"name": "a.b", "userId": "u1", "idempotencyKey": "semc:1:a.b"},
              {"name": "a.b", "userId": "u2", "idempotencyKey": "fine-1"}]
    response = api.post("/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 202
    first, second = response.json()["results"]
    assert first == {"index": 0, "error": "idempotencyKey: the prefix 'semc:' is reserved "
                                          "for keys the engine writes itself"}
    assert second["stored"] is True
    assert list(UserEvent.objects.values_list("idempotency_key", flat=True)) == ["fine-1"]


@pytest.mark.parametrize(("body", "headers"), [
    ({"idempotencyKey": "journeySend:1:x:support/followup"}, {}),
    ({}, {"HTTP_IDEMPOTENCY_KEY": "support-alert:u_ada:T-9:2026-06-17T12:00:00Z"}),
])
def test_post_emails_refuses_a_reserved_key_and_sends_nothing(api, ada, mailoutbox, body,
                                                              headers):
    response = api.post("/v1/emails", {"to": "ada@example.com", "template": "feedback/referral-ask",
                                       **body}, format="json", **headers)
    assert response.status_code == 400
    assert "is reserved for keys the engine writes itself" in response.json()["error"]
    assert mailoutbox == [] and not EmailSend.objects.exists()


def test_a_forged_answer_key_is_refused_and_the_real_answer_is_still_recorded(
        api, client, followup):
    key = f"sem:{followup.pk}:support.followup_answered"
    forged = api.post("/v1/events", {"name": "support.followup_answered", "userId": "u_ada",
                                     "eventProperties": {"answer": "yes"},
                                     "idempotencyKey": key}, format="json")
    assert forged.status_code == 400
    assert not UserEvent.objects.filter(idempotency_key=key).exists()
    with time_machine.travel(NOON, tick=False) as clock:
        client.get(f"/v1/t/c/{answer_link(followup, 'no').pk}", **HUMAN)
        clock.shift(timedelta(seconds=31))
        call_command("run_due")
    answer = UserEvent.objects.get(idempotency_key=key)
    assert answer.properties["answer"] == "no" and answer.source == "tracking"


def test_a_forged_comment_key_is_refused_and_the_real_comment_is_still_recorded(
        api, client, followup):
    key = f"semc:{followup.pk}:support.followup_answered"
    forged = api.post("/v1/events", {"name": "support.followup_answered.comment",
                                     "userId": "u_ada", "eventProperties": {"comment": "forged"}},
                      format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert forged.status_code == 400
    no = answer_link(followup, "no")
    client.post(f"/v1/t/a/{no.pk}", {"comment": "Still broken",
                                     "form_token": answer_form_token(no.pk)})
    assert UserEvent.objects.get(idempotency_key=key).properties["comment"] == "Still broken"
