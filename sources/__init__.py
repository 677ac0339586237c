"""Inbound webhook sources: another system's webhook becomes events (/v1/webhooks/<source>).

A source is code, like a journey: one module in `sources/definitions/` calling
`define_source(id=..., auth=..., transform=...)`. The names a definition needs
are re-exported here.
"""

from __future__ import annotations

from sources.definition import Ignore, Malformed, SourceEvent, WebhookRequest, define_source

__all__ = ["Ignore", "Malformed", "SourceEvent", "WebhookRequest", "define_source"]
