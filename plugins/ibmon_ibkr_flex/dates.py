"""Flex dates and date-times in every format a Flex query can be set to.

Dates: yyyyMMdd, yyyy-MM-dd, MM/dd/yyyy. Times: HHmmss, HH:mm:ss (seconds optional). A date-time
joins the two with ";", ",", " " or "T"; a trailing zone name (e.g. "EDT") is ignored. Flex
statements carry no zone: IB writes them in US Eastern time (see `EASTERN`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")

_DATE = re.compile(r"(?:(\d{4})(\d{2})(\d{2})|(\d{4})-(\d{2})-(\d{2})|(\d{2})/(\d{2})/(\d{4}))")
_TIME = re.compile(r"(\d{2}):?(\d{2})(?::?(\d{2}))?")
_DATETIME = re.compile(rf"\s*({_DATE.pattern})(?:\s*[;, T]\s*({_TIME.pattern}))?(?:\s+[A-Za-z]{{2,5}})?\s*")

FORMATS_HELP = "yyyyMMdd, yyyy-MM-dd or MM/dd/yyyy, optionally with a time after ';', ',', ' ' or 'T'"


def parse_date(text: str | None) -> date | None:
    """A Flex date (None for blank). Raises ValueError for anything else."""
    moment = parse_datetime(text)
    return moment.date() if moment is not None else None


def parse_datetime(text: str | None) -> datetime | None:
    """A Flex date or date-time as a naive datetime in IB's (Eastern) time; None for blank."""
    if text is None or not text.strip():
        return None
    match = _DATETIME.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a Flex date ({FORMATS_HELP})")
    day = _date_of(match.group(1))
    clock = time()
    if match.group(11):
        hour, minute, second = (int(part) if part else 0 for part in _TIME.fullmatch(match.group(11)).groups())
        try:
            clock = time(hour, minute, second)
        except ValueError:
            raise ValueError(f"{text!r} has an impossible time") from None
    return datetime.combine(day, clock)


def _date_of(text: str) -> date:
    groups = _DATE.fullmatch(text).groups()
    if groups[0]:
        year, month, day = groups[0:3]
    elif groups[3]:
        year, month, day = groups[3:6]
    else:
        month, day, year = groups[6:9]
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError(f"{text!r} is an impossible date") from None


def format_date(day: date, style: str) -> str:
    """`day` in one of the Flex date styles (the simulator writes them)."""
    patterns = {"yyyyMMdd": "%Y%m%d", "yyyy-MM-dd": "%Y-%m-%d", "MM/dd/yyyy": "%m/%d/%Y"}
    return day.strftime(patterns[style])


def format_datetime(moment: datetime, style: str, separator: str) -> str:
    """`moment` as a Flex date-time: a date style, a separator and HHmmss (HH:mm:ss after 'T')."""
    clock = moment.strftime("%H:%M:%S" if separator == "T" else "%H%M%S")
    return f"{format_date(moment.date(), style)}{separator}{clock}"


def as_eastern(moment: datetime) -> datetime:
    """A naive Flex date-time made aware (IB's Eastern time)."""
    return moment.replace(tzinfo=EASTERN) if moment.tzinfo is None else moment
