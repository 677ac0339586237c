"""Reads the admin plane reuses: events and sends with their filters, a send with its
links and clicks, the template catalogue, and template previews."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from contacts.models import normalize_email
from hogsend_site.errors import NotFound
from tracking import hrefs, templates_registry
from tracking.links import plan_links
from tracking.models import EmailSend, LinkClick, TrackedLink, UserEvent


def _person(user_id: str) -> Q:
    """Rows of this person: by the key stored on the row, or by the contact's userId."""
    return Q(user_key=user_id) | Q(contact__external_id=user_id)


def event_list(
    *, user_id: str = "", event: str = "", since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[UserEvent]:
    """Stored events, newest first; every filter is optional (`since`/`until` inclusive,
    on `occurred_at`)."""
    events = UserEvent.objects.all()
    if user_id:
        events = events.filter(_person(user_id))
    if event:
        events = events.filter(event=event)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    return events.order_by("-occurred_at", "-id")


def email_list(
    *, to_email: str = "", template_key: str = "", status: str = "", category: str = "",
    journey_id: str = "", user_id: str = "", since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[EmailSend]:
    """Sends, newest first, without their bodies; `since`/`until` are on `created_at`."""
    exact = {"to_email": normalize_email(to_email), "template_key": template_key,
             "status": status, "category": category, "journey_id": journey_id}
    sends = EmailSend.objects.defer("html", "text").filter(
        **{name: value for name, value in exact.items() if value})
    if user_id:
        sends = sends.filter(_person(user_id))
    if since is not None:
        sends = sends.filter(created_at__gte=since)
    if until is not None:
        sends = sends.filter(created_at__lte=until)
    return sends.order_by("-created_at", "-pk")


def email_get(*, email_send_id: Any) -> EmailSend:
    """One send with its tracked links and each link's clicks (three queries)."""
    clicks = Prefetch("clicks", queryset=LinkClick.objects.order_by("clicked_at", "id"))
    links = Prefetch("links", queryset=TrackedLink.objects.order_by("created_at", "id")
                     .prefetch_related(clicks))
    send = EmailSend.objects.prefetch_related(links).filter(pk=email_send_id).first()
    if send is None:
        raise NotFound("Email not found")
    return send


# --- templates ---------------------------------------------------------------------


def template_catalogue() -> list[tuple[templates_registry.EmailTemplate, bool]]:
    """Every known template with whether its files exist (so it can be previewed)."""
    files = templates_registry.discovered_keys()
    declared = templates_registry.registered()
    return [
        (declared.get(key) or templates_registry.EmailTemplate(key=key, subject=key), key in files)
        for key in templates_registry.template_keys()
    ]


@dataclass
class Preview:
    template: templates_registry.EmailTemplate
    subject: str
    html: str
    text: str


def template_preview(*, key: str, props: dict[str, Any]) -> Preview:
    """Render a template as the mailer would, writing nothing.

    The send-time props are filled in (placeholder unsubscribe links; the mailer's
    injected `name`, `subject`, ...), and semantic links are checked and rewritten
    exactly as at send; the tracked ids in the result were never stored, so
    following one records nothing. Raises `NotFound` for an unknown key.
    """
    if key not in templates_registry.discovered_keys():
        raise NotFound("Template not found")
    entry = templates_registry.get_template(key)
    base = settings.PUBLIC_BASE_URL
    props = {**hrefs.caller_props(props),
             "unsubscribeUrl": f"{base}/v1/email/unsubscribe?token=preview",
             "preferencesUrl": f"{base}/v1/email/preferences?token=preview"}
    props.update(name=props.get("firstName") or props.get("name") or "there",
                 journeyName=key, eventName=key, body=entry.subject, subject=entry.subject)
    html, text = templates_registry.render(key, props)
    html, text, _unsaved = plan_links(send_id=None, html=html, text=text, base_url=base)
    return Preview(template=entry, subject=entry.subject, html=html, text=text)
