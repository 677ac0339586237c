"""The sender's brand on everything the customer sees: the emails and the hosted pages.

Read from settings (the environment, see README "Your brand"):

* BRAND_NAME: shown above every email and page (default: the display name of
  DEFAULT_FROM_EMAIL, else "Hogsend");
* BRAND_LOGO_URL: an absolute http(s) image URL shown instead of the name
  (empty: the name as text);
* BRAND_PRIMARY_COLOR: buttons and links (#rgb or #rrggbb, default #2563eb);
* BRAND_BACKGROUND_COLOR: the backdrop around the card (default #f4f4f7);
* BRAND_FOOTER: one line under every email and page, e.g. the postal address
  marketing mail must carry;
* the sender address: DEFAULT_FROM_EMAIL's, printed in the footers so a person
  knows who wrote to them.

`brand_current()` is the one helper: the email renderer puts it in every
template's context as `sender_brand` (tracking.templates_registry) and the
context processor gives it to every page rendered with a request. A malformed
colour or logo URL fails the system check (hogsend.E501, hogsend.E502) and is
replaced by the default meanwhile, so nothing broken reaches a customer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

DEFAULT_NAME = "Hogsend"
DEFAULT_PRIMARY = "#2563eb"
DEFAULT_BACKGROUND = "#f4f4f7"
COLOR_RE = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
COLOR_SETTINGS = (("BRAND_PRIMARY_COLOR", DEFAULT_PRIMARY),
                  ("BRAND_BACKGROUND_COLOR", DEFAULT_BACKGROUND))
DARK_TEXT = "#111827"
WHITE = "#ffffff"
CONTEXT_NAME = "sender_brand"


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str
    primary_color: str
    # Readable on the primary colour (white or near-black, whichever contrasts more).
    primary_text_color: str
    # The primary colour lightened for links on the pages' dark-mode background.
    primary_color_on_dark: str
    background_color: str
    footer: str
    sender_name: str
    sender_address: str


def color_ok(value: Any) -> bool:
    return isinstance(value, str) and bool(COLOR_RE.match(value.strip()))


def logo_url_ok(value: Any) -> bool:
    if value in (None, ""):
        return True
    try:
        URLValidator(schemes=["http", "https"])(str(value))
    except ValidationError:
        return False
    return not any(char in str(value) for char in "\"'<> ")


def _color(setting: str, default: str) -> str:
    value = getattr(settings, setting, default)
    return _six_digits(value.strip()) if color_ok(value) else default


def _six_digits(color: str) -> str:
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(char * 2 for char in digits)
    return f"#{digits.lower()}"


def _rgb(color: str) -> tuple[int, int, int]:
    digits = _six_digits(color).lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def _luminance(color: str) -> float:
    """WCAG relative luminance."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in _rgb(color))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def text_color_on(color: str) -> str:
    return WHITE if contrast(color, WHITE) >= contrast(color, DARK_TEXT) else DARK_TEXT


def lightened(color: str, share: float = 0.45) -> str:
    """`color` mixed with `share` of white: links stay readable on a dark page."""
    return "#" + "".join(f"{round(v + (255 - v) * share):02x}" for v in _rgb(color))


def brand_current() -> Brand:
    """The brand as the settings say now (read per call: cheap, and tests override)."""
    sender_name, sender_address = parseaddr(str(settings.DEFAULT_FROM_EMAIL or ""))
    name = str(getattr(settings, "BRAND_NAME", "") or "").strip() or sender_name or DEFAULT_NAME
    logo = str(getattr(settings, "BRAND_LOGO_URL", "") or "").strip()
    primary = _color("BRAND_PRIMARY_COLOR", DEFAULT_PRIMARY)
    return Brand(
        name=name, logo_url=logo if logo_url_ok(logo) else "", primary_color=primary,
        primary_text_color=text_color_on(primary), primary_color_on_dark=lightened(primary),
        background_color=_color("BRAND_BACKGROUND_COLOR", DEFAULT_BACKGROUND),
        footer=" ".join(str(getattr(settings, "BRAND_FOOTER", "") or "").split()),
        sender_name=sender_name or name, sender_address=sender_address)


def brand_context() -> dict[str, Brand]:
    return {CONTEXT_NAME: brand_current()}


def context_processor(request: object) -> dict[str, Brand]:
    """`sender_brand` for the hosted pages (templates/tracking/base.html)."""
    return brand_context()


@register(Tags.templates)
def check_brand(app_configs: Any, **kwargs: Any) -> list[Error]:
    """A colour or logo URL the emails and pages cannot use is a deploy error, not
    a silent fallback a customer finds first."""
    errors = [
        Error(f"{setting} {getattr(settings, setting, '')!r} is not a colour.",
              hint=f"A hex colour such as {default} (#rgb or #rrggbb).", id="hogsend.E501")
        for setting, default in COLOR_SETTINGS
        if not color_ok(getattr(settings, setting, default))
    ]
    logo = getattr(settings, "BRAND_LOGO_URL", "")
    if not logo_url_ok(logo):
        errors.append(Error(f"BRAND_LOGO_URL {logo!r} is not an absolute http(s) URL.",
                            hint="Emails need the full address of the image, e.g. "
                                 "https://example.com/logo.png.", id="hogsend.E502"))
    return errors
