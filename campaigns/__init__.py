"""Broadcasts ("campaigns"): one template to every subscribed member of a list or
every active member of a bucket, now or at a set instant.

Defined in code with `define_campaign(...)` (one module each under
`campaigns/definitions/`) or created over the API (`POST /v1/campaigns`).
"""

from __future__ import annotations

from campaigns.definition import DefinitionError, define_campaign

__all__ = ["DefinitionError", "define_campaign"]
