"""Contacts in the admin: who someone is, what happened to them, and their
subscription state (staff writes go through `preference_update`, audited)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from contacts.identity import contacts_soft_delete, validate_timezone
from contacts.models import (
    Contact,
    ContactAlias,
    EmailPreference,
    ErasureRecord,
    PreferenceChange,
    normalize_email,
)
from contacts.preferences import (
    LIST_ID_RE,
    contact_preferences_set,
    preference_update,
    preferences_of,
    unsubscribed_from_all,
)
from contacts.timeline import TIMELINE_MAX, TIMELINE_STEP, contact_timeline, describe_changes
from hogsend_site import times
from hogsend_site.admin_columns import stamp
from hogsend_site.admin_tools import (
    BigTableAdminMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    admin_link,
    html_table,
    pretty_json,
)
from hogsend_site.errors import HogsendError
from hogsend_site.ratelimit import client_ip

# How many preference audit rows the contact page shows.
AUDIT_ROWS = 50
# The properties table spells out at most this many keys (nested ones as a.b).
PROPERTY_ROWS = 100
PREFERENCE_PERMISSION = "contacts.change_emailpreference"

# Lists (categories) are defined in tracking, above this app: tracking/admin.py
# registers a function giving (list id, name, subscribed?) for merged categories.
TopicsFn = Callable[[dict[str, Any]], list[tuple[str, str, bool]]]
_topics: list[TopicsFn] = []


def register_topics(fn: TopicsFn) -> None:
    _topics[:] = [fn]


def merged_categories(rows: list[EmailPreference]) -> dict[str, Any]:
    """Every row's list switches at once; an explicit False in any row wins."""
    merged: dict[str, Any] = {}
    for row in rows:
        for key, value in (row.categories or {}).items():
            if merged.get(key) is not False:
                merged[key] = value
    return merged


def contact_search_q(term: str, *, prefix: str = "") -> Q:
    """Exact, index-backed matches for a contact: uuid, email, external or anonymous id.

    Substring search (`icontains`) would scan the whole contacts table.
    """
    term = term.strip()
    query = Q(**{f"{prefix}external_id": term}) | Q(**{f"{prefix}anonymous_id": term})
    if "@" in term:
        query |= Q(Exact(Lower(f"{prefix}email"), normalize_email(term)))
    try:
        query |= Q(**{f"{prefix}pk": uuid.UUID(term)})
    except ValueError:
        pass
    return query


class ContactSearchMixin:
    """Search rows by their contact's exact keys, or by `extra_search_q` of the row."""

    contact_prefix = "contact__"
    search_help_text = "Exact email, external id, anonymous id or contact uuid."

    def extra_search_q(self, term: str) -> Q:
        return Q()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        query = contact_search_q(term, prefix=self.contact_prefix) | self.extra_search_q(term)
        return queryset.filter(query), False


class LiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("live", "Live"), ("deleted", "Deleted (merged or removed)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "live":
            return queryset.filter(deleted_at__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


class ContactAliasInline(ReadOnlyInline):
    model = ContactAlias
    fk_name = "contact"
    fields = ("kind", "value", "from_contact_id", "reason", "added")
    readonly_fields = fields

    @admin.display(description="added")
    def added(self, obj: ContactAlias) -> str:
        return times.in_words(obj.created_at)


class EmailPreferenceInline(ReadOnlyInline):
    model = EmailPreference
    fields = ("link", "user_key", "unsubscribed_all", "suppressed", "lists", "bounce_count")
    readonly_fields = fields

    @admin.display(description="address")
    def link(self, obj: EmailPreference) -> SafeString | str:
        return admin_link(obj, obj.email)

    @admin.display(description="lists set on this row")
    def lists(self, obj: EmailPreference) -> str:
        return ", ".join(f"{key}: {'on' if value else 'off'}"
                         for key, value in sorted((obj.categories or {}).items())) or "—"


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ("external_id", "email", "anonymous_id", "timezone", "properties")

    def clean_email(self) -> str | None:
        # Stored trimmed and lowercased, as every write path does, so a lookup by
        # address finds the contact whatever case the caller typed.
        return normalize_email(self.cleaned_data.get("email"))

    def clean_timezone(self) -> str:
        name = (self.cleaned_data.get("timezone") or "").strip()
        if name:
            try:
                validate_timezone(name)
            except HogsendError as exc:
                raise forms.ValidationError(exc.message) from exc
        return name


@admin.register(Contact)
class ContactAdmin(ContactSearchMixin, BigTableAdminMixin, admin.ModelAdmin):
    """A person at a glance: who, subscriptions, properties as a table, and one
    timeline of everything about them. Staff without the change permission (the
    support group) read it all and write only through the audited switches."""

    form = ContactForm
    contact_prefix = ""
    search_help_text = "Exact email, external id, anonymous id or uuid."
    list_display = ("__str__", "external_id", "timezone", stamp("last_seen_at", "last seen"),
                    "is_live")
    list_filter = (LiveFilter, "last_seen_at")
    search_fields = ("=email", "=external_id", "=anonymous_id")
    ordering = ("-last_seen_at",)
    actions = ("soft_delete",)
    inlines = (ContactAliasInline, EmailPreferenceInline)
    change_form_template = "admin/contacts/contact/change_form.html"
    readonly_fields = ("id", "key", "properties_table", "first_seen", "last_seen", "created",
                       "updated", "deleted", "preference_audit")
    fieldsets = (
        ("Identity", {"fields": ("id", "key", "external_id", "email", "anonymous_id",
                                 "timezone")}),
        ("Properties", {"fields": ("properties",)}),
        ("Activity", {"fields": ("first_seen", "last_seen", "created", "updated", "deleted")}),
        ("Preference audit", {"fields": ("preference_audit",),
                              "description": "Every subscription change: who, when, what, "
                                             "from where."}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None) -> Any:
        # A new contact has no history yet: only the identity fields.
        if obj is None:
            return self.fieldsets[:2]
        if self.has_change_permission(request, obj):
            return self.fieldsets
        # Readers get the properties as a table, never the JSON the form edits.
        return tuple((name, {**options, "fields": ("properties_table",)})
                     if name == "Properties" else (name, options)
                     for name, options in self.fieldsets)

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [path("<uuid:contact_id>/preferences/", wrap(self.preferences_view),
                     name="contacts_contact_preferences"), *super().get_urls()]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        contact = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if contact is not None and self.has_view_or_change_permission(request, contact):
            extra["support_panel"] = support_panel(contact)
            extra["can_write_preferences"] = request.user.has_perm(PREFERENCE_PERMISSION)
            extra["timeline"] = timeline_context(contact, request.GET.get("timeline"))
            # Buckets sit above contacts (they read them), so imported when used.
            from buckets.admin import contact_membership_rows

            extra["bucket_memberships"] = contact_membership_rows(contact)
            extra["can_manage_buckets"] = request.user.has_perm("buckets.change_bucketmembership")
        return super().change_view(request, object_id, form_url, extra)

    @method_decorator(require_POST)
    def preferences_view(self, request: HttpRequest, contact_id: uuid.UUID) -> HttpResponse:
        """The contact page's subscription buttons: everything, or one list."""
        if not request.user.has_perm(PREFERENCE_PERMISSION):
            raise PermissionDenied
        contact = get_object_or_404(Contact, pk=contact_id)
        change = _preference_change(request.POST)
        if change is None:
            self.message_user(request, "Unknown preference change.", messages.ERROR)
        else:
            fields, done = change
            try:
                contact_preferences_set(contact=contact, source=PreferenceChange.Source.STAFF,
                                        actor=request.user.get_username(), **fields)
                self.message_user(request, f"{contact}: {done}.")
            except HogsendError as exc:
                self.message_user(request, f"{contact}: nothing changed ({exc.message}).",
                                  messages.ERROR)
        return HttpResponseRedirect(reverse("admin:contacts_contact_change", args=[contact.pk]))

    @admin.display(description="live", boolean=True)
    def is_live(self, obj: Contact) -> bool:
        return obj.deleted_at is None

    @admin.display(description="canonical key")
    def key(self, obj: Contact) -> str:
        return obj.key

    @admin.display(description="properties")
    def properties_table(self, obj: Contact) -> SafeString | str:
        return html_table(("property", "value"), property_rows(obj.properties))

    @admin.display(description="first seen")
    def first_seen(self, obj: Contact) -> str:
        return times.both(obj.first_seen_at, times.zone_or_none(obj.timezone))

    @admin.display(description="last seen")
    def last_seen(self, obj: Contact) -> str:
        return times.both(obj.last_seen_at, times.zone_or_none(obj.timezone))

    @admin.display(description="created")
    def created(self, obj: Contact) -> str:
        return times.in_words(obj.created_at)

    @admin.display(description="updated")
    def updated(self, obj: Contact) -> str:
        return times.in_words(obj.updated_at)

    @admin.display(description="deleted (merged or removed)")
    def deleted(self, obj: Contact) -> str:
        return times.in_words(obj.deleted_at)

    @admin.display(description=f"last {AUDIT_ROWS} preference changes")
    def preference_audit(self, obj: Contact) -> SafeString | str:
        return html_table(("when", "who", "from where", "address", "what changed"),
                          preference_audit_rows(obj))

    @admin.action(description="Soft-delete selected contacts (frees their keys)",
                  permissions=["delete"])
    def soft_delete(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        count = contacts_soft_delete(contact_ids=list(queryset.values_list("pk", flat=True)),
                                     actor=request.user.get_username(), ip=client_ip(request))
        self.message_user(request, f"Soft-deleted {count} contact(s).")


def _preference_change(post: Any) -> tuple[dict[str, Any], str] | None:
    """The service arguments for a button of the panel, and what it did in words."""
    action = post.get("action")
    if action == "unsubscribe_all":
        return {"unsubscribed_all": True}, "unsubscribed from everything"
    if action == "resubscribe_all":
        return {"unsubscribed_all": False}, "resubscribed"
    category = (post.get("category") or "").strip()
    if action == "category" and LIST_ID_RE.match(category) and post.get("subscribed") in ("0", "1"):
        subscribed = post.get("subscribed") == "1"
        verb = "subscribed to" if subscribed else "unsubscribed from"
        return {"categories": {category: subscribed}}, f"{verb} {category}"
    return None


def support_panel(contact: Contact) -> dict[str, Any]:
    """What the top of the contact page shows: who, their local time, and their
    subscription state aggregated over every preference row (as sends see it).

    Each list reads as sends see it: while the address is suppressed or
    unsubscribed from everything, every list is off whatever its own switch
    says, and says why."""
    rows = preferences_of(contact=contact, email=contact.email or None)
    merged = merged_categories(rows)
    topics = _topics[0](merged) if _topics else [(k, k, v) for k, v in sorted(merged.items())]
    suppressed = any(row.suppressed for row in rows)
    unsubscribed_all = unsubscribed_from_all(rows)
    override = ("address suppressed" if suppressed
                else "unsubscribed from everything" if unsubscribed_all else "")
    return {
        "contact": contact,
        "local_time": _local_time(contact),
        "unsubscribed_all": unsubscribed_all,
        "suppressed": suppressed,
        "override": override,
        "topics": [{"id": list_id, "name": name, "own": own, "on": own and not override}
                   for list_id, name, own in topics],
        "rows": rows,
    }


def _local_time(contact: Contact) -> tuple[str, str]:
    """The contact's zone name and their clock now, in words with its zone."""
    name = contact.timezone or settings.DEFAULT_TIMEZONE
    zone = times.zone_or_none(name) or times.staff_zone()
    return name, times.in_words(timezone.now(), zone)


def timeline_context(contact: Contact, raw_limit: str | None) -> dict[str, Any]:
    """The page's timeline: entries with their times in words, and "show more"."""
    try:
        limit = min(max(int(raw_limit or TIMELINE_STEP), 1), TIMELINE_MAX)
    except ValueError:
        limit = TIMELINE_STEP
    entries, more = contact_timeline(contact=contact, limit=limit)
    zone = times.zone_or_none(contact.timezone)
    return {
        "rows": [{"entry": entry, "when": times.in_words(entry.at),
                  "theirs": times.local_beside(entry.at, zone)} for entry in entries],
        "more": limit + TIMELINE_STEP if more and limit < TIMELINE_MAX else None,
        "zone": times.zone_abbreviation(timezone.now().astimezone(times.staff_zone())),
    }


def property_rows(properties: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Properties as (key, value) rows: nested objects as dotted keys, lists and
    scalars as text (at most PROPERTY_ROWS rows)."""
    if not isinstance(properties, dict):
        return [(prefix or "value", _text(properties))] if properties not in (None, "") else []
    rows: list[tuple[str, str]] = []
    for key, value in properties.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            rows += property_rows(value, name)
        else:
            rows.append((name, _text(value)))
        if len(rows) >= PROPERTY_ROWS:
            return [*rows[:PROPERTY_ROWS], ("…", "more on the raw JSON (superusers)")]
    return rows


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def preference_audit_rows(contact: Contact) -> list[tuple[Any, ...]]:
    row_ids = [row.pk for row in preferences_of(contact=contact, email=contact.email or None)]
    changes = (PreferenceChange.objects.filter(Q(contact=contact) | Q(preference_id__in=row_ids))
               .select_related("preference").order_by("-created_at", "-id")[:AUDIT_ROWS])
    return [(times.in_words(c.created_at), c.actor or "—", c.source, c.preference.email,
             describe_changes(c.changes)) for c in changes]


@admin.register(ContactAlias)
class ContactAliasAdmin(ContactSearchMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("kind", "value", "contact_link", "reason", stamp("created_at", "added"))
    list_filter = ("kind", "reason")
    search_fields = ("=value", "=contact__email", "=contact__external_id")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)

    def extra_search_q(self, term: str) -> Q:
        return Q(value=term) | Q(value=normalize_email(term))

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: ContactAlias) -> SafeString | str:
        return admin_link(obj.contact)


class PreferenceChangeInline(ReadOnlyInline):
    model = PreferenceChange
    fields = ("created_at", "source", "actor", "changes")
    readonly_fields = fields
    ordering = ("-created_at",)


class EmailPreferenceForm(forms.ModelForm):
    class Meta:
        model = EmailPreference
        fields = ("unsubscribed_all", "suppressed", "categories")

    def clean_categories(self) -> dict[str, bool]:
        categories = self.cleaned_data.get("categories") or {}
        if not isinstance(categories, dict) or not all(
            isinstance(v, bool) for v in categories.values()
        ):
            raise forms.ValidationError('Use {"list-id": true|false, ...}.')
        return categories


@admin.register(EmailPreference)
class EmailPreferenceAdmin(ContactSearchMixin, BigTableAdminMixin, admin.ModelAdmin):
    form = EmailPreferenceForm
    list_display = ("email", "contact_link", "unsubscribed_all", "suppressed", "bounce_count",
                    stamp("updated_at", "updated"))
    list_filter = ("unsubscribed_all", "suppressed", "updated_at")
    search_fields = ("=email", "=user_key")
    list_select_related = ("contact",)
    raw_id_fields = ("contact",)
    readonly_fields = ("contact_link", "user_key", "email", "bounce_count", "suppressed_at",
                       "last_bounce_at", "created_at", "updated_at")
    fieldsets = (
        ("Recipient", {"fields": ("email", "user_key", "contact_link")}),
        ("Subscription", {"fields": ("unsubscribed_all", "suppressed", "categories"),
                          "description": "Changes are recorded in the audit below."}),
        ("Bounces", {"fields": ("bounce_count", "suppressed_at", "last_bounce_at")}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )
    inlines = (PreferenceChangeInline,)
    actions = ("unsubscribe_all", "resubscribe_all")

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Rows are made by sends, links and the API for a (key, address) pair.
        return False

    def extra_search_q(self, term: str) -> Q:
        return Q(email=normalize_email(term)) | Q(user_key=term)

    @admin.display(description="contact", ordering="contact")
    def contact_link(self, obj: EmailPreference) -> SafeString | str:
        return admin_link(obj.contact)

    def save_model(self, request: HttpRequest, obj: EmailPreference, form: forms.Form,
                   change: bool) -> None:
        # The one audited write path, never a bare save().
        preference_update(
            contact=obj.contact, email=obj.email, user_key=obj.user_key,
            unsubscribed_all=form.cleaned_data["unsubscribed_all"],
            suppressed=form.cleaned_data["suppressed"],
            categories=form.cleaned_data["categories"],
            source=PreferenceChange.Source.STAFF, actor=request.user.get_username(),
        )

    @admin.action(description="Unsubscribe selected addresses from everything",
                  permissions=["change"])
    def unsubscribe_all(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_all(request, queryset, unsubscribed_all=True)

    @admin.action(description="Resubscribe selected addresses", permissions=["change"])
    def resubscribe_all(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_all(request, queryset, unsubscribed_all=False)

    def _set_all(self, request: HttpRequest, queryset: QuerySet, *, unsubscribed_all: bool) -> None:
        for pref in queryset.select_related("contact"):
            preference_update(
                contact=pref.contact, email=pref.email, user_key=pref.user_key,
                unsubscribed_all=unsubscribed_all, source=PreferenceChange.Source.STAFF,
                actor=request.user.get_username(),
            )
        self.message_user(request, f"Updated {queryset.count()} preference row(s).")


@admin.register(PreferenceChange)
class PreferenceChangeAdmin(ReadOnlyAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    list_display = (stamp("created_at", "when"), "preference_link", "source", "actor",
                    "what_changed")
    list_filter = ("source", "created_at")
    search_fields = ("=preference__email", "=actor")
    list_select_related = ("preference", "contact")
    raw_id_fields = ("preference", "contact")
    fields = ("created_at", "preference_link", "contact", "source", "actor", "changes_pretty")
    readonly_fields = fields

    @admin.display(description="preference")
    def preference_link(self, obj: PreferenceChange) -> SafeString | str:
        return admin_link(obj.preference, obj.preference.email)

    @admin.display(description="what changed")
    def what_changed(self, obj: PreferenceChange) -> str:
        return describe_changes(obj.changes)

    @admin.display(description="changes (before, after)")
    def changes_pretty(self, obj: PreferenceChange) -> SafeString:
        return pretty_json(obj.changes)




@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (stamp("created_at", "erased"), "contact_id", "actor", "counts")
    list_filter = ("created_at",)
    search_fields = ("=contact_id", "=actor")
    fields = ("created_at", "contact_id", "actor", "counts_pretty")
    readonly_fields = fields

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(contact_id=uuid.UUID(term)), False
        except ValueError:
            return queryset.filter(actor=term), False

    @admin.display(description="erased rows")
    def counts_pretty(self, obj: ErasureRecord) -> SafeString:
        return pretty_json(obj.counts)
