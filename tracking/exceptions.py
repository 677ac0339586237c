"""Errors of the email layer. Each maps itself to an HTTP status (see hogsend_site.errors)."""

from __future__ import annotations

from hogsend_site.errors import HogsendError


class UnknownTemplate(HogsendError):
    status = 400

    def __init__(self, key: str) -> None:
        super().__init__(f"Unknown template: {key}", {})
        self.key = key


class SemanticLinkError(HogsendError):
    """A semantic link in a rendered email breaks a rule of `links.validate_semantic`.

    Raised before the provider is called: the send fails loudly, nothing goes out.
    """

    status = 400


class TemplateRenderError(HogsendError):
    status = 400


class RecipientRequired(HogsendError):
    status = 400


class UnsafeLink(TemplateRenderError):
    """A rendered link target a prop made non-http(s), or any script link (tracking/hrefs.py).

    Raised before the provider is called, like every render error: nothing goes out.
    """
