"""Logs: the run id and contact key on every line logged inside a run; JSON on request."""

from __future__ import annotations

import io
import json
import logging
import logging.config

import pytest

from hogsend_site.logging import JsonFormatter, PlainFormatter, RunContextFilter, logging_config
from journeys.engine import define_journey
from journeys.engine.registry import registry
from journeys.models import JourneyRun
from tracking.ingest import EventInput, event_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def json_lines():
    """Route every log record through the production filter + JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunContextFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture
def chatty():
    @define_journey(id="chatty", name="Chatty", trigger="chat.go")
    def chatty(user, ctx):
        logging.getLogger("journeys.engine").info("inside the run")

    registry.add(chatty)
    yield chatty
    registry.remove("chatty")


def test_a_line_logged_inside_a_run_names_the_run_and_the_contact(
    chatty, ada, json_lines, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event_ingest(EventInput(name="chat.go", user_id=ada.external_id))
    run = JourneyRun.objects.get(journey_id="chatty")
    inside = [line for line in json_lines() if line["message"] == "inside the run"]
    assert len(inside) == 1
    assert inside[0]["run_id"] == str(run.pk)
    assert inside[0]["contact_key"] == "u_ada"
    assert inside[0]["logger"] == "journeys.engine" and inside[0]["level"] == "INFO"


def test_lines_outside_a_run_carry_empty_ids(json_lines):
    logging.getLogger("tracking").warning("outside %s", "any run")
    line = json_lines()[-1]
    assert line["message"] == "outside any run"
    assert line["run_id"] == "" and line["contact_key"] == ""


def test_an_exception_is_one_json_line_with_its_traceback(json_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("failed")
    line = json_lines()[-1]
    assert "ValueError: boom" in line["exc_info"]


def test_the_plain_format_appends_the_run_only_inside_one():
    formatter = PlainFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    RunContextFilter().filter(record)
    assert formatter.format(record) == "INFO hello"
    record.run_id, record.contact_key = "r1", "u1"
    assert formatter.format(record) == "INFO hello run=r1 contact=u1"


def test_log_format_json_selects_the_json_formatter_on_the_console():
    config = logging_config(level="INFO", fmt="json")
    assert config["handlers"]["console"]["formatter"] == "json"
    assert config["handlers"]["console"]["filters"] == ["run_context"]
    assert logging_config(level="INFO", fmt="plain")["handlers"]["console"]["formatter"] \
        == "plain"
    logging.config.dictConfig({**config, "root": {"level": "INFO"}})  # it loads
