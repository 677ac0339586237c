"""Semantic links for email templates: a click is an answer.

Load with `{% load hogsend %}`.

`{% email_action %}` — one answer button::

    {% email_action "support.followup_answered" answer="no" class="button" %}
      No, still broken
    {% end_email_action %}

renders ``<a href="hogsend://answer" class="button" data-hs-event="support.followup_answered"
data-hs-props='{"answer":"no"}'>No, still broken</a>``. Arguments:

* the event name, first and positional (or ``event=``);
* ``href=`` where the person lands: an absolute http(s) URL, or omitted / the
  sentinel ``hogsend://answer`` (``HOSTED_ANSWER_HREF``) for the hosted answer
  page, which shows the answer and takes a comment;
* ``class=``, ``style=``, ``title=``: copied onto the anchor;
* ``props=`` a dict merged into the properties;
* every other keyword is one property (strings, numbers, booleans or None).

At send time the mailer lifts ``data-hs-event``/``data-hs-props`` into a
`TrackedLink` row, rewrites the href to the click tracker and strips the two
attributes: the answer never travels in the email, only the link id does.

In a ``.txt`` body the same tag renders ``Label: <marker>``, and the mailer
replaces the marker with the very same tracked URL as the HTML button.

`{% survey %}` — a row of answers to one question, all on one event (one
answer slot per send and event)::

    {% survey "nps.submitted" mode="nps" %}                 11 buttons, score 0..10
    {% survey "review.rated" mode="scale" min=1 max=5 property="rating" %}
    {% survey "answer.given" mode="yesno" %}                value true / false
    {% survey "nps.submitted" mode="choices" property="band"
              choices="detractor:0–6|passive:7–8|promoter:9–10" %}

``property`` names the property that carries the value (default ``value``;
``score`` for nps); ``labels="a|b|…"`` overrides the button labels, ``href=``
the destination of every option (default the hosted answer page), and
``class=`` the buttons' class (default ``survey-button``).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from django import template
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from tracking.templates_registry import TEXT_MODE_FLAG

register = template.Library()

HOSTED_ANSWER_HREF = "hogsend://answer"
TEXT_MARKER = "[[hs:{}]]"
ANCHOR_ATTRS = ("class", "style", "title")
SCALAR_TYPES = (str, int, float, bool, type(None))


def encode_props(props: dict[str, Any]) -> str:
    """The canonical JSON of a props dict: the same text in HTML and text bodies."""
    return json.dumps(props, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def text_marker(event: str, props_json: str, href: str) -> str:
    payload = json.dumps([event, props_json, href], separators=(",", ":"))
    return TEXT_MARKER.format(base64.urlsafe_b64encode(payload.encode()).decode())


def render_action(
    *, event: str, props: dict[str, Any], href: str, label: str, attrs: dict[str, Any],
    text_mode: bool,
) -> SafeString:
    props_json = encode_props(props) if props else ""
    if text_mode:
        return mark_safe(f"{label.strip()}: {text_marker(event, props_json, href)}")
    # escape(), not format_html's conditional escaping: template string literals
    # arrive marked safe, and an attribute value must be escaped all the same.
    extra = format_html_join("", ' {}="{}"', ((k, escape(v)) for k, v in attrs.items() if v))
    if props_json:
        return format_html('<a href="{}"{} data-hs-event="{}" data-hs-props="{}">{}</a>',
                           escape(href), extra, escape(event), escape(props_json), label)
    return format_html('<a href="{}"{} data-hs-event="{}">{}</a>', escape(href), extra,
                       escape(event), label)


def _split_kwargs(kwargs: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    href = kwargs.pop("href", None) or HOSTED_ANSWER_HREF
    attrs = {name: kwargs.pop(name) for name in ANCHOR_ATTRS if name in kwargs}
    props = dict(kwargs.pop("props", None) or {})
    props.update(kwargs)
    return str(href), attrs, props


class EmailActionNode(template.Node):
    def __init__(self, args: list[Any], kwargs: dict[str, Any], nodelist: template.NodeList):
        self.args, self.kwargs, self.nodelist = args, kwargs, nodelist

    def render(self, context: template.Context) -> str:
        kwargs = {name: value.resolve(context) for name, value in self.kwargs.items()}
        args = [value.resolve(context) for value in self.args]
        event = str(kwargs.pop("event", None) or (args[0] if args else ""))
        href, attrs, props = _split_kwargs(kwargs)
        label = self.nodelist.render(context)
        return render_action(event=event, props=props, href=href, label=mark_safe(label.strip()),
                             attrs=attrs, text_mode=bool(context.get(TEXT_MODE_FLAG)))


@register.tag("email_action")
def do_email_action(parser: template.base.Parser, token: template.base.Token) -> EmailActionNode:
    bits = token.split_contents()[1:]
    args, kwargs = [], {}
    for bit in bits:
        name, sep, value = bit.partition("=")
        if sep and name.isidentifier():
            kwargs[name] = parser.compile_filter(value)
        else:
            args.append(parser.compile_filter(bit))
    nodelist = parser.parse(("end_email_action",))
    parser.delete_first_token()
    return EmailActionNode(args, kwargs, nodelist)


def _options(mode: str, *, minimum: int, maximum: int, choices: str) -> list[tuple[Any, str]]:
    if mode == "nps":
        return [(n, str(n)) for n in range(11)]
    if mode == "scale":
        return [(n, str(n)) for n in range(minimum, maximum + 1)]
    if mode == "yesno":
        return [(True, "Yes"), (False, "No")]
    if mode == "choices":
        pairs = [item.split(":", 1) for item in choices.split("|") if item.strip()]
        return [(value.strip(), (label if label else value).strip()) for value, label in pairs]
    raise template.TemplateSyntaxError(f"survey: unknown mode {mode!r}")


@register.simple_tag(takes_context=True)
def survey(
    context: template.Context, event: str, *, mode: str = "scale", property: str = "",
    min: int = 1, max: int = 5, choices: str = "", labels: str = "",
    href: str = HOSTED_ANSWER_HREF, **attrs: Any,
) -> SafeString:
    """A row of answer buttons sharing one event (see the module docstring)."""
    options = _options(mode, minimum=int(min), maximum=int(max), choices=choices)
    if labels:
        names = labels.split("|")
        options = [(value, names[i] if i < len(names) else text)
                   for i, (value, text) in enumerate(options)]
    prop = property or ("score" if mode == "nps" else "value")
    attrs.setdefault("class", "survey-button")
    text_mode = bool(context.get(TEXT_MODE_FLAG))
    buttons = [
        render_action(event=event, props={prop: value}, href=href, label=label,
                      attrs=attrs, text_mode=text_mode)
        for value, label in options
    ]
    if text_mode:
        return mark_safe("\n".join(buttons))
    cells = format_html_join("", '<td class="survey-cell">{}</td>', ((b,) for b in buttons))
    return format_html('<table role="presentation" class="survey"><tr>{}</tr></table>', cells)
