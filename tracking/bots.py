"""Bot and prefetch detection for tracked links, a pure function.

A hit is a prefetch when its user agent names a known link-preview or crawler
bot, or a header says it is a prefetch/preview. HEAD requests are treated the
same by the click view, since a person's click is always a GET and link checkers
probe with HEAD. IP and user agent never take part
in the burst rule; they are stored for forensics only (the address from
hogsend_site.client_ip, which trusts X-Forwarded-For only from known proxies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

BOT_UA_RE = re.compile(
    r"Discordbot|Slackbot|Slack-ImgProxy|Twitterbot|TelegramBot|facebookexternalhit|WhatsApp|"
    r"LinkedInBot|SkypeUriPreview|Googlebot|GoogleImageProxy|Feedfetcher|bingbot|redditbot",
    re.IGNORECASE,
)


def is_prefetch(headers: Mapping[str, str]) -> bool:
    """True for bot user agents and prefetch/preview requests (case-insensitive headers)."""
    if BOT_UA_RE.search(headers.get("User-Agent", "") or ""):
        return True
    for name in ("Purpose", "X-Purpose"):
        if (headers.get(name) or "").strip().lower() in ("prefetch", "preview"):
            return True
    if headers.get("X-Moz") is not None:
        return True
    sec_purpose = (headers.get("Sec-Purpose") or "").lower()
    return "prefetch" in sec_purpose or "prerender" in sec_purpose
