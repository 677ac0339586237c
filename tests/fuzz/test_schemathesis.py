"""Fuzz every /v1 operation of the served OpenAPI schema (schemathesis).

The schema is the one `/v1/schema/` serves; requests go through the Django WSGI
application with an admin key. For every generated request: no 5xx, the
response conforms to the schema (status, content type, body), and nothing is
half-written (a refused request stores no events, contacts or runs, and no send
is left `queued`).
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contacts.models import Contact
from journeys.models import JourneyRun
from tracking.models import EmailSend, UserEvent

MAX_EXAMPLES = 40
# The response must conform to the schema. Request-strictness checks are left
# out on purpose: the API validates rules JSON Schema cannot state ("email or
# userId", known template and category ids), DRF's CharField accepts 42 as "42",
# and authentication is covered by tests/security (the fixed admin key sent with
# every request would confuse schemathesis's own auth probing).
RESPONSE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_headers_conformance, response_schema_conformance]


# Loaded once, at collection, from the running application (schemathesis's lazy
# fixture loader does not work with pytest 9).
schema = schemathesis.openapi.from_wsgi("/v1/schema/?format=json", get_wsgi_application())


# The fuzzer is one client sending thousands of requests: under the production
# limits most admin operations would only ever answer 429 and go untested.
UNLIMITED = {"ADMIN_RATE_LIMIT": None, "EMAILS_RATE_LIMIT": None}


@pytest.fixture(autouse=True)
def in_test_transaction(db):
    """Like Django's test client, keep the WSGI handler from closing the test's
    database connection at the end of each request."""
    cache.clear()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    with override_settings(**UNLIMITED):
        yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


SEEN: Counter = Counter()  # status code -> requests
OPERATIONS: set[str] = set()


@pytest.fixture(scope="module", autouse=True)
def fuzz_summary():
    """Print how many requests each status got (visible with `pytest -s`)."""
    yield
    total = sum(SEEN.values())
    by_status = ", ".join(f"{status}: {n}" for status, n in sorted(SEEN.items()))
    print(f"\nschemathesis: {total} requests over {len(OPERATIONS)} operations ({by_status})")


def footprint() -> tuple[int, int, int]:
    return (UserEvent.objects.count(), Contact.objects.count(), JourneyRun.objects.count())


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_every_v1_operation_survives_fuzzing(case, admin_key, mailoutbox):
    before = footprint()
    response = case.call(headers={"Authorization": f"Bearer {admin_key}"})
    SEEN[response.status_code] += 1
    OPERATIONS.add(case.operation.label)
    assert response.status_code < 500, response.text
    assert response.status_code != 429, "the fuzz run's limits are lifted: nothing may throttle"
    case.validate_response(response, checks=RESPONSE_CHECKS)
    if response.status_code >= 400:
        assert footprint() == before, "a refused request wrote rows"
    assert not EmailSend.objects.filter(status="queued").exists(), "a send was left half-done"
