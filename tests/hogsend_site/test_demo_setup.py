"""demo_setup: a working admin login, API key and demo customer; safe to rerun."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from contacts.models import Contact
from hogsend_site.models import ApiKey

pytestmark = pytest.mark.django_db


def demo_setup(*args: str) -> dict[str, str]:
    out = StringIO()
    call_command("demo_setup", *args, stdout=out)
    text = out.getvalue()
    fields = dict(re.findall(r"^\s+(Admin|User|Password|API key):\s+(\S+)", text, re.M))
    return {**fields, "text": text}


def can_log_in(password: str) -> bool:
    return Client().login(username="admin", password=password)


def can_ingest(secret: str) -> bool:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post("/v1/events", {"name": "demo.ping", "userId": "demo-customer"},
                           format="json")
    return response.status_code == 202


def test_it_prints_a_working_login_and_api_key_and_seeds_the_customer(settings):
    settings.PUBLIC_BASE_URL = "http://localhost:8000"
    printed = demo_setup()
    assert printed["Admin"] == "http://localhost:8000/admin/"
    assert printed["User"] == "admin"
    assert can_log_in(printed["Password"])
    assert printed["API key"].startswith("hsk_")
    assert can_ingest(printed["API key"])
    assert ApiKey.objects.get(name="demo").scopes == ["admin"]
    customer = Contact.objects.get(external_id="demo-customer")
    assert (customer.email, customer.timezone) == ("customer@example.com", "Europe/Prague")


def test_a_rerun_resets_the_password_and_keeps_the_key_and_the_customer(settings):
    first = demo_setup()
    settings.PUBLIC_BASE_URL = "http://localhost:9000"
    second = demo_setup()
    assert second["Admin"] == "http://localhost:9000/admin/"
    assert second["Password"] != first["Password"]
    assert can_log_in(second["Password"]) and not can_log_in(first["Password"])
    assert "API key" not in second or not second["API key"].startswith("hsk_")
    assert "exists" in second["text"]
    assert can_ingest(first["API key"])
    assert ApiKey.objects.count() == 1
    assert Contact.objects.filter(external_id="demo-customer").count() == 1


def test_new_key_revokes_the_old_demo_key_and_prints_a_fresh_one():
    first = demo_setup()
    second = demo_setup("--new-key")
    assert second["API key"].startswith("hsk_") and second["API key"] != first["API key"]
    assert can_ingest(second["API key"]) and not can_ingest(first["API key"])


def test_it_prints_working_health_and_metrics_commands(settings):
    settings.METRICS_TOKEN = "demo-metrics-token"
    settings.PUBLIC_BASE_URL = "http://localhost:8000"
    text = demo_setup()["text"]
    assert "curl http://localhost:8000/healthz" in text
    line = next(line for line in text.splitlines() if "Metrics:" in line)
    token = re.search(r"Bearer (\S+)'", line).group(1)
    response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and b"hogsend_journey_runs" in response.content


def test_without_a_metrics_token_it_says_how_to_open_metrics(settings):
    settings.METRICS_TOKEN = ""
    assert "set METRICS_TOKEN in .env" in demo_setup()["text"]
