"""The email template registry: key -> default subject, category, bodies.

A template is a pair of Django templates, `templates/emails/<key>.html` and
`templates/emails/<key>.txt` (`support/followup` ->
`templates/emails/support/followup.html`). Any pair found there is known by
its key with category `journey` and its key as the subject; `register_template`
(called from `tracking.email_templates` or any app's `ready()`) adds a default
subject and category. Files under a folder or name starting with `_`, and
`base.html`, are layout pieces, not templates.

`render()` renders both bodies with the send's props and the sender's brand
(`sender_brand`, hogsend_site/brand.py): the HTML gets its CSS
inlined by css-inline (keeping `@media` rules for phones) and its link targets
checked (tracking/hrefs.py: a prop can only make http(s) links); the text body is
rendered without HTML escaping and in "text mode", so `{% email_action %}`
emits a marker the link rewriter turns into a tracked URL.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import css_inline
from django.template import Context, TemplateDoesNotExist, TemplateSyntaxError, engines

from hogsend_site.brand import brand_context
from tracking import categories, hrefs
from tracking.exceptions import TemplateRenderError, UnknownTemplate

EMAIL_DIR = "emails"
TEXT_MODE_FLAG = "hogsend_text_mode"


@dataclass(frozen=True)
class EmailTemplate:
    key: str
    subject: str
    category: str = categories.JOURNEY
    description: str = ""


_registered: dict[str, EmailTemplate] = {}


def register_template(
    key: str, *, subject: str, category: str = categories.JOURNEY, description: str = ""
) -> EmailTemplate:
    """Declare a template's default subject and category (idempotent by key)."""
    entry = EmailTemplate(key=key, subject=subject, category=category, description=description)
    _registered[key] = entry
    return entry


def _load_declarations() -> None:
    from tracking import email_templates  # noqa: F401  (declares the project's entries)


def _template_dirs() -> list[Path]:
    dirs: list[Path] = []
    for engine in engines.all():
        dirs.extend(Path(d) for d in getattr(engine, "template_dirs", ()))
    return dirs


@lru_cache(maxsize=1)
def discovered_keys() -> frozenset[str]:
    """Keys of every `.html` + `.txt` pair under an `emails/` template folder."""
    keys: set[str] = set()
    for base in _template_dirs():
        root = base / EMAIL_DIR
        if not root.is_dir():
            continue
        for html in root.rglob("*.html"):
            rel = html.relative_to(root).with_suffix("")
            if any(part.startswith("_") for part in rel.parts) or rel.as_posix() == "base":
                continue
            if html.with_suffix(".txt").is_file():
                keys.add(rel.as_posix())
    return frozenset(keys)


def registered() -> dict[str, EmailTemplate]:
    _load_declarations()
    return dict(_registered)


def template_keys() -> list[str]:
    return sorted(discovered_keys() | set(registered()))


def get_template(key: str) -> EmailTemplate:
    """The registry entry for `key`; raises `UnknownTemplate` when no files exist."""
    if key not in discovered_keys():
        raise UnknownTemplate(key)
    return registered().get(key) or EmailTemplate(key=key, subject=key)


def _inline_css(html: str) -> str:
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    return inliner.inline(html)


def render(key: str, props: dict[str, Any]) -> tuple[str, str]:
    """Render (html, text) of template `key` with `props` as the context.

    Raises `UnsafeLink` when a prop made a link target other than http(s)."""
    backend = engines["django"]
    try:
        html_template = backend.get_template(f"{EMAIL_DIR}/{key}.html").template
        text_template = backend.get_template(f"{EMAIL_DIR}/{key}.txt").template
        # The sender's brand is the engine's: a caller prop of its name never replaces it.
        brand = brand_context()
        html = html_template.render(Context({**props, **brand}))
        text = text_template.render(Context({**props, **brand, TEXT_MODE_FLAG: True},
                                            autoescape=False))
    except TemplateDoesNotExist as exc:
        raise UnknownTemplate(key) from exc
    except TemplateSyntaxError as exc:
        raise TemplateRenderError(f"Template {key} failed to render: {exc}") from exc
    html = _inline_css(html)
    # Checked on the HTML as it will be sent (after inlining re-serialised it).
    hrefs.links_check(html=html, props=props, template_key=key)
    return html, text.strip() + "\n"
