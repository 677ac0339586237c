"""Campaigns in the console: what each broadcast sends, to whom, when, how far it
got (a progress bar and the counts, with why people were skipped), a preview of
the email, and a cancel button.

The row belongs to the engine (code definitions and the API create campaigns;
the clock sends them): staff never edit it, they cancel it through the action or
the page's button, which call `campaign_cancel` (permission
`campaigns.change_campaign`).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from campaigns.models import Campaign, CampaignChunk
from campaigns.services import campaign_cancel
from hogsend_site.admin_tools import ReadOnlyInline, pretty_json, zoned
from hogsend_site.errors import HogsendError
from tracking.admin import preview_iframe
from tracking.selectors import template_preview

CANCEL_PERMISSION = "campaigns.change_campaign"
# A campaign page lists at most this many chunks (a 100,000-person broadcast has 1,000).
CHUNKS_SHOWN = 50

REASON_LABELS = {
    "category_unsubscribed": "left this list",
    "unsubscribed": "unsubscribed from everything",
    "suppressed": "suppressed (bounced or complained)",
    "frequency_capped": "over the frequency cap",
    "test_mode_blocked": "blocked by test mode",
}


def progress_bar(campaign: Campaign) -> SafeString | str:
    """A bar of the people processed out of the audience counted at the start."""
    total = campaign.total_recipients
    if total is None:
        return "not started"
    done = min(campaign.processed, total) if total else 0
    percent = round(100 * done / total) if total else 100
    return format_html('<progress value="{}" max="{}" style="width: 8em" '
                       'aria-label="{} of {} people">{}%</progress> {} of {}',
                       done, max(total, 1), done, total, percent, done, total)


def counts_line(campaign: Campaign) -> str:
    return (f"{campaign.sent_count:,} sent · {campaign.skipped_count:,} skipped · "
            f"{campaign.failed_count:,} failed")


class ChunkInline(ReadOnlyInline):
    model = CampaignChunk
    verbose_name_plural = f"chunks (the first {CHUNKS_SHOWN})"
    fields = ("seq", "kind", "status", "sent_count", "skipped_count", "failed_count",
              "attempts", "due_at", "done_at", "error")
    readonly_fields = fields
    ordering = ("seq",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CampaignChunk]:
        # An inline's queryset cannot be sliced: the page shows the first chunks by seq.
        return super().get_queryset(request).filter(seq__lt=CHUNKS_SHOWN)


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    change_form_template = "admin/campaigns/campaign/change_form.html"
    list_display = ("name", "status", "audience", "progress", "counts", "send_at_zoned")
    list_filter = ("status", "origin", "audience_kind", "send_at")
    search_fields = ("=id", "name", "=audience_id", "=template_key")
    search_help_text = "Campaign id, name, exact list or bucket id, or template key."
    ordering = ("-created_at",)
    actions = ("cancel_campaigns",)
    inlines = (ChunkInline,)
    fieldsets = (
        (None, {"fields": ("name", "status", "progress", "counts", "skipped_why", "note")}),
        ("What it sends", {"fields": ("template_key", "subject_line", "props_pretty",
                                      "preview")}),
        ("To whom", {"fields": ("audience", "origin")}),
        ("When", {"fields": ("send_at_zoned", "started_at_zoned", "completed_at_zoned",
                             "canceled_at_zoned", "canceled_by")}),
        ("Technical details", {"classes": ("collapse",),
                               "fields": ("id", "idempotency_key", "definition_hash",
                                          "created_at_zoned", "updated_at_zoned")}),
    )
    readonly_fields = (
        "name", "status", "progress", "counts", "skipped_why", "note", "template_key",
        "subject_line", "props_pretty", "preview", "audience", "origin", "send_at_zoned",
        "started_at_zoned", "completed_at_zoned", "canceled_at_zoned", "canceled_by", "id",
        "idempotency_key", "definition_hash", "created_at_zoned", "updated_at_zoned",
    )
    send_at_zoned = zoned("send_at", "sends at")
    started_at_zoned = zoned("started_at", "started")
    completed_at_zoned = zoned("completed_at", "finished")
    canceled_at_zoned = zoned("canceled_at", "canceled")
    created_at_zoned = zoned("created_at", "created")
    updated_at_zoned = zoned("updated_at", "updated")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # code definitions and POST /v1/campaigns create campaigns

    def has_change_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return False  # the engine owns the row; staff cancel it

    def has_delete_permission(self, request: HttpRequest, obj: Campaign | None = None) -> bool:
        return False  # the record of what was sent stays

    def has_cancel_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(CANCEL_PERMISSION)

    # --- columns and fields ---------------------------------------------------------

    @admin.display(description="progress")
    def progress(self, obj: Campaign) -> SafeString | str:
        return progress_bar(obj)

    @admin.display(description="counts")
    def counts(self, obj: Campaign) -> str:
        return counts_line(obj)

    @admin.display(description="audience", ordering="audience_id")
    def audience(self, obj: Campaign) -> str:
        noun = "list" if obj.audience_kind == Campaign.AudienceKind.LIST else "bucket"
        return f"{noun} {obj.audience_id}"

    @admin.display(description="why skipped")
    def skipped_why(self, obj: Campaign) -> SafeString | str:
        reasons = sorted((obj.skip_reasons or {}).items(), key=lambda item: -item[1])
        if not reasons:
            return "—"
        return format_html_join(", ", "{} {}", ((n, REASON_LABELS.get(reason, reason))
                                               for reason, n in reasons))

    @admin.display(description="subject")
    def subject_line(self, obj: Campaign) -> str:
        return obj.subject or "(the template's default subject)"

    @admin.display(description="props")
    def props_pretty(self, obj: Campaign) -> SafeString:
        return pretty_json(obj.props)

    @admin.display(description="preview")
    def preview(self, obj: Campaign) -> SafeString | str:
        """The email as the mailer renders it for a reader called "there" (the
        admin preview of templates: nothing is written, its links record nothing)."""
        try:
            rendered = template_preview(key=obj.template_key, props=dict(obj.props or {}))
        except HogsendError as exc:
            return f"Cannot render: {exc.message}"
        return preview_iframe(rendered.html)

    # --- cancel ---------------------------------------------------------------------

    @admin.action(description="Cancel selected campaigns", permissions=["cancel"])
    def cancel_campaigns(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        actor = request.user.get_username()
        done, refused = 0, []
        for campaign_id in queryset.values_list("pk", flat=True):
            try:
                campaign_cancel(campaign_id=campaign_id, actor=actor)
                done += 1
            except HogsendError as exc:
                refused.append(f"{campaign_id}: {exc.message}")
        self.message_user(request, f"{done} campaign(s) canceled.")
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), messages.WARNING)

    def get_urls(self) -> list[Any]:
        prefix = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("<str:campaign_id>/cancel/", self.admin_site.admin_view(self.cancel_view),
                 name=f"{prefix}_cancel"),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def cancel_view(self, request: HttpRequest, campaign_id: str) -> HttpResponse:
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        try:
            campaign_cancel(campaign_id=campaign.pk, actor=request.user.get_username())
            self.message_user(request, f"Campaign {campaign.name} canceled.")
        except HogsendError as exc:
            self.message_user(request, f"Campaign {campaign.name} not canceled: {exc.message}",
                              messages.WARNING)
        return HttpResponseRedirect(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"can_cancel": self.has_cancel_permission(request), **(extra_context or {})}
        return super().change_view(request, object_id, form_url, extra)

