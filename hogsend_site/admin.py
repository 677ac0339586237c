"""API keys in the admin: create (the secret is shown once), see use, revoke."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html

from hogsend_site import admin_queue  # noqa: F401  (guards django-q2's task actions)
from hogsend_site.admin_tools import BigTableAdminMixin, ReadOnlyAdminMixin
from hogsend_site.auth import api_key_create, api_key_grant_check, api_keys_revoke
from hogsend_site.browser_keys import OriginError, publishable_origins_forget
from hogsend_site.models import ApiKey, AuditLog


class ApiKeyForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="ingest: events and contacts. admin: everything, ingest included. "
                  "ingest-public alone: a publishable key (pk_...) for web pages, "
                  "usable only from the allowed origins.",
    )
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Publishable keys only: one origin per line, e.g. https://app.example.com.",
    )

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "allowed_origins", "expires_at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["allowed_origins"] = "\n".join(self.instance.allowed_origins or [])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "scopes" not in cleaned:
            return cleaned
        # One per line; commas and spaces separate too (a pasted list).
        lines = [o for o in re.split(r"[\s,]+", cleaned.get("allowed_origins") or "") if o]
        try:
            scopes, origins = api_key_grant_check(scopes=cleaned["scopes"],
                                                  allowed_origins=lines)
        except ValueError as exc:
            field = "allowed_origins" if isinstance(exc, OriginError) else "scopes"
            raise forms.ValidationError({field: str(exc)}) from exc
        if self.instance.pk and self.instance.is_publishable != (scopes == [
                ApiKey.Scope.INGEST_PUBLIC]):
            # The secret's prefix says which kind it is: a new kind is a new key.
            raise forms.ValidationError(
                {"scopes": "A key cannot change between secret and publishable; "
                           "create a new key instead."})
        cleaned["scopes"], cleaned["allowed_origins"] = scopes, origins
        return cleaned


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix_display", "kind", "scopes_display", "state", "last_used_at")
    list_filter = ("revoked_at", "created_at")
    search_fields = ("name", "prefix")
    ordering = ("-created_at",)
    actions = ("revoke",)
    # The digest is never shown: it is excluded from every form and list.
    exclude = ("digest",)

    def get_fieldsets(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ((None, {"fields": ("name", "scopes", "allowed_origins", "expires_at")}),)
        return (
            (None, {"fields": ("name", "prefix_display", "kind", "scopes", "allowed_origins",
                               "expires_at")}),
            ("Use", {"fields": ("last_used_at", "revoked_at", "created_at", "updated_at")}),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        if obj is None:
            return ()
        return ("prefix_display", "kind", "last_used_at", "revoked_at", "created_at",
                "updated_at")

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # ?digest=... would let a changelist confirm a guessed secret's digest.
        if lookup.startswith("digest"):
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(description="prefix")
    def prefix_display(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="scopes")
    def scopes_display(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes or [])

    @admin.display(description="kind")
    def kind(self, obj: ApiKey) -> str:
        # The origins ride in the kind column: the list keeps to six columns, and a
        # browser key means nothing without the sites it is bound to.
        if not obj.is_publishable:
            return "secret"
        return format_html("publishable (browser)<br><small>{}</small>", self.origins_display(obj))

    @admin.display(description="allowed origins")
    def origins_display(self, obj: ApiKey) -> str:
        return ", ".join(obj.allowed_origins or []) or "–"

    @admin.display(description="state")
    def state(self, obj: ApiKey) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= timezone.now():
            return "expired"
        return "active"

    def save_model(self, request: HttpRequest, obj: ApiKey, form: forms.Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            publishable_origins_forget()
            return
        key, secret = api_key_create(
            name=obj.name, scopes=form.cleaned_data["scopes"], expires_at=obj.expires_at,
            allowed_origins=form.cleaned_data["allowed_origins"] or None,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the new row.
        obj.pk = key.pk
        obj.refresh_from_db()
        obj._state.adding = False
        messages.warning(
            request,
            format_html(
                "The secret of “{}” is <code>{}</code>. Copy it now: it is stored only "
                "as a digest and is not shown again.",
                key.name,
                secret,
            ),
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = api_keys_revoke(key_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdminMixin, BigTableAdminMixin, admin.ModelAdmin):
    """Who changed what through the admin API (append-only)."""

    list_display = ("created_at", "actor", "action", "resource", "resource_id", "ip")
    list_filter = ("resource", "action", "created_at")
    search_fields = ("actor", "resource_id")
    readonly_fields = ("created_at", "actor", "action", "resource", "resource_id", "ip", "detail")
    date_hierarchy = "created_at"
