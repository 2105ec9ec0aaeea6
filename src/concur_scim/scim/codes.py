"""The code lists Concur checks values against (reference/concur-v4.md §6.1, §6.5).

Each ``canonical_*`` function answers the canonical spelling of a code, or None when the
code is not on the list; lookups ignore case. Countries and currencies come from
``pycountry`` (ISO 3166-1 and ISO 4217), Concur's time zones from
``data/concur-timezones.txt`` and its UI languages from :data:`CONCUR_LANGUAGES`
(``api-reference/language-codes.md``). Pure; the data is read once per process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from importlib import resources

import pycountry

# Concur's UI languages: a full tag, or a language whose every region is accepted.
CONCUR_LANGUAGES = (
    "en-US", "en-GB", "de", "fr", "fr-CA", "hu", "es", "es-LA", "it", "ja", "nl", "pt-BR",
    "sv", "zh-CN", "zh-TW", "cs", "da", "fi", "ko", "no", "pl", "ru", "tr", "ro", "hr", "bg",
    "sk", "id", "th", "uk",
)  # fmt: skip

# BCP 47 (RFC 5646) in the shape clients send: language, optional script, optional region
# (two letters or three digits), optional variants. Private-use and extensions are refused.
_LANGUAGE_TAG = re.compile(
    r"^[a-z]{2,3}(-[a-z]{4})?(-([a-z]{2}|[0-9]{3}))?(-([a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*$",
    re.IGNORECASE,
)


def is_language_tag(text: str) -> bool:
    """Whether ``text`` is a BCP 47 language tag such as ``en-US`` or ``es-419``."""
    return _LANGUAGE_TAG.match(text) is not None


@cache
def _countries() -> dict[str, str]:
    return {c.alpha_2.lower(): c.alpha_2 for c in pycountry.countries}


@cache
def _currencies() -> dict[str, str]:
    return {c.alpha_3.lower(): c.alpha_3 for c in pycountry.currencies}


@cache
def _timezones() -> dict[str, str]:
    text = resources.files("concur_scim.scim").joinpath("data", "concur-timezones.txt").read_text()
    return {line.strip().lower(): line.strip() for line in text.splitlines() if line.strip()}


@cache
def _languages() -> dict[str, str]:
    return {tag.lower(): tag for tag in CONCUR_LANGUAGES}


def canonical_country(code: str) -> str | None:
    """The ISO 3166-1 alpha-2 code ``code`` names (``us`` → ``US``), or None."""
    return _countries().get(code.lower())


def canonical_currency(code: str) -> str | None:
    """The ISO 4217 alphabetic code ``code`` names (``eur`` → ``EUR``), or None."""
    return _currencies().get(code.lower())


def canonical_timezone(code: str) -> str | None:
    """The Concur time zone ``code`` names (``america/new_york`` → ``America/New_York``)."""
    return _timezones().get(code.lower())


def canonical_language(code: str) -> str | None:
    """``code`` if it is a BCP 47 tag whose full tag or language is a Concur UI language.

    A full-tag match answers Concur's spelling (``EN-us`` → ``en-US``); a language match
    keeps the tag as sent (``de-CH``). ``en-AU`` is refused: Concur lists English only as
    ``en-US`` and ``en-GB``.
    """
    if not is_language_tag(code):
        return None
    languages = _languages()
    exact = languages.get(code.lower())
    if exact is not None:
        return exact
    return code if code.split("-", 1)[0].lower() in languages else None


CODE_LISTS: dict[str, tuple[Callable[[str], str | None], str]] = {
    "country": (canonical_country, "an ISO 3166-1 alpha-2 country code"),
    "currency": (canonical_currency, "an ISO 4217 currency code"),
    "language": (canonical_language, f"one of Concur's languages ({', '.join(CONCUR_LANGUAGES)})"),
    "timezone": (canonical_timezone, "one of Concur's Olson time zones"),
}
"""Each code list by name (``scim/schemas/annotations.py: CodeList``): lookup, description."""
