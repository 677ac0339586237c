"""Webhook endpoints cannot be aimed at the private network (server-side request forgery).

Staff type endpoint URLs; the delivery worker POSTs to them from inside the
deployment. An internal address is refused when the endpoint is saved and
again at every delivery attempt (DNS can change in between), the connection
goes to the address that was checked (a rebinding resolver gets one answer),
and nothing an internal destination returns is kept. DNS is faked at the
import site (`alerts.egress.getaddrinfo`); a real receiver listens on loopback.
"""

from __future__ import annotations

import io
import ipaddress
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse

from alerts import destinations, egress
from alerts.models import WebhookDelivery, WebhookEndpoint
from contacts.models import Contact
from hogsend_site import outbound
from tests.live_http import LiveServer, Reply, live_server

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 6, 17, 12, 0, tzinfo=UTC)
PUBLIC_IP = "93.184.216.34"
REAL_GETADDRINFO = socket.getaddrinfo


class FakeDns:
    """`names[host]` is what the next lookups answer (a list, or a list per lookup)."""

    def __init__(self) -> None:
        self.names: dict[str, list[Any]] = {}
        self.lookups: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[tuple]:
        self.lookups.append(host)
        if host not in self.names:
            return REAL_GETADDRINFO(host, port, *args, **kwargs)  # IP literals
        answer = self.names[host]
        if answer and isinstance(answer[0], list):  # one answer per lookup
            answer = answer.pop(0) if len(answer) > 1 else answer[0]
        return [(socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (ip, port, 0, 0) if ":" in ip else (ip, port)) for ip in answer]


@pytest.fixture
def dns(monkeypatch) -> FakeDns:
    fake = FakeDns()
    monkeypatch.setattr(egress, "getaddrinfo", fake)
    return fake


@pytest.fixture(autouse=True)
def nothing_allowed(settings) -> None:
    settings.WEBHOOK_ALLOWED_HOSTS = []


@pytest.fixture
def clock_start() -> datetime:
    return NOON


@pytest.fixture
def receiver() -> Iterator[LiveServer]:
    """An internal service: it answers anything with a body worth stealing."""
    with live_server() as server:
        server.routes[("POST", "/hooks")] = Reply(200, b'{"aws_secret":"s3cr3t"}')
        yield server


def save(admin_client, url: str) -> str:
    """Save an endpoint through the admin form; returns the page's text."""
    response = admin_client.post(reverse("admin:alerts_webhookendpoint_add"), {
        "url": url, "description": "", "event_types": ""}, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def run_due() -> None:
    call_command("run_due", "--inline", stdout=io.StringIO())


def deliver_one(ada: Contact) -> WebhookDelivery:
    """Announce one event to every endpoint and run the clock once."""
    outbound.emit("contact.created", {"contact": ada}, dedupe_key=f"contact.created:{ada.pk}")
    run_due()
    return WebhookDelivery.objects.get()


# --- when an endpoint is saved ------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hooks",
    "http://localhost:8000/hooks",
    "http://[::1]/hooks",
    "http://10.0.0.5/hooks",
    "http://172.16.3.4/hooks",
    "http://192.168.1.10/hooks",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/hooks",
    "http://100.64.0.1/hooks",
    "http://224.0.0.1/hooks",
    "http://240.0.0.1/hooks",
    "http://[fd00::1]/hooks",
    "http://[fe80::1]/hooks",
    "http://[ff02::1]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",
    "http://[::ffff:a9fe:a9fe]/hooks",
    "http://[64:ff9b::a9fe:a9fe]/hooks",
])
def test_saving_an_endpoint_at_an_internal_address_is_refused_with_a_clear_error(
        admin_client, url):
    page = save(admin_client, url)
    assert not WebhookEndpoint.objects.exists()
    assert "is not a public address" in page and "WEBHOOK_ALLOWED_HOSTS" in page


@pytest.mark.parametrize("url", [
    "http://0x7f000001/hooks", "http://2130706433/hooks", "http://017700000001/hooks",
    "http://127.1/hooks",
])
def test_numeric_spellings_of_loopback_are_refused(admin_client, url):
    save(admin_client, url)
    assert not WebhookEndpoint.objects.exists()
    # Whatever the form's URL syntax check makes of them, the address check knows.
    with pytest.raises(egress.Refused, match=r"resolves to 127\.0\.0\.1.*loopback"):
        egress.url_check(url)


def test_a_name_that_resolves_to_loopback_is_refused(admin_client, dns):
    dns.names["hooks.attacker.example"] = ["127.0.0.1"]
    page = save(admin_client, "https://hooks.attacker.example/in")
    assert not WebhookEndpoint.objects.exists()
    assert "hooks.attacker.example resolves to 127.0.0.1" in page


def test_a_name_with_one_internal_address_among_public_ones_is_refused(admin_client, dns):
    dns.names["hooks.attacker.example"] = [PUBLIC_IP, "169.254.169.254"]
    page = save(admin_client, "https://hooks.attacker.example/in")
    assert not WebhookEndpoint.objects.exists() and "link-local" in page


def test_a_public_endpoint_is_saved(admin_client, dns):
    dns.names["hooks.customer.example"] = [PUBLIC_IP, "2606:4700::1111"]
    save(admin_client, "https://hooks.customer.example/in")
    assert WebhookEndpoint.objects.get().url == "https://hooks.customer.example/in"


def test_an_allowed_host_may_be_saved_at_an_internal_address(admin_client, dns, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.internal"]
    dns.names["hooks.internal"] = ["10.0.0.7"]
    dns.names["other.internal"] = ["10.0.0.8"]
    save(admin_client, "http://hooks.internal/in")
    save(admin_client, "http://other.internal/in")  # the allowlist names hosts, not networks
    assert [e.url for e in WebhookEndpoint.objects.all()] == ["http://hooks.internal/in"]


# --- when a delivery is attempted ---------------------------------------------------------


def test_a_delivery_is_refused_when_dns_changed_after_the_save(
        ada, admin_client, clock, dns, receiver):
    port = receiver.base_url.rsplit(":", 1)[1]
    dns.names["hooks.customer.example"] = [PUBLIC_IP]
    save(admin_client, f"http://hooks.customer.example:{port}/hooks")
    assert WebhookEndpoint.objects.exists()
    dns.names["hooks.customer.example"] = ["127.0.0.1"]  # rebound to the receiver's address
    delivery = deliver_one(ada)
    assert receiver.hits == []
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, None)
    assert delivery.last_error.startswith("refused: hooks.customer.example resolves to "
                                          "127.0.0.1, which is not a public address (loopback)")
    clock.shift(timedelta(days=1))  # refused is final: no retry
    run_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1) and receiver.hits == []


def test_nothing_is_sent_to_or_kept_from_an_internal_destination(ada, clock, receiver):
    # Saved before the check existed (or by code that skipped the form).
    WebhookEndpoint.objects.create(url=receiver.url("/hooks"))
    delivery = deliver_one(ada)
    assert receiver.hits == []
    assert delivery.status == "failed" and delivery.response_body_snippet == ""
    assert "s3cr3t" not in delivery.last_error and delivery.response_status is None


def test_a_numeric_spelling_of_loopback_is_refused_at_delivery(ada, clock, receiver):
    port = receiver.base_url.rsplit(":", 1)[1]
    WebhookEndpoint.objects.create(url=f"http://2130706433:{port}/hooks")
    delivery = deliver_one(ada)
    assert receiver.hits == [] and delivery.status == "failed"
    assert "loopback" in delivery.last_error


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO"])
def test_a_non_http_url_is_refused_at_delivery(ada, clock, url):
    WebhookEndpoint.objects.create(url=url)
    delivery = deliver_one(ada)
    assert delivery.status == "failed" and "is not an http(s) URL" in delivery.last_error


def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(
        ada, clock, dns, monkeypatch):
    # A rebinding resolver: public for the first lookup, internal for any later one.
    dns.names["hooks.customer.example"] = [[PUBLIC_IP], ["127.0.0.1"]]
    WebhookEndpoint.objects.create(url="https://hooks.customer.example/in")
    connected: list[tuple] = []

    def connect(address: tuple, *args: Any, **kwargs: Any) -> None:
        connected.append(address)
        raise ConnectionRefusedError("not in this test")

    monkeypatch.setattr(egress, "create_connection", connect)
    delivery = deliver_one(ada)
    assert dns.lookups == ["hooks.customer.example"]
    assert connected == [(PUBLIC_IP, 443)]
    assert delivery.status == "pending"  # a network error, retried as before


def test_an_allowed_host_is_delivered_to_its_checked_address_under_its_own_name(
        ada, admin_client, clock, dns, receiver, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["Hooks.Internal"]
    dns.names["hooks.internal"] = ["127.0.0.1"]  # unknown to the real resolver
    port = receiver.base_url.rsplit(":", 1)[1]
    save(admin_client, f"http://hooks.internal:{port}/hooks")
    delivery = deliver_one(ada)
    [hit] = receiver.hits
    assert hit.headers["host"] == f"hooks.internal:{port}"
    assert (delivery.status, delivery.response_status) == ("delivered", 200)
    assert delivery.response_body_snippet == '{"aws_secret":"s3cr3t"}'  # allowed: kept


def test_a_redirect_to_an_internal_address_is_not_followed(ada, clock, receiver, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver.routes[("POST", "/hooks")] = Reply(
        307, b"", headers={"location": receiver.url("/internal")})
    receiver.routes[("POST", "/internal")] = Reply(200, b"metadata")
    WebhookEndpoint.objects.create(url=receiver.url("/hooks"))
    delivery = deliver_one(ada)
    assert [hit.path for hit in receiver.hits] == ["/hooks"]
    assert (delivery.status, delivery.response_status) == ("failed", 307)


def test_a_self_hosted_posthog_from_the_environment_is_reached(
        clock, receiver, settings):
    # POSTHOG_HOST is the operator's setting, not a URL staff can type.
    settings.POSTHOG_CAPTURE_ANSWERS = True
    settings.POSTHOG_HOST = receiver.base_url
    settings.POSTHOG_PROJECT_API_KEY = "phc_test"
    receiver.routes[("POST", "/capture/")] = Reply(200, b'{"status":1}')
    endpoint = destinations.posthog_endpoint_ensure()
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="email.action", next_attempt_at=NOON,
        payload={"event": "support.followup_answered", "userId": "u_ada", "at": None})
    run_due()
    assert [hit.path for hit in receiver.hits] == ["/capture/"]
    assert WebhookDelivery.objects.get().status == "delivered"


def test_each_refused_address_is_named_by_its_kind() -> None:
    kinds: dict[str, str | None] = {
        "8.8.8.8": None, "2606:4700::1111": None, "127.0.0.2": "loopback",
        "169.254.169.254": "link-local", "100.100.100.100": "carrier-grade NAT",
        "::": "unspecified", "ff02::1": "multicast", "::ffff:10.1.2.3": "private",
        "2002:c0a8:101::": "private", "fec0::1": "reserved", "::127.0.0.1": "reserved",
    }
    assert {ip: egress.address_refusal(ipaddress.ip_address(ip)) for ip in kinds} == kinds
