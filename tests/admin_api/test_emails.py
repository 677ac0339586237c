"""Emails on the admin plane: list with filters, detail with links and clicks, resend."""

from __future__ import annotations

import pytest
from django.utils import timezone

from contacts.preferences import preference_update
from tests.tracking.conftest import followup
from tracking.mailer import email_send
from tracking.models import EmailSend, TrackedLink
from tracking.services import click_record

pytestmark = pytest.mark.django_db

__all__ = ["followup"]


class DownBackend:
    """An email backend whose provider is unreachable."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionError("provider unreachable")


@pytest.fixture
def failed(ada, settings) -> EmailSend:
    """`support/followup` to Ada whose provider call failed: rendered, never sent."""
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    with pytest.raises(ConnectionError):
        email_send(to=ada.email, template="support/followup", contact=ada,
                   props={"ticketId": "T-7"}, idempotency_key="k-failed")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return EmailSend.objects.get(status="failed")


@pytest.fixture
def transactional(db, mailoutbox) -> EmailSend:
    result = email_send(to="bob@example.com", template="transactional/support-alert",
                        props={"customerEmail": "x@example.com"})
    return EmailSend.objects.get(pk=result.email_send_id)


# --- list and detail --------------------------------------------------------------------


def test_the_list_is_newest_first_and_hides_the_bodies(admin_api, followup, transactional):
    body = admin_api.get("/v1/admin/emails").json()
    assert [e["id"] for e in body["emails"]] == [str(transactional.pk), str(followup.pk)]
    assert body["total"] == 2
    row = body["emails"][1]
    assert (row["templateKey"], row["toEmail"], row["status"]) == (
        "support/followup", "ada@example.com", "sent")
    assert (row["journeyId"], row["userId"], row["category"]) == (
        "support-followup", "u_ada", "journey")
    assert "html" not in row and row["sentAt"].endswith("Z")


@pytest.mark.parametrize(("params", "expected"), [
    ({"toEmail": "ADA@example.com"}, ["followup"]),
    ({"templateKey": "transactional/support-alert"}, ["transactional"]),
    ({"status": "sent"}, ["transactional", "followup"]),
    ({"status": "bounced"}, []),
    ({"category": "transactional"}, ["transactional"]),
    ({"journeyId": "support-followup"}, ["followup"]),
    ({"userId": "u_ada"}, ["followup"]),
])
def test_the_list_filters(admin_api, followup, transactional, params, expected):
    sends = {"followup": str(followup.pk), "transactional": str(transactional.pk)}
    body = admin_api.get("/v1/admin/emails", params).json()
    assert [e["id"] for e in body["emails"]] == [sends[name] for name in expected]
    assert body["total"] == len(expected)


def test_the_list_filters_by_window(admin_api, followup):
    later = (timezone.now() + timezone.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert admin_api.get("/v1/admin/emails", {"from": later}).json()["total"] == 0
    assert admin_api.get("/v1/admin/emails", {"to": later}).json()["total"] == 1


def test_an_unknown_status_filter_is_a_400(admin_api):
    response = admin_api.get("/v1/admin/emails?status=lost")
    assert response.status_code == 400
    assert response.json()["error"].startswith("status:")


def test_the_detail_has_links_with_click_counts_and_clicks(admin_api, followup):
    link = TrackedLink.objects.get(email_send=followup, event_properties__answer="yes")
    click_record(link=link, ip="203.0.113.9", user_agent="Mozilla/5.0", method="GET",
                 is_bot=False)
    body = admin_api.get(f"/v1/admin/emails/{followup.pk}").json()["email"]
    links = {item["id"]: item for item in body["links"]}
    assert len(links) == followup.links.count()
    clicked = links[str(link.pk)]
    assert clicked["clickCount"] == 1 and clicked["event"] == "support.followup_answered"
    assert clicked["eventProperties"]["answer"] == "yes"
    assert [(c["ipAddress"], c["isBot"]) for c in clicked["clicks"]] == [("203.0.113.9", False)]
    assert body["clickedAt"] is not None


def test_an_unknown_email_is_a_404(admin_api):
    for method, suffix in (("get", ""), ("post", "/resend")):
        response = getattr(admin_api, method)(
            f"/v1/admin/emails/00000000-0000-0000-0000-000000000000{suffix}")
        assert response.status_code == 404
        assert response.json() == {"error": "Email not found"}


# --- resend -----------------------------------------------------------------------------


def test_resending_a_sent_email_is_a_409(admin_api, followup, mailoutbox):
    response = admin_api.post(f"/v1/admin/emails/{followup.pk}/resend")
    assert response.status_code == 409
    assert response.json() == {"error": "Only failed or bounced emails can be resent; "
                                        "this one is sent"}
    assert len(mailoutbox) == 1


def test_resending_a_failed_email_sends_its_body_again_under_a_new_key(
        admin_api, failed, mailoutbox):
    response = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend")
    assert response.status_code == 202
    body = response.json()
    again = EmailSend.objects.get(pk=body["emailId"])
    assert body["status"] == "sent" and again.status == "sent"
    assert again.idempotency_key == f"resend:{failed.pk}:1"
    assert (again.to_email, again.subject, again.template_key) == (
        failed.to_email, failed.subject, failed.template_key)
    assert "T-7" in mailoutbox[0].body
    # Fresh tracked links, same answers; nothing points at the failed send any more.
    assert again.links.count() == failed.links.count()
    assert {link.event_properties["answer"] for link in again.links.all()} == {"yes", "no"}
    for link in failed.links.all():
        assert str(link.pk) not in again.html and str(link.pk) not in again.text
    assert f"/v1/t/o/{again.pk}" in again.html and str(failed.pk) not in again.html
    failed.refresh_from_db()
    assert failed.status == "failed"


def test_a_second_resend_of_the_same_email_is_a_409(admin_api, failed, mailoutbox):
    first = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend").json()
    response = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend")
    assert response.status_code == 409
    assert response.json() == {"error": f"This email was already resent as {first['emailId']}"}
    assert len(mailoutbox) == 1


def test_a_resend_whose_provider_fails_can_be_resent_again(admin_api, failed, settings,
                                                            mailoutbox):
    settings.EMAIL_BACKEND = f"{__name__}.DownBackend"
    response = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend")
    assert response.status_code == 502
    assert response.json()["error"].startswith("Email provider error")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    again = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend").json()
    assert again["status"] == "sent"
    assert EmailSend.objects.get(pk=again["emailId"]).idempotency_key == f"resend:{failed.pk}:2"


def test_a_bounced_email_can_be_resent(admin_api, followup, mailoutbox):
    EmailSend.objects.filter(pk=followup.pk).update(status="bounced")
    response = admin_api.post(f"/v1/admin/emails/{followup.pk}/resend")
    assert response.status_code == 202 and response.json()["status"] == "sent"
    assert len(mailoutbox) == 2


def test_a_resend_respects_todays_preferences(admin_api, failed, ada, mailoutbox):
    preference_update(contact=ada, email=ada.email, unsubscribed_all=True, source="api")
    response = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend")
    assert response.status_code == 202
    assert response.json() == {"emailId": response.json()["emailId"],
                               "status": "unsubscribed", "reason": "unsubscribed"}
    assert mailoutbox == []


def test_a_resend_left_queued_by_a_crash_is_re_driven_not_copied_again(
        admin_api, failed, mailoutbox):
    from tracking.services import _queue_copy

    _queue_copy(failed, f"resend:{failed.pk}:1")  # the process died before the provider call
    stranded = EmailSend.objects.get(idempotency_key=f"resend:{failed.pk}:1")
    response = admin_api.post(f"/v1/admin/emails/{failed.pk}/resend")
    assert response.json() == {"emailId": str(stranded.pk), "status": "sent"}
    assert EmailSend.objects.filter(metadata__resendOf=str(failed.pk)).count() == 1
    assert len(mailoutbox) == 1


def test_an_email_that_never_rendered_cannot_be_resent(admin_api, ada):
    broken = EmailSend.objects.create(contact=ada, template_key="support/followup",
                                      from_email="a@b.c", to_email=ada.email, subject="Hi",
                                      status="failed", error="TemplateRenderError: boom")
    response = admin_api.post(f"/v1/admin/emails/{broken.pk}/resend")
    assert response.status_code == 409
    assert response.json() == {"error": "This email never rendered, so there is nothing "
                                        "to resend"}
