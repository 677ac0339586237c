"""Public pages reached from an email: click, open pixel, answer, unsubscribe, preferences.

No login and no session: possession of a random link id (click, answer) or a
signed token (unsubscribe, preferences) is the authorisation. The pages are
`csrf_exempt` because mail clients POST one-click unsubscribes without a CSRF
cookie; the answer form carries a per-link signed token instead, and every
POST is rate-limited per IP (`HOSTED_PAGE_RATE_LIMIT`).
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from contacts.tokens import (
    ExpiredToken,
    InvalidToken,
    PreferenceToken,
    token_make,
    token_read,
)
from hogsend_site.client_ip import client_ip
from hogsend_site.ratelimit import rate_limit_hit
from tracking import bots, semantic, unsubscribe
from tracking.answer_page import answer_page
from tracking.forms import CommentForm, PreferencesForm, answer_form_token, answer_form_token_ok
from tracking.models import TrackedLink
from tracking.services import NoteOutcome, answer_note_record, click_record, open_record

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_CACHE = {"Cache-Control": "no-store, no-cache, must-revalidate", "Pragma": "no-cache",
            "Expires": "0"}
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                "X-Robots-Tag": "noindex"}


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _link(link_id: str) -> TrackedLink | None:
    pk = _uuid(link_id)
    if pk is None:
        return None
    return TrackedLink.objects.select_related("email_send").filter(pk=pk).first()


def _page(request: HttpRequest, template: str, context: dict[str, Any] | None = None,
          status: int = 200) -> HttpResponse:
    response = render(request, f"tracking/{template}", context or {}, status=status)
    for name, value in PAGE_HEADERS.items():
        response[name] = value
    return response


def _throttled(request: HttpRequest, scope: str) -> HttpResponse | None:
    rate = getattr(settings, "HOSTED_PAGE_RATE_LIMIT", "30/min")
    wait = rate_limit_hit(scope=scope, key=client_ip(request), rate=rate)
    if wait is None:
        return None
    response = _page(request, "message.html", {
        "title": "Slow down a little", "body": "Too many requests. Please try again shortly."},
        status=429)
    response["Retry-After"] = str(wait)
    return response


# --- click and open -------------------------------------------------------------------


def _tracking_allowed(request: HttpRequest, scope: str) -> bool:
    """Within the per-IP limit (TRACKING_RATE_LIMIT) for writing anything at all.

    Over it the hit still gets its redirect or pixel, so a person behind a busy
    address never sees an error, but costs no more than a cache increment."""
    rate = getattr(settings, "TRACKING_RATE_LIMIT", "600/min")
    return rate_limit_hit(scope=scope, key=client_ip(request), rate=rate) is None


@never_cache
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, link_id: str) -> HttpResponse:
    """Record the hit and redirect at once; unknown or malformed ids go home.

    So does a link whose URL was erased (contacts/erasure.py), unrecorded: its
    person asked to be forgotten (and an empty Location would loop on itself)."""
    link = _link(link_id)
    if link is None or link.is_erased:
        return HttpResponseRedirect(settings.PUBLIC_BASE_URL)
    if _tracking_allowed(request, "tracking-click"):
        click_record(link=link, ip=client_ip(request),
                     user_agent=request.headers.get("User-Agent", ""),
                     method=request.method or "GET", is_bot=bots.is_prefetch(request.headers))
    response = HttpResponseRedirect(link.original_url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, send_id: str) -> HttpResponse:
    """The 42-byte GIF, always (even for unknown ids, erased sends and hits over the
    limits), never cached."""
    pk = _uuid(send_id)
    if pk is not None and _tracking_allowed(request, "tracking-open"):
        open_record(send_id=pk)
    return HttpResponse(PIXEL, content_type="image/gif", headers=NO_CACHE)


# --- hosted answer page ---------------------------------------------------------------


def _answerable(link: TrackedLink) -> bool:
    """A semantic link, neither it nor its send erased (contacts/erasure.py): an
    erased person's answer page looks like an unknown link's and takes nothing."""
    if not link.is_semantic or link.is_erased:
        return False
    return link.email_send is None or not link.email_send.is_erased


# A note the page could not keep says so with its status, never as a 500.
NOTE_STATUS = {NoteOutcome.OVER_LIMIT: 429, NoteOutcome.FAILED: 503, NoteOutcome.REFUSED: 400}


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request: HttpRequest, link_id: str) -> HttpResponse:
    link = _link(link_id)
    if link is None or not _answerable(link):
        return _page(request, "message.html", {"title": "Nothing here",
                     "body": "This link doesn't lead anywhere."}, status=404)
    form = CommentForm(initial={"form_token": answer_form_token(link.pk)})
    if request.method == "POST":
        throttled = _throttled(request, "answer-comment")
        if throttled is not None:
            return throttled
        form = CommentForm(request.POST)
        if not answer_form_token_ok(request.POST.get("form_token", ""), link.pk):
            return _page(request, "message.html", {"title": "This form has expired",
                         "body": "Please open the link from your email again."}, status=400)
        if form.is_valid():
            note = form.cleaned_data["comment"]
            outcome = answer_note_record(link=link, comment=note)
            return _page(request, "thanks.html", {
                "page": answer_page(link), "note": note, "outcome": outcome},
                status=NOTE_STATUS.get(outcome, 200))
    beacon_url = reverse("tracking-public:answer-beacon", args=[link.pk])
    return _page(request, "answer.html", {"page": answer_page(link), "form": form,
                                          "beacon_url": beacon_url},
                 status=400 if form.is_bound else 200)


@csrf_exempt
@require_POST
def answer_beacon(request: HttpRequest, link_id: str) -> HttpResponse:
    """The answer page's script saw the person (a trusted pointer or key event on
    the visible, focused page): confirm her click now, not in ~30 s. The link's
    signed form token is the CSRF protection; 204 whatever became of the click."""
    wait = rate_limit_hit(scope="answer-beacon", key=client_ip(request),
                          rate=getattr(settings, "HOSTED_PAGE_RATE_LIMIT", "30/min"))
    if wait is not None:
        return HttpResponse(status=429, headers={"Retry-After": str(wait)})
    link = _link(link_id)
    if link is None or not _answerable(link):
        return HttpResponse(status=404)
    if not answer_form_token_ok(request.POST.get("form_token", ""), link.pk):
        return HttpResponse(status=400)
    semantic.click_confirm_on_beacon(link=link)
    return HttpResponse(status=204, headers=NO_CACHE)


# --- unsubscribe and preference centre --------------------------------------------------


def _token(request: HttpRequest) -> PreferenceToken | InvalidToken:
    """The request's verified token, or the reason it has none (never raised)."""
    try:
        return token_read(request.GET.get("token") or request.POST.get("token") or "")
    except InvalidToken as exc:
        return exc


def _invalid_token(request: HttpRequest, error: InvalidToken) -> HttpResponse:
    """Unsubscribe and preference links never expire, so this is a forged or
    mangled link, or an old `resubscribe` link. The latter is still signed for
    one person: that person is offered a fresh unsubscribe and the preference
    centre, never a dead end (the next button would be "report spam")."""
    if isinstance(error, ExpiredToken):
        token = error.token
        return _page(request, "expired.html", {
            "token": token, "what": unsubscribe.category_label(token.category),
            "unsubscribe_url": _unsubscribe_url(token), "manage_url": _manage_url(token)},
            status=400)
    return _page(request, "message.html", {
        "title": "This link doesn't work",
        "body": "This link is incomplete or was changed. Use the unsubscribe link in any of "
                "our emails, or reply to one and we'll sort it out."}, status=400)


def _unsubscribe_url(token: PreferenceToken) -> str:
    fresh = token_make(key=token.key, email=token.email, action="unsubscribe",
                       category=token.category)
    return f"{settings.PUBLIC_BASE_URL}/v1/email/unsubscribe?token={fresh}"


def _manage_url(token: PreferenceToken) -> str:
    manage = token_make(key=token.key, email=token.email, action="manage")
    return f"{settings.PUBLIC_BASE_URL}/v1/email/preferences?token={manage}"


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_page(request: HttpRequest) -> HttpResponse:
    """GET confirms and changes nothing, since link scanners fetch every URL; POST acts.

    POST is RFC 8058's one-click (`List-Unsubscribe=One-Click`) or this page's button.
    """
    token = _token(request)
    if isinstance(token, InvalidToken):
        return _invalid_token(request, token)
    context = {"token": token, "what": unsubscribe.category_label(token.category),
               "resubscribe": token.action == "resubscribe", "manage_url": _manage_url(token)}
    if request.method != "POST":
        return _page(request, "unsubscribe.html", context)
    throttled = _throttled(request, "unsubscribe")
    if throttled is not None:
        return throttled
    unsubscribe.unsubscribe_apply(token)
    return _page(request, "unsubscribed.html", context)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def preferences_page(request: HttpRequest) -> HttpResponse:
    token = _token(request)
    if isinstance(token, InvalidToken):
        return _invalid_token(request, token)
    unsubscribed_all, topics = unsubscribe.preference_topics(token)
    choices = [(t.id, t.name, t.description) for t in topics]
    saved = False
    if request.method == "POST":
        throttled = _throttled(request, "preferences")
        if throttled is not None:
            return throttled
        form = PreferencesForm(request.POST, topics=choices)
        if form.is_valid():
            unsubscribe.preferences_save(token, unsubscribed_all=form.cleaned_data[
                "unsubscribed_all"], topics=form.topic_choices())
            unsubscribed_all, topics = unsubscribe.preference_topics(token)
            saved = True
    initial = {"unsubscribed_all": unsubscribed_all,
               **{f"topic_{t.id}": t.subscribed for t in topics}}
    form = PreferencesForm(initial=initial, topics=choices)
    return _page(request, "preferences.html", {"form": form, "token": token, "saved": saved,
                                                "unsubscribed_all": unsubscribed_all})
