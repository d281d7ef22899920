"""Dates to the precision a source gives: a year, a month or a day."""

import calendar

# English month names, as the sources write dates (calendar.month_name formats a date
# for every lookup).
MONTH_NAMES = tuple(calendar.month_name)


def activity_date_display(year, month, day) -> str:
    """An activity's date to the precision the source gives ("2014", "July 2014", "3 July 2014")."""
    if month is None:
        return str(year)
    if day is None:
        return f"{MONTH_NAMES[month]} {year}"
    return f"{day} {MONTH_NAMES[month]} {year}"


def iso_date(year, month=None, day=None) -> str:
    """A date to the precision it is known, in ISO 8601's reduced forms: "2014",
    "2014-06", "2014-06-12" (a year stays a year)."""
    if year is None:
        return ""
    if month is None:
        return f"{year:04d}"
    if day is None:
        return f"{year:04d}-{month:02d}"
    return f"{year:04d}-{month:02d}-{day:02d}"


def from_iso_date(text: str) -> tuple[int | None, int | None, int | None]:
    """iso_date() backwards: "2014-06" -> (2014, 6, None); "" -> (None, None, None)."""
    parts = [int(part) for part in text.split("-")] if text else []
    return tuple(parts + [None] * (3 - len(parts)))
