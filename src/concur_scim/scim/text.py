"""What text the store can hold: both backends refuse NUL, and UTF-8 has no lone surrogates."""

from __future__ import annotations


def storable_text(value: str) -> bool:
    """True when ``value`` can be written to and compared in SQLite and PostgreSQL."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
