"""Flex dates, times and date-times in every format a Flex query can be set to.

A Flex query's delivery settings choose the date format (yyyyMMdd, the default; yyyy-MM-dd;
MM/dd/yyyy; MM/dd/yy; dd-MMM-yy such as 29-Feb-16), the time format (HHmmss, the default, or
HH:mm:ss) and the date/time separator (";" by default, "," , a space, or none at all). Older
statements also carry "T" with a zone offset ("2010-01-04T15:37:49-05:00") and ", " (the list of
formats and the old forms are those the ibflex project's parser and tests document). A trailing
zone name (e.g. "EDT") is ignored. Flex statements otherwise carry no zone: IB writes them in US
Eastern time (see `EASTERN`), and a date-time with an offset is converted to it.

IB also offers dd/MM/yyyy, which no text can tell apart from MM/dd/yyyy: slash dates are read month
first, as IB's US default, and an impossible month says to choose another date format.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

#: Each date format as (pattern, the order of its year, month and day groups), four-digit years
#: first: "10/17/2023" must not be read as 10/17/20 followed by a time.
_DATES = (
    (re.compile(r"(\d{4})(\d{2})(\d{2})"), "ymd"),
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "ymd"),
    (re.compile(r"(\d{2})/(\d{2})/(\d{4})"), "mdy"),
    (re.compile(r"(\d{2})/(\d{2})/(\d{2})"), "mdy"),
    (re.compile(r"(\d{2})-([A-Za-z]{3})-(\d{2})"), "dmy"),
)
_TIME = r"(?P<hour>\d{2})(?P<colon>:?)(?P<minute>\d{2})(?:(?P=colon)(?P<second>\d{2}))?"
#: What may follow a date: a separator and a time (without a separator the time needs its seconds,
#: so that the digits cannot be split another way), then a zone name or offset.
_REST = re.compile(
    rf"(?:\s*(?P<sep>[;, T])\s*{_TIME}|(?P<bare>\d{{6}}|\d{{2}}:\d{{2}}:\d{{2}}))?"
    r"(?:\s*(?P<offset>[+-]\d{2}:?\d{2})|\s+[A-Za-z]{2,5})?\s*")
_CLOCK = re.compile(_TIME)

FORMATS_HELP = ("yyyyMMdd, yyyy-MM-dd, MM/dd/yyyy, MM/dd/yy or dd-MMM-yy, optionally with an HHmmss "
                "or HH:mm:ss time after ';', ',', ' ', 'T' or nothing")


def parse_date(text: str | None) -> date | None:
    """A Flex date (None for blank). Raises ValueError for anything else."""
    moment = parse_datetime(text)
    return moment.date() if moment is not None else None


def parse_time(text: str | None) -> time | None:
    """A Flex time of day: HHmmss or HH:mm:ss (seconds optional); None for blank."""
    if text is None or not text.strip():
        return None
    match = _CLOCK.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Flex time (HHmmss or HH:mm:ss)")
    return _clock(match, text)


def parse_datetime(text: str | None) -> datetime | None:
    """A Flex date or date-time as a naive datetime in IB's (Eastern) time; None for blank."""
    if text is None or not text.strip():
        return None
    stripped = text.strip()
    for pattern, order in _DATES:
        day_match = pattern.match(stripped)
        if day_match is None:
            continue
        rest = _REST.fullmatch(stripped, day_match.end())
        if rest is None:
            continue
        day = _day(day_match.groups(), order, text)
        clock = time()
        if rest.group("hour"):
            clock = _clock(rest, text)
        elif rest.group("bare"):
            clock = _clock(_CLOCK.fullmatch(rest.group("bare")), text)
        moment = datetime.combine(day, clock)
        offset = rest.group("offset")
        return moment if offset is None else _to_eastern(moment, offset)
    raise ValueError(f"{text!r} is not a Flex date ({FORMATS_HELP})")


def join_date_time(day: str | None, clock: str | None) -> datetime | None:
    """A date and a separate time of day (a Trade's tradeDate and tradeTime) as one date-time;
    the date alone when there is no time, None when there is no date."""
    moment = parse_datetime(day)
    when = parse_time(clock)
    if moment is None or when is None:
        return moment
    return datetime.combine(moment.date(), when)


def _day(groups: tuple[str, ...], order: str, text: str) -> date:
    values = dict(zip(order, groups))
    year = int(values["y"])
    if len(values["y"]) == 2:  # the two-digit years of MM/dd/yy and dd-MMM-yy, as strptime's %y reads them
        year += 1900 if year >= 69 else 2000
    month_text = values["m"]
    if month_text.isalpha():
        if month_text.lower() not in MONTHS:
            raise ValueError(f"{text!r} has an unknown month name")
        month = MONTHS.index(month_text.lower()) + 1
    else:
        month = int(month_text)
    try:
        return date(year, month, int(values["d"]))
    except ValueError:
        hint = (": ibmon reads slash dates as MM/dd; set the Flex query's date format to yyyyMMdd"
                if order == "mdy" and month > 12 else "")
        raise ValueError(f"{text!r} is an impossible date{hint}") from None


def _clock(match: re.Match[str], text: str) -> time:
    second = match.group("second")
    try:
        return time(int(match.group("hour")), int(match.group("minute")), int(second) if second else 0)
    except ValueError:
        raise ValueError(f"{text!r} has an impossible time") from None


def _to_eastern(moment: datetime, offset: str) -> datetime:
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return moment.replace(tzinfo=zone).astimezone(EASTERN).replace(tzinfo=None)


def format_date(day: date, style: str) -> str:
    """`day` in one of the Flex date styles (the simulator writes them)."""
    if style == "dd-MMM-yy":
        return f"{day.day:02d}-{MONTHS[day.month - 1].title()}-{day.year % 100:02d}"
    patterns = {"yyyyMMdd": "%Y%m%d", "yyyy-MM-dd": "%Y-%m-%d", "MM/dd/yyyy": "%m/%d/%Y", "MM/dd/yy": "%m/%d/%y"}
    return day.strftime(patterns[style])


#: The date styles and date/time separators a Flex query offers (the simulator's settings).
DATE_STYLES = ("yyyyMMdd", "yyyy-MM-dd", "MM/dd/yyyy", "MM/dd/yy", "dd-MMM-yy")
SEPARATORS = (";", ",", " ", "T", "")


def format_time(moment: datetime | time, colons: bool = False) -> str:
    """A Flex time of day: HHmmss, or HH:mm:ss."""
    return moment.strftime("%H:%M:%S" if colons else "%H%M%S")


def format_datetime(moment: datetime, style: str, separator: str) -> str:
    """`moment` as a Flex date-time: a date style, a separator and HHmmss (HH:mm:ss after 'T')."""
    return f"{format_date(moment.date(), style)}{separator}{format_time(moment, separator == 'T')}"


def as_eastern(moment: datetime) -> datetime:
    """A naive Flex date-time made aware (IB's Eastern time)."""
    return moment.replace(tzinfo=EASTERN) if moment.tzinfo is None else moment
