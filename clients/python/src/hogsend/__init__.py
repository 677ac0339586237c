"""Python client for Hogsend: `Hogsend` (sync) and `AsyncHogsend` (asyncio).

```python
from hogsend import Hogsend

hs = Hogsend(api_key="hsk_...", base_url="http://localhost:8000")
hs.contacts.upsert(user_id="u_ada", email="ada@example.com", properties={"plan": "pro"})
hs.events.send("ticket.resolved", user_id="u_ada", event_properties={"ticket_id": "T-9"})
```
"""

from __future__ import annotations

from hogsend._base import __version__
from hogsend._client import AsyncHogsend, Hogsend
from hogsend._errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    HogsendAPIError,
    HogsendError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    WebhookVerificationError,
)
from hogsend._types import (
    BatchEventResult,
    Campaign,
    CampaignPage,
    Contact,
    DeleteContactResult,
    ExitResult,
    IngestResult,
    ListMembership,
    ListSummary,
    Preferences,
    PreferencesBody,
    SendCampaignResult,
    SendEmailResult,
    Subscriptions,
    UpsertContactResult,
)
from hogsend.webhooks import verify_webhook

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AsyncHogsend",
    "AuthenticationError",
    "BadRequestError",
    "BatchEventResult",
    "Campaign",
    "CampaignPage",
    "ConflictError",
    "Contact",
    "DeleteContactResult",
    "ExitResult",
    "Hogsend",
    "HogsendAPIError",
    "HogsendError",
    "IngestResult",
    "InternalServerError",
    "ListMembership",
    "ListSummary",
    "NotFoundError",
    "PermissionDeniedError",
    "Preferences",
    "PreferencesBody",
    "RateLimitError",
    "SendCampaignResult",
    "SendEmailResult",
    "Subscriptions",
    "UpsertContactResult",
    "WebhookVerificationError",
    "__version__",
    "verify_webhook",
]
