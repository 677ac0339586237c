"""Render an email template once per batch and fill each recipient's values in.

A 09:00 wave sends one template to thousands of people whose emails differ only
in a few values: the greeting's name, the unsubscribe and preference tokens, a
ticket id in the text and in the answer buttons' properties. Rendering the
template, inlining its CSS and planning its links for each of them is most of
a send's Python CPU. Instead, a batch renders the template once with unique
placeholder strings in those values ("the skeleton"), splits the finished HTML
and text on them, and for each recipient joins the pieces with that
recipient's values, escaped as the full render would have escaped them, fresh
tracked-link ids and the send's own id.

A value is filled in only where that is provably the same as rendering it:

- the template (with its parents and includes) is walked once; a prop qualifies
  only if every use of it is `{{ prop }}` without filters, `{% if prop %}`, or a
  property of `{% email_action %}`. Any other use (a filter, a comparison, a
  `{% with %}`, a tag this module does not know) makes the prop part of the
  skeleton's key instead, and a tag it does not know at all makes the template
  render in full for every recipient;
- the value is a plain non-empty `str` without surrounding whitespace, carriage
  returns, NULs or text-body link markers (anything else keys the skeleton);
- in the HTML, the placeholder sits in text (escaped as css-inline's serializer
  writes text: `&`, `<`, `>`, no-break space), in an `alt`/`title` attribute
  outside a link (`&`, `"`, no-break space), or, for the engine's own
  unsubscribe and preference links, as the token at the end of the URL;
- no placeholder reaches a link's destination or event, and every link target
  of the skeleton is a plain http(s) URL (so the link-safety check cannot
  depend on the values).

Each skeleton is checked when it is built: a full render with probe values full
of characters that need escaping must equal the skeleton filled with the same
values, links included; if not, that shape renders in full (and says so in the
log). Outside a batch (`batch_renders()`), or for a shape that cannot be split,
every send renders in full, exactly as before.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.template import engines
from django.template.base import FilterExpression, Node, TextNode, Variable, VariableNode
from django.template.defaulttags import (
    CommentNode,
    ForNode,
    IfNode,
    LoadNode,
    TemplateLiteral,
    WithNode,
)
from django.template.library import SimpleNode
from django.template.loader_tags import BlockNode, ExtendsNode, IncludeNode
from django.utils.safestring import SafeData

from hogsend_site.brand import brand_current
from tracking import hrefs, templates_registry
from tracking.links import MAX_PROPS_CHARS, inject_open_pixel, plan_links
from tracking.rows import LinkRow
from tracking.templatetags import hogsend

logger = logging.getLogger(__name__)

# The engine's own links end in a signed token: only the token is filled in.
TOKEN_PROPS = {"unsubscribeUrl": "/v1/email/unsubscribe?token=",
               "preferencesUrl": "/v1/email/preferences?token="}
TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-.:]+$")
# email_action keywords that are not properties of the answer.
ACTION_NON_PROPS = frozenset({"event", "href", "props", *hogsend.ANCHOR_ATTRS})
FILLABLE_ATTRS = frozenset({"alt", "title"})
RAW_TEXT_TAGS = ("style", "script")

_NONCE = uuid.uuid4().hex[:12]
_PLACEHOLDER_RE = re.compile(rf"hsskel{_NONCE}v(\d+)z")
_IN_LINK_TARGET_RE = re.compile(rf"""(?:href|action)\s*=\s*"[^"]*?hsskel{_NONCE}v(\d+)z""",
                                re.IGNORECASE)


def _placeholder(index: int) -> str:
    return f"hsskel{_NONCE}v{index}z"


# --- which props may be filled in (template analysis) --------------------------------


PLAIN, TRUTH, PROP, OPAQUE = "plain", "truth", "prop", "opaque"


class _Unsplittable(Exception):
    """The template holds something whose use of the context is not known here."""


def template_uses(key: str) -> dict[str, set[str]] | None:
    """Each context name the template reads -> how it is used; None when unknown."""
    backend = engines["django"]
    uses: dict[str, set[str]] = {}
    try:
        for suffix in ("html", "txt"):
            template = backend.get_template(f"{templates_registry.EMAIL_DIR}/{key}.{suffix}")
            _walk(template.template.nodelist, uses, seen=set())
    except _Unsplittable as exc:
        logger.debug("template %s renders in full: %s", key, exc)
        return None
    return uses


def _walk(nodes: Any, uses: dict[str, set[str]], seen: set[str]) -> None:
    for node in nodes:
        _walk_node(node, uses, seen)


def _walk_node(node: Node, uses: dict[str, set[str]], seen: set[str]) -> None:
    if isinstance(node, TextNode | LoadNode | CommentNode):
        return
    if isinstance(node, VariableNode):
        _use(node.filter_expression, PLAIN, uses)
    elif isinstance(node, IfNode):
        for condition, nodelist in node.conditions_nodelists:
            if isinstance(condition, TemplateLiteral):
                _use(condition.value, TRUTH, uses)
            elif condition is not None:
                _condition_uses(condition, uses)
            _walk(nodelist, uses, seen)
    elif isinstance(node, hogsend.EmailActionNode):
        for arg in node.args:
            _use(arg, OPAQUE, uses)
        for name, value in node.kwargs.items():
            _use(value, OPAQUE if name in ACTION_NON_PROPS else PROP, uses)
        _walk(node.nodelist, uses, seen)
    elif isinstance(node, SimpleNode) and node.func is hogsend.survey:
        for value in [*node.args, *node.kwargs.values()]:
            _use(value, OPAQUE, uses)
    elif isinstance(node, ExtendsNode | IncludeNode):
        name = node.parent_name if isinstance(node, ExtendsNode) else node.template
        for value in getattr(node, "extra_context", {}).values():
            _use(value, OPAQUE, uses)
        _walk_template(name, uses, seen)
        if isinstance(node, ExtendsNode):
            _walk(node.nodelist, uses, seen)
    elif isinstance(node, BlockNode):
        _walk(node.nodelist, uses, seen)
    elif isinstance(node, ForNode):
        _use(node.sequence, OPAQUE, uses)
        _walk(node.nodelist_loop, uses, seen)
        _walk(node.nodelist_empty, uses, seen)
    elif isinstance(node, WithNode):
        for value in node.extra_context.values():
            _use(value, OPAQUE, uses)
        _walk(node.nodelist, uses, seen)
    else:
        raise _Unsplittable(f"{type(node).__name__} is not a known tag")


def _walk_template(name: Any, uses: dict[str, set[str]], seen: set[str]) -> None:
    if not isinstance(name, FilterExpression) or isinstance(name.var, Variable) or name.filters:
        raise _Unsplittable("a template named by a variable")
    if name.var in seen:
        return
    seen.add(name.var)
    _walk(engines["django"].get_template(name.var).template.nodelist, uses, seen)


def _condition_uses(condition: Any, uses: dict[str, set[str]]) -> None:
    """Every name in a compound `{% if %}` condition is opaque (its value decides)."""
    if isinstance(condition, TemplateLiteral):
        _use(condition.value, OPAQUE, uses)
        return
    for part in (getattr(condition, "first", None), getattr(condition, "second", None)):
        if part is not None:
            _condition_uses(part, uses)


def _use(expression: Any, kind: str, uses: dict[str, set[str]]) -> None:
    if not isinstance(expression, FilterExpression):
        return
    var = expression.var
    if isinstance(var, Variable) and var.lookups is not None:
        plain = len(var.lookups) == 1 and not expression.filters and not var.translate
        uses.setdefault(var.lookups[0], set()).add(kind if plain else OPAQUE)
    for _func, args in expression.filters:
        for _lookup, arg in args:
            if isinstance(arg, Variable) and arg.lookups is not None:
                uses.setdefault(arg.lookups[0], set()).add(OPAQUE)


# --- the skeleton ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    kind: str  # "var" | "link" | "send"
    index: int
    escape: str = "raw"  # "text" | "attr" | "raw"


@dataclass
class _Link:
    destination: str  # "" for the hosted answer page (its address holds the link's id)
    event: str
    props: dict[str, Any]  # a value that is a placeholder: _Slot("var", i)
    props_raw: str  # as planned, placeholders in it


@dataclass
class Skeleton:
    names: tuple[str, ...]  # the filled-in props, in placeholder order
    html: list[str | _Slot]
    text: list[str | _Slot]
    links: list[_Link]
    # Each body as its fixed text with blanks, and where each slot goes (see _join).
    _html_blanks: tuple[list[str], list[tuple[int, _Slot]]] = field(init=False)
    _text_blanks: tuple[list[str], list[tuple[int, _Slot]]] = field(init=False)

    def __post_init__(self) -> None:
        self._html_blanks = _blanks(self.html)
        self._text_blanks = _blanks(self.text)

    def fill(self, values: list[str], *, send_id: Any, base_url: str,
             link_ids: Iterator[uuid.UUID] | None = None,
             ) -> tuple[str, str, list[LinkRow]] | None:
        """One recipient's (html, text, links); None when it must render in full."""
        ids: dict[tuple[str, str, str], uuid.UUID] = {}
        slot_ids: list[str] = []
        rows = []
        for link in self.links:
            raw = _PLACEHOLDER_RE.sub(lambda m: _json_inner(values[int(m.group(1))]),
                                      link.props_raw) if link.props else link.props_raw
            if len(raw) > MAX_PROPS_CHARS:
                return None  # the full render raises the proper error
            key = (link.destination, link.event, raw)
            if key not in ids:
                link_id = ids[key] = next(link_ids) if link_ids is not None else uuid.uuid4()
                props = {k: values[v.index] if isinstance(v, _Slot) else v
                         for k, v in link.props.items()}
                rows.append(LinkRow(
                    id=link_id, email_send_id=send_id, event=link.event, event_properties=props,
                    original_url=link.destination or f"{base_url}/v1/t/a/{link_id}"))
            slot_ids.append(str(ids[key]))
        send = str(send_id)
        html = _join(self._html_blanks, values, slot_ids, send)
        text = _join(self._text_blanks, values, slot_ids, send)
        return html, text, rows


def _json_inner(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)[1:-1]


def _escape_text(value: str) -> str:
    return (value.replace("&", "&amp;").replace("\u00a0", "&nbsp;")
            .replace("<", "&lt;").replace(">", "&gt;"))


def _escape_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("\u00a0", "&nbsp;").replace('"', "&quot;")


ESCAPES = {"text": _escape_text, "attr": _escape_attr, "raw": str}


def _blanks(parts: list[str | _Slot]) -> tuple[list[str], list[tuple[int, _Slot]]]:
    return ([part if isinstance(part, str) else "" for part in parts],
            [(i, part) for i, part in enumerate(parts) if not isinstance(part, str)])


def _join(blanks: tuple[list[str], list[tuple[int, _Slot]]], values: list[str],
          link_ids: list[str], send_id: str) -> str:
    """The body: its fixed text with each slot filled in (only the slots are visited)."""
    text, slots = blanks
    out = text.copy()
    for i, slot in slots:
        if slot.kind == "var":
            out[i] = ESCAPES[slot.escape](values[slot.index])
        elif slot.kind == "link":
            out[i] = link_ids[slot.index]
        else:
            out[i] = send_id
    return "".join(out)


def _fillable(name: str, value: Any, uses: set[str] | None) -> bool:
    if not uses or not uses <= {PLAIN, TRUTH, PROP}:
        return False
    if name in TOKEN_PROPS:
        return PROP not in uses and isinstance(value, str)
    return (type(value) is str and value != "" and value == value.strip()
            and "\r" not in value and "\x00" not in value and "[[hs:" not in value)


def _token(name: str, value: str, base_url: str) -> str | None:
    """The signed token at the end of an engine link, or None if it is not one."""
    prefix = base_url + TOKEN_PROPS[name]
    token = value[len(prefix):] if value.startswith(prefix) else ""
    return token if TOKEN_RE.match(token) else None


def split_values(props: dict[str, Any], uses: dict[str, set[str]], base_url: str,
                 keyed: frozenset[str] = frozenset(),
                 ) -> tuple[tuple[str, ...], list[str], tuple[Any, ...]]:
    """(names filled in, their values, the rest of the props that the template reads).

    `keyed`: names that are never filled in (they landed where they cannot be)."""
    names, values, rest = [], [], []
    for name in sorted(props):
        value = props[name]
        if name not in uses:
            continue  # never read: cannot change the output
        if name not in keyed and _fillable(name, value, uses.get(name)):
            filled = _token(name, value, base_url) if name in TOKEN_PROPS else value
            if filled is not None:
                names.append(name)
                values.append(filled)
                continue
        rest.append((name, _frozen(value)))
    return tuple(names), values, tuple(rest)


def _frozen(value: Any) -> Any:
    """A hashable stand-in that tells apart every value that could render differently."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _frozen(v)) for k, v in value.items())))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(_frozen(v) for v in value))
    return (type(value).__name__, repr(value), isinstance(value, SafeData))


def render_full(key: str, props: dict[str, Any], *, send_id: Any,
                base_url: str) -> tuple[str, str, list[LinkRow]]:
    """Render, plan the tracked links and add the open pixel: one send's bodies."""
    html, text = templates_registry.render(key, props)
    html, text, links = plan_links(send_id=send_id, html=html, text=text, base_url=base_url)
    return inject_open_pixel(html, send_id=send_id, base_url=base_url), text, links


class Misplaced(Exception):
    """A value landed where it cannot be filled in (a link target, a style)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def build(key: str, props: dict[str, Any], names: tuple[str, ...],
          base_url: str) -> Skeleton | None:
    """The skeleton of `key` rendered with `props`, `names` left as placeholders.

    None when it cannot be split at all; raises `Misplaced` naming a value that
    must instead be part of the skeleton's key."""
    placeholders = [_placeholder(i) for i in range(len(names))]
    stand_in = dict(props)
    for name, placeholder in zip(names, placeholders, strict=True):
        stand_in[name] = (base_url + TOKEN_PROPS[name] + placeholder if name in TOKEN_PROPS
                          else placeholder)
    html, text = templates_registry.render(key, stand_in)
    for match in _IN_LINK_TARGET_RE.finditer(html):
        if names[int(match.group(1))] not in TOKEN_PROPS:
            raise Misplaced(names[int(match.group(1))])  # a link target is a prop's
    if not hrefs._all_plain_web_links(html):
        return None  # whether a link is safe could then depend on a value
    send_id = uuid.uuid4()
    html, text, planned = plan_links(send_id=send_id, html=html, text=text, base_url=base_url)
    html = inject_open_pixel(html, send_id=send_id, base_url=base_url)
    links = _skeleton_links(planned, names, base_url)
    if links is None:
        return None
    slots = {str(link.id): _Slot("link", i) for i, link in enumerate(planned)}
    slots[str(send_id)] = _Slot("send", 0)
    html_parts = _split(html, slots, html=True, names=names)
    return Skeleton(names=names, html=html_parts, text=_split(text, slots, html=False, names=names),
                    links=links)


def _skeleton_links(planned: list[LinkRow], names: tuple[str, ...],
                    base_url: str) -> list[_Link] | None:
    links = []
    for link in planned:
        hosted = link.original_url == f"{base_url}/v1/t/a/{link.id}"
        for where in (link.original_url, link.event):
            if match := _PLACEHOLDER_RE.search(where):
                raise Misplaced(names[int(match.group(1))])
        props: dict[str, Any] = {}
        for name, value in link.event_properties.items():
            match = _PLACEHOLDER_RE.fullmatch(value) if isinstance(value, str) else None
            if match:
                props[name] = _Slot("var", int(match.group(1)))
            elif isinstance(value, str) and (match := _PLACEHOLDER_RE.search(value)):
                raise Misplaced(names[int(match.group(1))])
            else:
                props[name] = value
        raw = hogsend.encode_props(
            {k: _placeholder(v.index) if isinstance(v, _Slot) else v for k, v in props.items()}
        ) if props else ""
        links.append(_Link("" if hosted else link.original_url, link.event, props, raw))
    return links


def _split(body: str, slots: dict[str, _Slot], *, html: bool,
           names: tuple[str, ...]) -> list[str | _Slot]:
    pattern = re.compile("|".join([_PLACEHOLDER_RE.pattern, *map(re.escape, slots)]))
    parts: list[str | _Slot] = []
    last = 0
    for match in pattern.finditer(body):
        parts.append(body[last:match.start()])
        last = match.end()
        if match.group(1) is None:
            parts.append(slots[match.group(0)])
            continue
        index = int(match.group(1))
        escape = _html_context(body, match.start(), names[index]) if html else "raw"
        if escape is None:
            raise Misplaced(names[index])
        parts.append(_Slot("var", index, escape))
    parts.append(body[last:])
    return parts


TAG_RE = re.compile(r"<([A-Za-z][A-Za-z0-9]*)\b")
OPEN_ATTR_RE = re.compile(r"""\s([^\s=/>"']+)="[^"]*$""")


def _html_context(body: str, at: int, name: str) -> str | None:
    """How a value at `at` of the serialized HTML is escaped; None if it may not go there."""
    opened, closed = body.rfind("<", 0, at), body.rfind(">", 0, at)
    if closed > opened:  # in text: not inside a raw-text element
        tag = TAG_RE.match(body, body.rfind("<", 0, closed + 1))
        if tag and tag.group(1).lower() in RAW_TEXT_TAGS:
            return None
        return "text"
    tag, attr = TAG_RE.match(body, opened), OPEN_ATTR_RE.search(body, opened, at)
    if tag is None or attr is None:
        return None
    attr_name = attr.group(1).lower()
    if name in TOKEN_PROPS:  # the token ends the engine's own link
        return "attr" if attr_name == "href" else None
    if attr_name in FILLABLE_ATTRS and tag.group(1).lower() != "a":
        return "attr"
    return None


# --- per batch ---------------------------------------------------------------------------


# Skeletons outlive their batch: they are kept per compiled template pair, brand and
# base URL, so a wave's hundred batches build each shape once. Django's cached
# template loader keeps one compiled template per file until a template changes
# (then it compiles a new object, which no longer matches); the brand is read again
# for each batch. Where templates are compiled anew for each use (a loader without
# cache), a skeleton lasts its batch, as it always did.
LASTING_TEMPLATES = 32  # template pairs (with brand and base URL) kept
LASTING_SHAPES = 256  # skeletons kept per template pair: values that key them vary


@dataclass
class _Store:
    """What is known of one template pair: its props' uses, the names found unfillable
    (they key the skeleton instead) and a skeleton (or None: render in full) per shape."""

    uses: Any = None
    uses_known: bool = False
    keyed: set[str] = field(default_factory=set)
    shapes: dict[Any, Skeleton | None] = field(default_factory=dict)


_lasting: OrderedDict[tuple[Any, ...], _Store] = OrderedDict()
_lasting_lock = threading.Lock()
_batch: ContextVar[dict[str, _Store] | None] = ContextVar("hogsend_skeletons", default=None)


@contextmanager
def batch_renders() -> Iterator[None]:
    """Sends prepared inside the block share skeletons (one per template and shape).

    The templates and the brand are looked up once per template in the block, so
    an edit reaches the next batch."""
    token = _batch.set({})
    try:
        yield
    finally:
        _batch.reset(token)


def render_send(key: str, props: dict[str, Any], *, send_id: Any,
                base_url: str) -> tuple[str, str, list[LinkRow]]:
    """(html with the open pixel, text, unsaved tracked links) of one send."""
    batch = _batch.get()
    skeleton, values = (None, [])
    if batch is not None:
        store = batch.get(key)
        if store is None:
            store = batch[key] = _lasting_store(key, base_url)
        skeleton, values = _skeleton_for(store, key, props, base_url)
    filled = skeleton.fill(values, send_id=send_id, base_url=base_url) if skeleton else None
    if filled is None:
        return render_full(key, props, send_id=send_id, base_url=base_url)
    return filled


def _lasting_store(key: str, base_url: str) -> _Store:
    """The store of `key` as compiled now, under the brand as set now."""
    backend = engines["django"]
    try:
        html = backend.get_template(f"{templates_registry.EMAIL_DIR}/{key}.html").template
        text = backend.get_template(f"{templates_registry.EMAIL_DIR}/{key}.txt").template
    except Exception:
        return _Store()  # the full render raises the proper error
    # The compiled templates themselves are in the key (held, so never mistaken for
    # a later object at the same address).
    fingerprint = (key, html, text, brand_current(), base_url)
    with _lasting_lock:
        store = _lasting.get(fingerprint)
        if store is None:
            store = _lasting[fingerprint] = _Store()
            while len(_lasting) > LASTING_TEMPLATES:
                _lasting.popitem(last=False)
        _lasting.move_to_end(fingerprint)
        return store


def _skeleton_for(store: _Store, key: str, props: dict[str, Any],
                  base_url: str) -> tuple[Skeleton | None, list[str]]:
    if not store.uses_known:
        store.uses, store.uses_known = template_uses(key), True
    if store.uses is None:
        return None, []
    while True:
        names, values, rest = split_values(props, store.uses, base_url, frozenset(store.keyed))
        shape = (names, rest)
        skeleton = store.shapes.get(shape, _MISSING)
        if skeleton is not _MISSING:
            return skeleton, values
        try:
            skeleton = _checked(key, props, names, base_url) if names else None
        except Misplaced as exc:
            store.keyed.add(exc.name)  # and try again with that value in the key
            continue
        if len(store.shapes) >= LASTING_SHAPES:
            store.shapes.clear()
        store.shapes[shape] = skeleton
        return skeleton, values


_MISSING = object()


def _probe(index: int, name: str) -> str:
    """A value full of what must be escaped (or, for an engine link, a token)."""
    return f"Tok-en_{index}.:x" if name in TOKEN_PROPS else f'<b>&amp; "x" \'{index}\u00a0é'


def _checked(key: str, props: dict[str, Any], names: tuple[str, ...],
             base_url: str) -> Skeleton | None:
    """The skeleton, if filling it with probe values gives exactly the full render."""
    try:
        skeleton = build(key, props, names, base_url)
        if skeleton is None:
            return None
        values = [_probe(i, name) for i, name in enumerate(names)]
        probe_props = dict(props)
        for name, value in zip(names, values, strict=True):
            probe_props[name] = base_url + TOKEN_PROPS[name] + value if name in TOKEN_PROPS \
                else value
        send_id = uuid.uuid4()
        html, text, links = render_full(key, probe_props, send_id=send_id, base_url=base_url)
        filled = skeleton.fill(values, send_id=send_id, base_url=base_url,
                               link_ids=iter([link.id for link in links]))
    except Misplaced:
        raise
    except Exception:
        return None  # the sends render in full, and raise there if they must
    if filled is None or (filled[0], filled[1], _link_facts(filled[2])) != (
            html, text, _link_facts(links)):
        logger.warning("email template %s: its skeleton differs from a full render; "
                       "rendering each send in full", key)
        return None
    return skeleton


def _link_facts(links: list[LinkRow]) -> list[tuple[Any, ...]]:
    return [(link.id, link.email_send_id, link.original_url, link.event, link.event_properties)
            for link in links]
