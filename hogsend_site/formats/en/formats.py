"""English datetime formats that say the zone: "Wed 17 Jun 2026, 09:00 UTC".

Django's own ("June 17, 2026, 9 a.m.") names none, so a reader cannot tell
staff time from the customer's. Dates alone and input formats stay Django's.
"""

from __future__ import annotations

DATETIME_FORMAT = "D j M Y, H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
