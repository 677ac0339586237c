"""Events, sends, links and clicks in the admin: read-only history for support staff.

Every table here grows with traffic: no full counts, no add/change/delete, heavy
columns (HTML bodies, JSON) deferred on changelists. A send's page shows what
went out (the stored HTML in a sandboxed iframe), its links with click counts,
and its clicks with their confirmation outcome.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from contacts.admin import ContactSearchMixin, register_topics
from hogsend_site import labels, times
from hogsend_site.admin_columns import stamp
from hogsend_site.admin_tools import BigTableAdminMixin, ReadOnlyAdminMixin, admin_link, pretty_json
from hogsend_site.errors import HogsendError
from tracking import categories
from tracking.answers_admin import answer_value  # (also registers the answers changelist)
from tracking.ingest import events_replay
from tracking.models import (
    EmailSend,
    LinkClick,
    PendingEvent,
    ProviderEvent,
    TrackedLink,
    UserEvent,
)

RECENT_CLICKS = 50
# A link's URL in a list column: enough to recognise it.
URL_CHARS = 60
REPLAY_MAX = 500
PIXEL_RE = re.compile(r'<img src="[^"]*/v1/t/o/[^"]*"[^>]*>')

__all__ = ["answer_value", "preview_html", "preview_iframe"]


def preview_html(html: str) -> str:
    """The stored email, made inert for staff: viewing it must not count as an
    open, and a click in it must not record a click or an answer (links open
    in a new window, which the sandbox forbids)."""
    return '<base target="_blank">' + PIXEL_RE.sub("", html)


# Desktop mail clients give an email a reading pane about this wide; phones 390 px.
PREVIEW_DESKTOP_PX = 1000
PREVIEW_PHONE_PX = 390
# The width switch is two radio buttons and a sibling selector: no script runs in
# the admin for it, and none can run in the sandboxed frame.
PREVIEW_STYLE = (
    f".hs-preview-frame {{ display: block; width: {PREVIEW_DESKTOP_PX}px; max-width: 100%; "
    "border: 1px solid #ccc; background: #fff; margin-top: .5em; } "
    ".hs-preview input[value=phone]:checked ~ .hs-preview-frame "
    f"{{ width: {PREVIEW_PHONE_PX}px; }} "
    ".hs-preview label { display: inline; margin: 0 1em 0 .25em; font-weight: normal; }"
)


def preview_iframe(html: str, *, height: int = 640) -> SafeString:
    """The email at desktop width, with a "Phone" switch to 390 px.

    srcdoc is an attribute: format_html escapes the HTML into it; the empty
    sandbox keeps the email's content from running anything in the admin."""
    name = f"hs-preview-{uuid.uuid4().hex[:8]}"
    return format_html(
        '<div class="hs-preview" role="group" aria-label="Email preview width">'
        "<style>{}</style>"
        '<input type="radio" name="{}" id="{}-desktop" value="desktop" checked>'
        '<label for="{}-desktop">Desktop ({} px)</label>'
        '<input type="radio" name="{}" id="{}-phone" value="phone">'
        '<label for="{}-phone">Phone ({} px)</label>'
        '<iframe sandbox srcdoc="{}" title="Email preview" class="hs-preview-frame" '
        'style="height: {}px"></iframe></div>',
        PREVIEW_STYLE, name, name, name, PREVIEW_DESKTOP_PX, name, name, name, PREVIEW_PHONE_PX,
        preview_html(html), height)


def _topics(merged: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """The contact page's list switches: the journey built-in and every enabled
    list, each with the person's state (under the list's polarity)."""
    rows = [(categories.JOURNEY, "Journey emails", categories.is_subscribed(merged, "journey"))]
    rows += [(item.id, item.name, categories.is_subscribed(merged, item.id))
             for item in categories.enabled_topics()]
    return rows


# Lists live in tracking, above contacts: the contact page asks through this hook.
register_topics(_topics)


def _uuid_q(term: str, field: str = "pk") -> Q:
    try:
        return Q(**{field: uuid.UUID(term)})
    except ValueError:
        return Q()


class ReadOnlyHistoryAdmin(BigTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Append-only history: every field shown read-only."""

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        declared = list(super().get_readonly_fields(request, obj))
        return declared + [f.name for f in self.model._meta.fields if f.name not in declared]


@admin.register(UserEvent)
class UserEventAdmin(ContactSearchMixin, ReadOnlyHistoryAdmin):
    list_display = (stamp("occurred_at", "when"), "what", "contact_link", "source")
    list_display_links = ("what",)
    list_filter = ("source", "occurred_at")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    ordering = ("-id",)
    search_help_text = "Exact event name, idempotency key, or a contact's email / id."
    fieldsets = (
        (None, {"fields": ("event", "contact", "user_key", "source", "occurred_at",
                           "created_at")}),
        ("Payload", {"fields": ("properties_pretty", "groups", "value", "currency",
                                "idempotency_key")}),
    )
    readonly_fields = ("properties_pretty",)

    actions = ("replay",)

    def extra_search_q(self, term: str) -> Q:
        return Q(event=term) | Q(idempotency_key=term) | Q(user_key=term)

    @admin.display(description="contact")
    def contact_link(self, obj: UserEvent) -> SafeString | str:
        return admin_link(obj.contact) if obj.contact_id else obj.user_key

    @admin.display(description="event", ordering="event")
    def what(self, obj: UserEvent) -> SafeString:
        return labels.labelled(labels.event_label(obj.event, obj.properties), obj.event)

    @admin.display(description="properties")
    def properties_pretty(self, obj: UserEvent) -> SafeString:
        return pretty_json(obj.properties)

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tracking.replay_userevent")

    @admin.action(description="Replay selected events through the pipeline (guards apply)",
                  permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[UserEvent]) -> None:
        ids = list(queryset.order_by("id").values_list("pk", flat=True)[:REPLAY_MAX + 1])
        if len(ids) > REPLAY_MAX:
            self.message_user(request, f"Replay at most {REPLAY_MAX} events at once.",
                              messages.ERROR)
            return
        try:
            results = events_replay(event_ids=ids)
        except HogsendError as exc:
            self.message_user(request, f"Nothing replayed: {exc.message}", messages.ERROR)
            return
        for level, text in replay_summary(ids, results):
            self.message_user(request, text, level)


def replay_summary(event_ids: list[int], results: list[Any]) -> list[tuple[int, str]]:
    """Messages for staff: what a replay stored, started and exited, and every
    reason a journey was not started (grouped, naming the events)."""
    stored, exited, errors = 0, 0, []
    enrolled: Counter[str] = Counter()
    skipped: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event_id, result in zip(event_ids, results, strict=True):
        if result.error:
            errors.append(f"#{event_id}: {result.error}")
            continue
        stored += bool(result.stored)
        exited += sum(1 for item in result.exits if item.get("exited"))
        for enrollment in result.reactions.get("enrollments", []):
            if enrollment.status == "enrolled":
                enrolled[enrollment.journey_id] += 1
            else:
                skipped[(enrollment.journey_id, enrollment.reason)].append(event_id)
    started = ", ".join(f"{jid} ×{n}" for jid, n in sorted(enrolled.items())) or "none"
    summary = [(messages.SUCCESS, f"Replayed {stored} of {len(event_ids)} event(s). "
                                  f"Runs started: {started}. Runs exited: {exited}.")]
    summary += [(messages.WARNING, f"{jid} not started ({reason}) for event(s) "
                                   + ", ".join(f"#{pk}" for pk in pks))
                for (jid, reason), pks in sorted(skipped.items())]
    if errors:
        summary.append((messages.ERROR, "Refused: " + "; ".join(errors)))
    return summary


class SendStatusFilter(admin.SimpleListFilter):
    title = "engagement"
    parameter_name = "engagement"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("opened", "Opened"), ("clicked", "Clicked"), ("answered", "Answered")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "opened":
            return queryset.filter(opened_at__isnull=False)
        if self.value() == "clicked":
            return queryset.filter(clicked_at__isnull=False)
        if self.value() == "answered":
            return queryset.filter(links__semantic_emitted_at__isnull=False).distinct()
        return queryset


@admin.register(EmailSend)
class EmailSendAdmin(ContactSearchMixin, ReadOnlyHistoryAdmin):
    list_display = (stamp("created_at", "created"), "subject", "to_email", "outcome",
                    "engagement", "journey_id")
    list_display_links = ("subject",)
    list_filter = ("status", "category", SendStatusFilter, "template_key", "created_at")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    ordering = ("-created_at",)
    date_hierarchy = None
    search_help_text = "Exact recipient, send id, message id, idempotency key or contact."
    fieldsets = (
        (None, {"fields": ("id", "to_email", "subject", "template_key", "category", "status",
                           "reason", "error")}),
        ("Who and why", {"fields": ("contact", "user_key", "journey_id", "journey_run_id",
                                    "idempotency_key", "from_email")}),
        ("Timeline", {"fields": ("created_at", "sent_at", "delivered_at", "opened_at",
                                 "clicked_at", "bounced_at", "complained_at", "message_id")}),
        # Hits past the per-send hourly caps are counted here, not in the tables.
        ("Links and clicks", {"fields": ("links_table", "clicks_table", "opens_dropped",
                                         "clicks_dropped", "last_click_dropped_at")}),
        ("What went out", {"fields": ("preview", "text", "metadata_pretty")}),
    )
    readonly_fields = ("preview", "links_table", "clicks_table", "metadata_pretty")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("changelist"):
            queryset = queryset.defer("html", "text", "metadata")
        return queryset

    def extra_search_q(self, term: str) -> Q:
        query = Q(message_id=term) | Q(idempotency_key=term) | _uuid_q(term)
        return query | (Q(to_email=term.lower()) if "@" in term else Q())

    @admin.display(description="status", ordering="status")
    def outcome(self, obj: EmailSend) -> str:
        return f"{obj.status} ({obj.reason})" if obj.reason else obj.status

    @admin.display(description="opened / clicked")
    def engagement(self, obj: EmailSend) -> str:
        done = [word for word, moment in (("opened", obj.opened_at), ("clicked", obj.clicked_at))
                if moment is not None]
        return ", ".join(done) or "—"

    @admin.display(description="rendered HTML")
    def preview(self, obj: EmailSend) -> SafeString | str:
        return preview_iframe(obj.html) if obj.html else "—"

    @admin.display(description="links")
    def links_table(self, obj: EmailSend) -> SafeString | str:
        links = obj.links.order_by("created_at", "id")
        if not links:
            return "—"
        rows = format_html_join("", "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>", (
            (admin_link(link, _link_words(link)), labels.labelled("", link.event),
             answer_value(link.event_properties) if link.event else "", link.click_count,
             times.in_words(link.semantic_emitted_at) if link.semantic_emitted_at else "")
            for link in links))
        return format_html("<table><tr><th>link</th><th>answer</th><th>clicks</th>"
                           "<th>answer recorded</th></tr>{}</table>", rows)

    @admin.display(description="clicks")
    def clicks_table(self, obj: EmailSend) -> SafeString | str:
        clicks = LinkClick.objects.filter(tracked_link__email_send=obj).select_related(
            "tracked_link").order_by("-clicked_at")[:RECENT_CLICKS]
        if not clicks:
            return "—"
        rows = format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                                "<td>{}</td></tr>", (
            (admin_link(c, times.in_words(c.clicked_at)), _link_words(c.tracked_link), c.method,
             "bot" if c.is_bot else "human", c.outcome or "—") for c in clicks))
        return format_html("<table><tr><th>at</th><th>link</th><th>method</th><th>who</th>"
                           "<th>outcome</th></tr>{}</table>", rows)

    @admin.display(description="metadata")
    def metadata_pretty(self, obj: EmailSend) -> SafeString:
        return pretty_json(obj.metadata)


def _link_words(link: TrackedLink) -> str:
    """An answer button by the answer it records ("No, still broken"), else "link"."""
    if not link.event:
        return "link"
    return labels.answer_text(link.event, link.event_properties) or link.event


@admin.register(TrackedLink)
class TrackedLinkAdmin(ReadOnlyHistoryAdmin):
    list_display = ("what", "click_count", stamp("semantic_emitted_at", "answer recorded"),
                    "send_link", stamp("created_at", "created"))
    list_display_links = ("what",)
    list_filter = ("created_at",)
    list_select_related = ("email_send",)
    raw_id_fields = ("email_send",)
    ordering = ("-created_at",)
    search_fields = ()
    search_help_text = "Exact link id or send id."

    def get_search_results(self, request: HttpRequest, queryset: QuerySet,
                           search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(_uuid_q(term) | _uuid_q(term, "email_send_id") or Q(pk=None)), False

    @admin.display(description="send")
    def send_link(self, obj: TrackedLink) -> SafeString | str:
        return admin_link(obj.email_send, obj.email_send.template_key if obj.email_send else None)

    @admin.display(description="link")
    def what(self, obj: TrackedLink) -> SafeString | str:
        """An answer button by its answer, a plain link by its (shortened) address."""
        if obj.event:
            return labels.labelled(labels.event_label(obj.event, obj.event_properties),
                                   obj.event)
        url = obj.original_url or "(erased)"
        return url if len(url) <= URL_CHARS else url[: URL_CHARS - 1] + "…"


@admin.register(LinkClick)
class LinkClickAdmin(ReadOnlyHistoryAdmin):
    list_display = (stamp("clicked_at", "clicked"), "link", "method", "is_bot", "outcome",
                    "ip_address")
    list_filter = ("outcome", "is_bot", "method", "clicked_at")
    list_select_related = ("tracked_link",)
    raw_id_fields = ("tracked_link",)
    ordering = ("-clicked_at",)

    @admin.display(description="link")
    def link(self, obj: LinkClick) -> SafeString | str:
        link = obj.tracked_link
        return admin_link(link, labels.event_label(link.event, link.event_properties)
                          if link.event else link.original_url[:URL_CHARS])


@admin.register(PendingEvent)
class PendingEventAdmin(ReadOnlyHistoryAdmin):
    """Click/open events the clock has not ingested yet (or gave up on: no due time)."""

    list_display = (stamp("created_at", "created"), "event", "email_send", stamp("due_at", "due"),
                    "attempts", "last_error")
    list_filter = ("event", ("due_at", admin.EmptyFieldListFilter))
    raw_id_fields = ("email_send",)
    ordering = ("-created_at",)


@admin.register(ProviderEvent)
class ProviderEventAdmin(ReadOnlyHistoryAdmin):
    list_display = (stamp("created_at", "received"), "esp_name", "what", "recipient",
                    "outcome", "send_link")
    list_filter = ("esp_name", "event_type", "bounce_class", "outcome", "created_at")
    list_select_related = ("email_send",)
    raw_id_fields = ("email_send",)
    ordering = ("-created_at",)
    search_fields = ("=recipient", "=message_id")

    @admin.display(description="send")
    def send_link(self, obj: ProviderEvent) -> SafeString | str:
        return admin_link(obj.email_send, obj.email_send.template_key if obj.email_send else None)

    @admin.display(description="event", ordering="event_type")
    def what(self, obj: ProviderEvent) -> str:
        return f"{obj.event_type} ({obj.bounce_class})" if obj.bounce_class else obj.event_type
