"""A plain link marked data-hs-track="off" goes straight to its target (the support
inbox's links into the console); answers are always tracked."""

from __future__ import annotations

import uuid

import pytest

from tracking.exceptions import SemanticLinkError
from tracking.links import plan_links

BASE = "https://mail.example.com"
CONSOLE = "https://hogsend.example.com/admin/alerts/alert/7/change/"


def test_a_link_marked_untracked_keeps_its_href_and_loses_the_marker():
    html = (f'<a href="{CONSOLE}" class="button" data-hs-track="off">Open</a> '
            '<a href="https://example.com/docs">Docs</a>')
    rewritten, _, links = plan_links(send_id=uuid.uuid4(), html=html, text="", base_url=BASE)
    assert f'<a href="{CONSOLE}" class="button">Open</a>' in rewritten
    assert "data-hs-track" not in rewritten
    assert [link.original_url for link in links] == ["https://example.com/docs"]


def test_an_answer_link_is_tracked_whatever_it_says():
    html = ('<a href="https://example.com/thanks" data-hs-event="support.followup_answered" '
            'data-hs-props=\'{"answer": "no"}\' data-hs-track="off">No</a>')
    rewritten, _, links = plan_links(send_id=uuid.uuid4(), html=html, text="", base_url=BASE)
    assert f'href="{BASE}/v1/t/c/{links[0].id}"' in rewritten
    assert links[0].event == "support.followup_answered"


def test_the_marker_does_not_excuse_an_unsafe_semantic_link():
    with pytest.raises(SemanticLinkError):
        plan_links(send_id=uuid.uuid4(), base_url=BASE, text="",
                   html='<a href="/relative" data-hs-event="x.y" data-hs-track="off">x</a>')
