"""Bad JSON bodies are a clear 4xx naming the problem, nothing is stored, and in a
batch one bad event fails alone. Run on SQLite and PostgreSQL: NUL characters and
lone surrogates only broke (500) on PostgreSQL, whose text and jsonb refuse them."""

from __future__ import annotations

import json

import pytest

from contacts.models import Contact
from tracking.models import UserEvent


def post_raw(api, path: str, text: str, method: str = "post", **extra):
    return getattr(api, method)(path, data=text.encode("utf-8", "surrogatepass"),
                                content_type="application/json", **extra)


def nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def footprint() -> tuple[int, int]:
    return UserEvent.objects.count(), Contact.objects.count()


# Raw JSON fragments: json.dumps writes a lone surrogate as the escape "\ud800",
# exactly what a fuzzer or a broken client sends.
BAD_EVENTS = {
    "nul in a value": ({"name": "a", "userId": "u1", "eventProperties": {"note": "x\x00y"}},
                       "eventProperties.note: contains a NUL character (\\u0000)"),
    "nul in a key": ({"name": "a", "userId": "u1", "eventProperties": {"k\x00": 1}},
                     "eventProperties: a key contains a NUL character (\\u0000)"),
    "nul in the user id": ({"name": "a", "userId": "u\x001"},
                           "userId: contains a NUL character (\\u0000)"),
    "surrogate in a value": ({"name": "a", "userId": "u1", "eventProperties": {"n": "\ud800"}},
                             "eventProperties.n: contains an unpaired UTF-16 surrogate"),
    "surrogate in a key": ({"name": "a", "userId": "u1", "eventProperties": {"\udc00": 1}},
                           "eventProperties: a key contains an unpaired UTF-16 surrogate"),
    "surrogate in the name": ({"name": "a\ud800", "userId": "u1"},
                              "name: contains an unpaired UTF-16 surrogate"),
    "too deep": ({"name": "a", "userId": "u1", "eventProperties": nested(32)},
                 "eventProperties: nested deeper than 32 levels"),
}


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_a_bad_event_is_a_400_naming_the_problem_and_stores_nothing(api, case):
    body, error = BAD_EVENTS[case]
    response = post_raw(api, "/v1/events", json.dumps(body))
    assert response.status_code == 400, response.content
    assert response.json() == {"error": error}
    assert footprint() == (0, 0)


@pytest.mark.parametrize("case", list(BAD_EVENTS))
def test_in_a_batch_the_bad_event_fails_alone(api, case):
    body, error = BAD_EVENTS[case]
    events = [{"name": "ok", "userId": "u1"}, body, {"name": "ok", "userId": "u2"}]
    response = post_raw(api, "/v1/events/batch", json.dumps({"events": events}))
    assert response.status_code == 202, response.content
    results = response.json()["results"]
    assert results[1] == {"index": 1, "error": error}
    assert [r.get("stored") for r in (results[0], results[2])] == [True, True]
    assert UserEvent.objects.filter(event="ok").count() == 2
    assert UserEvent.objects.count() == 2


def test_thirty_two_levels_are_fine(api):
    # The body itself is one level, so its eventProperties may nest 31 more.
    response = api.post("/v1/events", {"name": "a", "userId": "u1",
                                       "eventProperties": nested(31)}, format="json")
    assert response.status_code == 202, response.content


def test_nesting_past_what_the_decoder_can_parse_is_a_400_not_a_500(api):
    text = '{"name": "a", "userId": "u1", "eventProperties": ' + "[" * 5000 + "]" * 5000 + "}"
    response = post_raw(api, "/v1/events", text)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid JSON body: nested deeper than 32 levels"}
    assert footprint() == (0, 0)


@pytest.mark.parametrize(("value", "error"), [
    ("-3.3e248", "value: must be between -999999999999.99 and 999999999999.99"),
    ("1000000000000", "value: must be between -999999999999.99 and 999999999999.99"),
    ("999999999999.996", "value: must be between -999999999999.99 and 999999999999.99"),
    ("1e999", "value: number out of range"),
])
def test_a_value_the_money_column_cannot_hold_is_a_400_naming_it(api, value, error):
    response = post_raw(api, "/v1/events", f'{{"name": "a", "userId": "u1", "value": {value}}}')
    assert response.status_code == 400, response.content
    assert response.json() == {"error": error}
    assert footprint() == (0, 0)


def test_the_largest_value_the_column_holds_is_stored(api):
    response = post_raw(api, "/v1/events",
                        '{"name": "a", "userId": "u1", "value": -999999999999.99}')
    assert response.status_code == 202, response.content
    assert str(UserEvent.objects.get().value) == "-999999999999.99"


def test_an_infinite_number_inside_properties_is_a_400_naming_it(api):
    response = post_raw(api, "/v1/events",
                        '{"name": "a", "userId": "u1", "eventProperties": {"n": [1, -1e400]}}')
    assert response.status_code == 400
    assert response.json() == {"error": "eventProperties.n[1]: number out of range"}


def test_event_properties_over_64_kib_are_a_400_naming_the_field(api):
    big = {"blob": "x" * (64 * 1024)}
    response = api.post("/v1/events", {"name": "a", "userId": "u1", "eventProperties": big},
                        format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "eventProperties: larger than 65536 bytes as JSON"}
    contact = api.post("/v1/events", {"name": "a", "userId": "u1", "contactProperties": big},
                       format="json")
    assert contact.json() == {"error": "contactProperties: larger than 65536 bytes as JSON"}
    assert footprint() == (0, 0)


def test_in_a_batch_oversized_properties_fail_that_event_alone(api):
    events = [{"name": "a", "userId": "u1", "eventProperties": {"blob": "x" * 70_000}},
              {"name": "b", "userId": "u1"}]
    results = api.post("/v1/events/batch", {"events": events}, format="json").json()["results"]
    assert results[0] == {"index": 0, "error": "eventProperties: larger than 65536 bytes as JSON"}
    assert results[1]["stored"] is True
    assert list(UserEvent.objects.values_list("event", flat=True)) == ["b"]


def test_a_body_over_the_limit_is_a_413_and_stores_nothing(api, settings):
    events = [{"name": "a", "userId": f"u{n}", "eventProperties": {"pad": "x" * 2000}}
              for n in range(600)]  # ~1.2 MB: every event is fine, the request is not
    response = api.post("/v1/events/batch", {"events": events}, format="json")
    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large: at most 1048576 bytes"}
    assert footprint() == (0, 0)
    settings.API_MAX_BODY_BYTES = 2 * 1024 * 1024
    assert api.post("/v1/events/batch", {"events": events}, format="json").status_code == 202


def test_a_declared_length_over_the_limit_is_refused_before_reading(api):
    # A short body claiming 10 MB: the parser answers from Content-Length alone.
    response = post_raw(api, "/v1/events", '{"name": "a", "userId": "u1"}',
                        CONTENT_LENGTH=str(10 * 1024 * 1024))
    assert response.status_code == 413
    assert footprint() == (0, 0)


CONTACT_BODIES = {
    "nul in a property": ({"userId": "u1", "properties": {"plan": "pro\x00"}},
                          "properties.plan: contains a NUL character (\\u0000)"),
    "nul in a property key": ({"userId": "u1", "properties": {"\x00": 1}},
                              "properties: a key contains a NUL character (\\u0000)"),
    "surrogate in the timezone": ({"userId": "u1", "timezone": "\udfff"},
                                  "timezone: contains an unpaired UTF-16 surrogate"),
    "surrogate in the email": ({"email": "a\ud834@example.com"},
                               "email: contains an unpaired UTF-16 surrogate"),
    "properties too big": ({"userId": "u1", "properties": {"blob": "x" * 70_000}},
                           "properties: larger than 65536 bytes as JSON"),
}


@pytest.mark.parametrize("method", ["put", "post"])
@pytest.mark.parametrize("case", list(CONTACT_BODIES))
def test_contact_upserts_refuse_what_the_database_cannot_store(api, method, case):
    body, error = CONTACT_BODIES[case]
    response = post_raw(api, "/v1/contacts", json.dumps(body), method=method)
    assert response.status_code == 400, response.content
    assert response.json() == {"error": error}
    assert footprint() == (0, 0)


@pytest.mark.parametrize("text", [
    '{"eventIds": [1], "note": "\\u0000"}',
    '{"eventIds": [1], "\\ud800": true}',
])
def test_the_admin_replay_refuses_nul_and_surrogates_with_a_400(admin_api, text):
    response = post_raw(admin_api, "/v1/admin/events/replay", text)
    assert response.status_code == 400, response.content
    assert "contains" in response.json()["error"]


def test_a_batch_envelope_with_a_bad_key_fails_whole(api):
    response = post_raw(api, "/v1/events/batch",
                        '{"events": [{"name": "a", "userId": "u1"}], "x\\u0000": 1}')
    assert response.status_code == 400
    assert response.json() == {"error": "body: a key contains a NUL character (\\u0000)"}
    assert footprint() == (0, 0)
