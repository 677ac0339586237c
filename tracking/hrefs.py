"""Links in an email that props must not control.

Two rules: a prop can only make http(s) link targets, and the unsubscribe and
preference-centre links are always the engine's own (`caller_props()`).

Templates put props into links (`<a href="{{ reviewUrl }}">`), and props come
from API callers and event properties. A prop that turns a link into
`javascript:`, `data:` or `vbscript:` would run in webmail or hand the
recipient a page under the sender's name, so `links_check()` refuses the send
(`UnsafeLink`, a `TemplateRenderError`: POST /v1/emails answers 400 naming the
prop) when:

* a prop supplies the scheme of a link target and it is not http or https;
* any link target, whoever wrote it, has a scheme other than http(s), the
  hosted-answer sentinel or `TEMPLATE_SCHEMES`.

`mailto:`, `tel:` and `sms:` stay allowed when the template's own text writes
the scheme (`href="mailto:{{ supportEmail }}"`): the developer chose that link
kind, a prop only fills in the address, and none of the three can run code.
From a prop they are refused like any other non-http(s) scheme, since the
caller only ever needs to give a web address.

Schemes are read the way browsers do and then some: HTML entities decoded,
surrounding and embedded whitespace and control characters dropped, case
folded, so ` JaVa&#x09;script:` is caught. Link targets are `href`,
`xlink:href`, `action` and `formaction`; `src` is not one (an image does not
navigate, and `data:` images are legitimate). The text body needs no check:
plain text runs nothing, and its tracked-link markers only take http(s)
(tracking/links.py).
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

from tracking.exceptions import UnsafeLink

LINK_ATTRIBUTES = frozenset({"href", "xlink:href", "action", "formaction"})
WEB_SCHEMES = frozenset({"http", "https"})
TEMPLATE_SCHEMES = frozenset({"mailto", "tel", "sms"})
# tracking.templatetags.hogsend.HOSTED_ANSWER_HREF (not imported: that module
# imports the template registry, which imports this one).
ENGINE_HREFS = frozenset({"hogsend://answer"})
SCHEME_RE = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# Whitespace (Unicode included), C0/C1 controls, zero-width characters and the
# replacement character (an HTML parser's stand-in for NUL): browsers drop some
# of them around and inside a scheme; dropping them all can only find more schemes.
IGNORED_RE = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u200b-\u200d\u2060\ufeff\ufffd]+")
MAX_PROP_DEPTH = 32
# Every mention of a link attribute name (`formaction`, `xlink:href` included),
# capturing the start of its value when that is plainly a web URL.
# Matched against the lowercased HTML (four times faster than IGNORECASE).
LINK_ATTRIBUTE_RE = re.compile(r"(?:href|action)\s*=\s*(\"(?:https?://|hogsend://answer\"))?")

logger = logging.getLogger(__name__)


def links_check(*, html: str, props: dict[str, Any], template_key: str) -> None:
    """Raise `UnsafeLink` for the first link target that breaks the rules above."""
    if _all_plain_web_links(html):
        return
    for url in _link_targets(html):
        scheme = _scheme(url)
        if scheme is None or scheme in WEB_SCHEMES or url.strip() in ENGINE_HREFS:
            continue
        prop = _prop_supplying(_normalized(url), scheme, props)
        if prop is not None:
            raise UnsafeLink(f"Prop {prop!r} is used as a link target and must be an "
                             f"http(s) URL, not a {scheme}: URL")
        if scheme not in TEMPLATE_SCHEMES:
            raise UnsafeLink(f"Template {template_key!r} has a {scheme}: link; links must "
                             "be http(s) (or mailto:, tel:, sms: written in the template)")


# Caller props named like the unsubscribe or preference-centre link: the engine's
# own links always win (a caller's copy is dropped, and the engine sets
# `unsubscribeUrl` / `preferencesUrl` itself). The body's unsubscribe link must be
# the very link the List-Unsubscribe header carries: another one could lead to a
# page that does not unsubscribe, or to a look-alike page under the sender's name.
# Dropping rather than refusing the send: journey props often pass event
# properties through, and one stray `unsubscribeUrl` must not stop a run's email.
ENGINE_LINK_PROP_RE = re.compile(
    r"^(list)?unsubscribe(url|uri|link|href)$"
    r"|^(manage)?(email)?preferences?(center|centre)?(url|uri|link|href)$")


def caller_props(props: dict | None) -> dict[str, Any]:
    """A copy of the caller's props without the ones the engine owns (see above)."""
    kept = dict(props or {})
    owned = [name for name in kept if _engine_link_prop(name)]
    for name in owned:
        del kept[name]
    if owned:
        logger.warning("email props %s dropped: the unsubscribe and preference links are "
                       "the engine's own", sorted(owned))
    return kept


def _engine_link_prop(name: Any) -> bool:
    return bool(ENGINE_LINK_PROP_RE.match(re.sub(r"[^a-z]", "", str(name).lower())))


class _LinkTargets(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # HTMLParser has already decoded character references in attribute values.
        self.urls.extend(value for name, value in attrs
                         if name in LINK_ATTRIBUTES and value is not None)

    handle_startendtag = handle_starttag


def _all_plain_web_links(html: str) -> bool:
    """True when every `href=` / `action=` in the text (link attributes or not)
    is followed by a double-quoted http(s) URL or the hosted-answer sentinel
    (css-inline writes every attribute double-quoted): then no link target can be
    anything else, and the HTML need not be parsed (the usual email, and a
    parse costs about a third of a render)."""
    return all(LINK_ATTRIBUTE_RE.findall(html.lower()))


def _link_targets(html: str) -> list[str]:
    parser = _LinkTargets()
    parser.feed(html)
    parser.close()
    return parser.urls


def _normalized(url: str) -> str:
    return IGNORED_RE.sub("", url).lower()


def _scheme(url: str) -> str | None:
    match = SCHEME_RE.match(_normalized(url))
    return match.group(1) if match else None


def _prop_supplying(url: str, scheme: str, props: dict[str, Any]) -> str | None:
    """The prop that wrote `url`'s scheme: its value starts the URL, colon included
    (`href="{{ url }}"`), or holds the whole URL (HTML passed in a prop and
    rendered `|safe`). Such a prop may carry entities; both forms count.
    """
    holder = None
    for path, value in _string_props(props, "", 0):
        for form in {value, html_lib.unescape(value)}:
            text = _normalized(form)
            if text.startswith(f"{scheme}:") and (url.startswith(text) or text.startswith(url)):
                return path
            if holder is None and url in text:
                holder = path
    return holder


def _string_props(value: Any, path: str, depth: int) -> Iterator[tuple[str, str]]:
    """Every string in the props with its template path (`order.items.0.url`)."""
    if depth > MAX_PROP_DEPTH:
        return
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_props(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _string_props(item, f"{path}.{index}" if path else str(index), depth + 1)
