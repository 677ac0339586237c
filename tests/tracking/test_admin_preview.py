"""The send page's email preview: desktop width by default, a phone switch, still inert."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from django.urls import reverse

from tracking.admin import PREVIEW_DESKTOP_PX, PREVIEW_PHONE_PX, preview_iframe

pytestmark = pytest.mark.django_db


def preview_of(page: str) -> str:
    return page.split('<div class="hs-preview"')[1].split("</div>")[0]


def test_the_preview_opens_at_desktop_width_with_a_phone_switch(support_client, followup):
    page = support_client.get(reverse("admin:tracking_emailsend_change", args=[followup.pk]))
    preview = preview_of(page.content.decode())
    desktop, phone = re.findall(r'<input type="radio"[^>]*value="(desktop|phone)"([^>]*)>', preview)
    assert desktop[1].strip() == "checked" and phone[1].strip() == ""
    assert f"Desktop ({PREVIEW_DESKTOP_PX} px)" in preview
    assert f"Phone ({PREVIEW_PHONE_PX} px)" in preview
    assert f"width: {PREVIEW_DESKTOP_PX}px" in preview
    assert f"input[value=phone]:checked ~ .hs-preview-frame {{ width: {PREVIEW_PHONE_PX}px; }}" \
        in preview


def test_the_preview_stays_inert(support_client, followup):
    page = support_client.get(reverse("admin:tracking_emailsend_change", args=[followup.pk]))
    preview = preview_of(page.content.decode())
    assert "<iframe sandbox srcdoc=" in preview
    assert "<script" not in preview and " onclick" not in preview
    srcdoc = html_lib.unescape(preview.split('srcdoc="')[1].split('"')[0])
    assert "Did that fix it?" in srcdoc and "/v1/t/o/" not in srcdoc


def test_two_previews_on_one_page_switch_separately():
    first, second = preview_iframe("<p>a</p>"), preview_iframe("<p>b</p>")
    names = {re.search(r'name="([^"]+)"', html).group(1) for html in (first, second)}
    assert len(names) == 2
