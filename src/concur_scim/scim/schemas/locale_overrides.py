"""``localeOverrides`` of Concur's core User: read-only locale preferences (§6.1).

Clients cannot write it (readOnly): a user's overrides are set in Concur's UI. Responses of
an untouched user carry :data:`LOCALE_OVERRIDE_DEFAULTS`, the values observed in Concur's own
responses (reference/concur-v4.md §6.1, O).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field
from scim2_models import ComplexAttribute

from .annotations import ClosedStringEnum

LOCALE_OVERRIDE_DEFAULTS: dict[str, Any] = {
    "preference24Hour": "H:mm AM/PM",
    "preferenceCurrencySymbolLocation": "BeforeAmount",
    "preferenceDateFormat": "mm/dd/yyyy",
    "preferenceDefaultCalView": "month",
    "preferenceDistance": "mile",
    "preferenceEndDayViewHour": 20,
    "preferenceFirstDayOfWeek": "Sunday",
    "preferenceHourMinuteSeparator": ":",
    "preferenceNumberFormat": "1,000.00",
    "preferenceStartDayViewHour": 8,
}


class TimeFormat(ClosedStringEnum):
    am_pm = "H:mm AM/PM"
    h24 = "hh:mm"


class SymbolLocation(ClosedStringEnum):
    before = "BeforeAmount"
    after = "AfterAmount"


class DateFormat(ClosedStringEnum):
    mdy_slash = "mm/dd/yyyy"
    mdy_dot = "mm.dd.yyyy"
    mdy_dash = "mm-dd-yyyy"
    dmy_slash = "dd/mm/yyyy"
    dmy_dot = "dd.mm.yyyy"
    dmy_dash = "dd-mm-yyyy"
    ymd_slash = "yyyy/mm/dd"
    ymd_dot = "yyyy.mm.dd"
    ymd_dash = "yyyy-mm-dd"


class CalendarView(ClosedStringEnum):
    day = "day"
    week = "week"
    month = "month"


class Distance(ClosedStringEnum):
    mile = "mile"
    km = "km"


class Weekday(ClosedStringEnum):
    sunday = "Sunday"
    monday = "Monday"
    tuesday = "Tuesday"
    wednesday = "Wednesday"
    thursday = "Thursday"
    friday = "Friday"
    saturday = "Saturday"


class Separator(ClosedStringEnum):
    colon = ":"
    dot = "."


class NegativeFormat(ClosedStringEnum):
    minus = "-100"
    parentheses = "(100)"


class NumberFormat(ClosedStringEnum):
    comma_dot = "1,000.00"
    dot_comma = "1.000,00"
    space_comma = "1 000,00"
    apostrophe_dot = "1'000.00"
    apostrophe_comma = "1'000,00"


class LocaleOverrides(ComplexAttribute):
    preference_24_hour: TimeFormat | None = None
    """Preferred time format."""

    preference_currency_symbol_location: SymbolLocation | None = None
    """Preferred currency symbol location."""

    preference_date_format: DateFormat | None = None
    """Preferred date format."""

    preference_default_cal_view: CalendarView | None = None
    """Preferred default calendar view."""

    preference_distance: Distance | None = None
    """Preferred distance unit."""

    preference_end_day_view_hour: Annotated[int | None, Field(ge=0, le=23)] = None
    """Preferred hour for the end of day, 0-23."""

    preference_first_day_of_week: Weekday | None = None
    """Preferred first day of the week."""

    preference_hour_minute_separator: Separator | None = None
    """Preferred separator between hour and minute."""

    preference_negative_currency_format: NegativeFormat | None = None
    """Preferred negative currency format."""

    preference_negative_number_format: NegativeFormat | None = None
    """Preferred negative number format."""

    preference_number_format: NumberFormat | None = None
    """Preferred number format."""

    preference_start_day_view_hour: Annotated[int | None, Field(ge=0, le=23)] = None
    """Preferred hour for the start of day, 0-23."""
