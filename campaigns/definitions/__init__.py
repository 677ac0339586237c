"""The campaigns: one module per broadcast, each assigning a `define_campaign(...)`
to a module-level name. Listed by CAMPAIGN_PACKAGES, filtered by ENABLED_CAMPAIGNS.

None ships: a shipped definition would send (or be recorded expired) in every
deployment of this project. A module here looks like this::

    from datetime import UTC, datetime

    from campaigns import define_campaign

    june_update = define_campaign(
        id="june-product-update",
        name="June product update",
        audience={"list": "digest"},          # or {"bucket": "dormant-30d"}
        template="marketing/announcement",
        props={"headline": "Saved views are here", "ctaUrl": "https://example.com/views"},
        subject="Saved views are here",
        send_at=datetime(2026, 6, 2, 9, tzinfo=UTC),
    )

Deploy it before `send_at` and it is scheduled; within an hour after, it sends
at once; later than that it is recorded `expired` and never sends. Once sent,
canceled or expired, the id is spent: a redeploy never sends it again.
"""
