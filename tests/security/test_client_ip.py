"""X-Forwarded-For is believed only from a configured trusted proxy, right to left:
otherwise anyone could plant an address in a click row or dodge a per-IP limit."""

from __future__ import annotations

import pytest

from hogsend_site.client_ip import client_ip
from tests.tracking.conftest import answer_link
from tracking.models import LinkClick


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), [
    # No proxy configured: the header is the client's own words.
    ([], "198.51.100.9", "203.0.113.5", "198.51.100.9"),
    # A trusted proxy appended the address it saw; the client's entries are ignored.
    (["10.0.0.0/8"], "10.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),
    # Two trusted hops: skip both, take the first untrusted one from the right.
    (["10.0.0.0/8"], "10.0.0.1", "6.6.6.6, 203.0.113.5, 10.1.2.3", "203.0.113.5"),
    # The peer is not a trusted proxy: whatever it says is ignored.
    (["10.0.0.0/8"], "198.51.100.9", "203.0.113.5", "198.51.100.9"),
    # Every hop trusted: the left-most is the best we know.
    (["10.0.0.0/8"], "10.0.0.1", "10.9.9.9, 10.1.1.1", "10.9.9.9"),
    # Garbage in the chain: the last trusted hop that wrote it.
    (["10.0.0.0/8"], "10.0.0.1", "203.0.113.5, not-an-ip, 10.1.1.1", "10.1.1.1"),
    # A trusted proxy without the header.
    (["10.0.0.0/8"], "10.0.0.1", "", "10.0.0.1"),
    # IPv6 proxies and clients; a single address is a /128.
    (["::1", "fd00::/8"], "::1", "2001:db8::7, fd00::2", "2001:db8::7"),
])
def test_the_client_is_the_right_most_untrusted_address(rf, settings, trusted, remote,
                                                        forwarded, expected):
    settings.TRUSTED_PROXIES = trusted
    request = rf.get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_the_setting_may_be_a_comma_separated_string(rf, settings):
    settings.TRUSTED_PROXIES = "127.0.0.1, 10.0.0.0/8"
    request = rf.get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert client_ip(request) == "203.0.113.5"


def test_a_click_stores_the_socket_address_whatever_the_headers_say(client, followup):
    link = answer_link(followup, "yes")
    client.get(f"/v1/t/c/{link.pk}", REMOTE_ADDR="198.51.100.9",
               HTTP_X_FORWARDED_FOR="203.0.113.66", HTTP_X_REAL_IP="203.0.113.77")
    assert LinkClick.objects.get().ip_address == "198.51.100.9"


def test_behind_a_trusted_proxy_a_click_stores_the_forwarded_address(client, followup, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    link = answer_link(followup, "yes")
    client.get(f"/v1/t/c/{link.pk}", REMOTE_ADDR="127.0.0.1",
               HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.66")
    assert LinkClick.objects.get().ip_address == "203.0.113.66"


def test_the_per_ip_tracking_limit_cannot_be_dodged_with_the_header(client, followup, settings):
    settings.TRACKING_RATE_LIMIT = "2/min"
    link = answer_link(followup, "yes")
    for n in range(4):
        client.get(f"/v1/t/c/{link.pk}", REMOTE_ADDR="198.51.100.9",
                   HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    assert LinkClick.objects.count() == 2


def test_behind_a_trusted_proxy_each_visitor_has_their_own_limit(client, followup, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.TRACKING_RATE_LIMIT = "2/min"
    link = answer_link(followup, "yes")
    for visitor in ("203.0.113.1", "203.0.113.2"):
        for _ in range(3):
            client.get(f"/v1/t/c/{link.pk}", REMOTE_ADDR="10.0.0.1",
                       HTTP_X_FORWARDED_FOR=visitor)
    assert sorted(LinkClick.objects.values_list("ip_address", flat=True)) == [
        "203.0.113.1", "203.0.113.1", "203.0.113.2", "203.0.113.2"]


def test_admin_api_audit_rows_record_the_same_address(admin_api, settings):
    from hogsend_site.models import AuditLog

    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    admin_api.post("/v1/admin/events/replay", {"eventIds": [1]}, format="json",
                   REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.8")
    assert AuditLog.objects.get().ip == "203.0.113.8"


def test_a_bad_trusted_proxies_entry_fails_the_system_check(settings):
    from hogsend_site.checks import check_trusted_proxies

    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "proxy.internal"]
    assert [e.id for e in check_trusted_proxies(None)] == ["hogsend.E004"]
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert check_trusted_proxies(None) == []
