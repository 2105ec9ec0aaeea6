"""Dates and date-times as clients send them and as the server stores them.

Concur mixes formats (reference/concur-v4.md §9.12): parse leniently, store one spelling.
Date-times are stored as RFC 3339 UTC with milliseconds (they then sort as text); dates as
``YYYY-MM-DD``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime


def parse_datetime(text: str) -> datetime | None:
    """Parse an RFC 3339 / ISO 8601 date-time (``Z`` or an offset; naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def format_datetime(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (what every response carries)."""
    utc = moment.astimezone(UTC)
    # Always with milliseconds, so that stored values sort lexicographically in time order.
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_date(text: str) -> date | None:
    """Parse ``YYYY-MM-DD``, also given as the date part of a date-time
    (``2018-01-01T00:00:00.000``, as Concur's Postman collection sends birth dates)."""
    text = text.strip()
    if len(text) > 10 and text[10] in "Tt ":
        if parse_datetime(text) is None:
            return None
        text = text[:10]
    if len(text) != 10:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
