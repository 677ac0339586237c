"""Answers in the admin: every confirmed semantic answer beside its comment,
filterable by journey, event, answer value and date, exported as CSV.

An answer is the event tracking.semantic stores under `sem:<send>:<event>`; its
comment, if the person left one on the answer page, is stored under
`semc:<send>:<event>` (both keys are unique, so pairing them is an index lookup).
What the person said after it (a changed answer, more notes: tracking.semantic,
tracking.services) is shown beside the comment and exported as two more columns.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat, Substr
from django.http import HttpRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from contacts.admin import ContactSearchMixin
from hogsend_site import labels
from hogsend_site.admin_columns import stamp
from hogsend_site.admin_tools import BigTableAdminMixin, ReadOnlyAdminMixin, admin_link
from tracking.models import (
    ANSWER_KEY_PREFIX,
    CHANGED_ANSWER_KEY_PREFIX,
    CHANGED_SUFFIX,
    COMMENT_KEY_PREFIX,
    COMMENT_SUFFIX,
    LATER_NOTE_KEY_PREFIX,
    Answer,
    UserEvent,
)

ANSWER_VALUE_KEYS = ("answer", "band", "score", "rating")
# Filter choices come from the newest answers, never a DISTINCT over all of them.
CHOICES_FROM_RECENT = 2000
CSV_HEADER = ("answered_at", "event", "answer", "band", "score", "rating", "comment",
              "journey_id", "template_key", "email_send_id", "contact", "user_key", "event_id",
              "comment_event_id", "changed_to", "later_notes")
CSV_BATCH = 500
# A cell a spreadsheet would run as a formula (CSV injection) is prefixed with '.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def answer_value(properties: dict[str, Any] | None) -> str:
    """The answer in words: "answer: no", "band: detractor, score: 3"."""
    props = properties or {}
    parts = [f"{key}: {props[key]}" for key in ANSWER_VALUE_KEYS
             if props.get(key) not in (None, "")]
    return ", ".join(parts) or "—"


def with_comments(queryset: QuerySet) -> QuerySet:
    """Answers annotated with their comment's text and event id (`semc:` key)."""
    comment_key = Concat(Value(COMMENT_KEY_PREFIX),
                         Substr(OuterRef("idempotency_key"), len(ANSWER_KEY_PREFIX) + 1),
                         output_field=CharField())
    comments = UserEvent.objects.filter(idempotency_key=comment_key)
    return queryset.annotate(
        comment_text=Subquery(comments.values("properties__comment")[:1]),
        comment_id=Subquery(comments.values("pk")[:1]),
    )


def later_attach(answers: list[Any]) -> None:
    """Set on each answer what the person said after it, in two queries: its
    latest changed answer in words (`later_answer`, "" for none) and how many
    notes followed the one paired with it (`later_notes`)."""
    by_pk = {answer.pk: answer for answer in answers}
    by_send: dict[str, list[Any]] = {}
    for answer in answers:
        answer.later_answer, answer.later_notes = "", 0
        send_id = (answer.properties or {}).get("emailSendId")
        if send_id:
            by_send.setdefault(str(send_id), []).append(answer)
    if not answers:
        return
    changes = UserEvent.objects.filter(
        event__in={f"{a.event}{CHANGED_SUFFIX}" for a in answers},
        idempotency_key__startswith=CHANGED_ANSWER_KEY_PREFIX,
        properties__answerEventId__in=list(by_pk)).order_by("occurred_at", "id")
    for props in changes.values_list("properties", flat=True):
        answer = by_pk.get((props or {}).get("answerEventId"))
        if answer is not None:
            answer.later_answer = labels.answer_text(answer.event, props) or answer_value(props)
    if not by_send:
        return
    notes = UserEvent.objects.filter(
        Q(*(Q(idempotency_key__startswith=f"{LATER_NOTE_KEY_PREFIX}{send_id}:")
            for send_id in by_send), _connector=Q.OR),
        event__in={f"{a.event}{COMMENT_SUFFIX}" for a in answers})
    for event, props in notes.values_list("event", "properties"):
        for answer in by_send.get(str((props or {}).get("emailSendId")), ()):
            if event == f"{answer.event}{COMMENT_SUFFIX}":
                answer.later_notes += 1


def later_words(answer: Any) -> str:
    """ "then changed to “Yes, all sorted” · 2 more notes" ("" when nothing followed)."""
    parts = []
    if getattr(answer, "later_answer", ""):
        parts.append(f"then changed to “{answer.later_answer}”")
    notes = getattr(answer, "later_notes", 0)
    if notes:
        parts.append(f"{notes} more note{'s' if notes != 1 else ''}")
    return " · ".join(parts)


class AnswerChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        later_attach(list(self.result_list))


def _recent(request: HttpRequest) -> list[tuple[str, dict[str, Any]]]:
    """(event, properties) of the newest answers, read once per request."""
    if not hasattr(request, "_recent_answers"):
        request._recent_answers = list(
            Answer.objects.order_by("-id").values_list("event", "properties")[:CHOICES_FROM_RECENT])
    return request._recent_answers


def _json_equals(key: str, raw: str) -> Q:
    """properties[key] == raw, as a string or as the number it spells (scores)."""
    query = Q(**{f"properties__{key}": raw})
    for cast in (int, float):
        try:
            return query | Q(**{f"properties__{key}": cast(raw)})
        except ValueError:
            continue
    return query


class AnswerJourneyFilter(admin.SimpleListFilter):
    title = "journey"
    parameter_name = "journey"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        found = {str(props.get("journeyId")) for _, props in _recent(request)
                 if isinstance(props, dict) and props.get("journeyId")}
        return [(jid, jid) for jid in sorted(found | ({self.value()} - {None}))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(properties__journeyId=self.value()) if self.value() else queryset


class AnswerEventFilter(admin.SimpleListFilter):
    title = "event"
    parameter_name = "event"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        found = {event for event, _ in _recent(request)} | ({self.value()} - {None})
        return [(event, event) for event in sorted(found)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(event=self.value()) if self.value() else queryset


class AnswerValueFilter(admin.SimpleListFilter):
    """`?value=band:detractor`: one key of the answer's properties and its value."""

    title = "answer value"
    parameter_name = "value"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        found = {f"{key}:{props[key]}" for _, props in _recent(request) if isinstance(props, dict)
                 for key in ANSWER_VALUE_KEYS if props.get(key) not in (None, "")}
        found |= {self.value()} - {None}
        return [(item, item.replace(":", ": ", 1)) for item in sorted(found)]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        key, _, raw = (self.value() or "").partition(":")
        if key not in ANSWER_VALUE_KEYS:
            return queryset
        return queryset.filter(_json_equals(key, raw))


@admin.register(Answer)
class AnswerAdmin(ContactSearchMixin, ReadOnlyAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    change_list_template = "admin/tracking/answer/change_list.html"
    list_display = (stamp("occurred_at", "answered"), "answer_display", "comment_display",
                    "contact_link", "journey", "send_link")
    list_display_links = ("answer_display",)
    list_filter = (AnswerJourneyFilter, AnswerEventFilter, AnswerValueFilter, "occurred_at")
    list_select_related = ("contact",)
    ordering = ("-occurred_at", "-id")
    actions = ("export_csv",)
    search_help_text = "Exact email, external id or contact uuid, event name, or send id."
    fields = ("occurred_at", "event", "value_display", "comment_display", "contact_link",
              "user_key", "journey", "send_link", "event_link")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return with_comments(super().get_queryset(request))

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AnswerChangeList  # what each listed answer's person said later

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        answer = super().get_object(request, object_id, from_field)
        if answer is not None:
            later_attach([answer])
        return answer

    def extra_search_q(self, term: str) -> Q:
        return Q(event=term) | Q(properties__emailSendId=term)

    def get_urls(self) -> list[Any]:
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="tracking_answer_export"), *super().get_urls()]

    def export_view(self, request: HttpRequest) -> Any:
        """Every row the changelist's current search and filters select, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return HttpResponseRedirect(reverse("admin:tracking_answer_changelist"))
        return answers_csv(changelist.queryset)

    @admin.action(description="Export selected answers as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
        return answers_csv(queryset)

    @admin.display(description="answer")
    def value_display(self, obj: UserEvent) -> str:
        return answer_value(obj.properties)

    @admin.display(description="answer", ordering="event")
    def answer_display(self, obj: UserEvent) -> SafeString:
        """The button as the person saw it, the stored event and value small beside it."""
        text = labels.answer_text(obj.event, obj.properties) or answer_value(obj.properties)
        return labels.labelled(text, f"{obj.event} · {answer_value(obj.properties)}")

    @admin.display(description="comment")
    def comment_display(self, obj: UserEvent) -> SafeString | str:
        later = later_words(obj)
        later_html = (format_html('<br><small class="later-answer">{}</small>', later)
                      if later else "")
        if not getattr(obj, "comment_id", None):
            return format_html("—{}", later_html) if later else "—"
        url = reverse("admin:tracking_userevent_change", args=[obj.comment_id])
        return format_html('<a href="{}">{}</a>{}', url, obj.comment_text or "(empty)",
                           later_html)

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: UserEvent) -> SafeString | str:
        return admin_link(obj.contact) if obj.contact_id else obj.user_key

    @admin.display(description="journey")
    def journey(self, obj: UserEvent) -> str:
        return (obj.properties or {}).get("journeyId") or "—"

    @admin.display(description="email")
    def send_link(self, obj: UserEvent) -> SafeString | str:
        props = obj.properties or {}
        send_id, label = props.get("emailSendId"), props.get("templateKey") or "send"
        try:
            url = reverse("admin:tracking_emailsend_change", args=[uuid.UUID(str(send_id))])
        except (ValueError, NoReverseMatch):
            return "—"
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="stored event")
    def event_link(self, obj: UserEvent) -> SafeString | str:
        url = reverse("admin:tracking_userevent_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)


class _Echo:
    """csv.writer target that hands each formatted line back instead of buffering."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return "" if value is None else value


def _row(answer: Any) -> list[Any]:
    props = answer.properties or {}
    contact = answer.contact.email or answer.contact.key if answer.contact_id else ""
    return [_cell(value) for value in (
        answer.occurred_at.isoformat(), answer.event,
        *(props.get(key) for key in ANSWER_VALUE_KEYS), getattr(answer, "comment_text", None),
        props.get("journeyId"), props.get("templateKey"), props.get("emailSendId"), contact,
        answer.user_key, answer.pk, getattr(answer, "comment_id", None),
        getattr(answer, "later_answer", ""), getattr(answer, "later_notes", 0))]


def answers_csv(queryset: QuerySet) -> StreamingHttpResponse:
    """Stream answers (annotated by `with_comments`) as a CSV download."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(CSV_HEADER)
        batch: list[Any] = []
        for answer in queryset.select_related("contact").iterator(chunk_size=1000):
            batch.append(answer)
            if len(batch) == CSV_BATCH:
                yield from _rows(batch)
                batch = []
        yield from _rows(batch)

    def _rows(batch: list[Any]) -> Iterator[str]:
        later_attach(batch)
        for answer in batch:
            yield writer.writerow(_row(answer))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="answers-{stamp}.csv"'
    return response
