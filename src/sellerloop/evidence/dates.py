"""Dates as people write them in emails, call notes and transcripts, resolved to calendar dates.

The one place where date words become dates: the hygiene agent reads close-date moves with `date_mentions`,
the commitment detector deadlines with `resolve_due`, and the follow-up agent counts days with `add_workdays`.

`date_mentions(text, today=...)` finds each date in a text and the days it can mean, `first` to `last`:

    2018-04-30, 4/30/2018, 4/30, April 30, 2018, Monday, April 30, 30 April, the 30th of April   a day
    the 15th                            the 15th of this month, or of the next one if it has passed
    today, tonight, EOD, end of day     the day itself; tomorrow: the day after
    Friday, this Friday, coming Friday  the first Friday after today (said on a Friday: a week later)
    next Friday                         the Friday of next week
    in 3 days, within two weeks         today plus that many days, weeks or months; "3 business days" skip
                                        weekends; "a couple of" = 2, "a few" = 3
    this week, next week                its working days, Monday to Friday (said on a weekend, "this week" is
                                        the coming one)
    this month, next month, April 2018  a month; a bare month ("in March", "before April") only after a word
                                        that places something in time
    Q2, Q2 2018, the second quarter     a quarter; also this quarter, next quarter
    this year, next year                a year
    end of the month, end of March,     the period's last day ("EOW", "EOM", "EOQ", "EOY" too)
      end of Q2, the close of next week
    early next week, beginning of May   the period's first day; "mid", "late" and "later" keep the period

Rules shared by every form:
- A date written without a year is the first one not over before `today`: "March 15" written on 2017-12-14 is
  2018-03-15, "Q1" is 2018's.
- Numbers are US order, month first, unless the first cannot be a month (30/4/2018 is April 30).
- A day that does not exist (February 30, 13/45/2018) is no date.
- A month name stands alone ("in March", "May 2018") only capitalised, since "may" and "march" are also verbs;
  next to a day number ("march 3") any case will do, as transcripts are often lower case.
- A date never spans a line break: "Q2\\n2019 budget" is Q2, not Q2 2019.

Each mention keeps its words exactly as written (`text` is a verbatim substring, `start`/`end` its place), so
an agent can state the date the way its source does and a reader or the verifier finds it there.

Why by hand rather than dateparser or dateutil: no dependency for a few dozen rules, all written down here;
relative dates must resolve against the day the words were written or said (the email's or the call's date,
passed as `today`), not the clock; and the exact words must be kept for the quote. With no such day (an
undated transcript), only dates that carry their year resolve; the others are mentions without dates, rather
than guesses.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Precision = Literal["day", "week", "month", "quarter", "year"]

MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_QUARTERS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4}
_COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
           "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple of": 2, "couple of": 2,
           "a few": 3, "few": 3}
_SHORT = {"eow": "week", "eom": "month", "eoq": "quarter", "eoy": "year"}

_SP = r"[ \t]+"  # spaces within a line
_FULL_MONTH = "January|February|March|April|May|June|July|August|September|October|November|December"
_MON = rf"(?:{_FULL_MONTH}|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_WD = rf"(?:(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day|Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?,?{_SP}"
_DAY = r"(?P<{}>[0-3]?\d)(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?P<{}>(?:19|20)\d\d)(?!\d)"
_COUNT = r"\d{1,3}|" + "|".join(k.replace(" ", _SP) for k in sorted(_COUNTS, key=len, reverse=True))
# Where a bare month ("in March") is taken for a date: after words that place something in time.
_BEFORE_BARE_MONTH = "(?:" + "|".join(rf"(?<=\b{w}[ ])" for w in (
    "in", "by", "before", "until", "till", "to", "after", "of", "for", "early", "mid", "late", "since")
) + r"|(?<=\bmid-))"
_EDGE = (rf"(?P<edge>(?P<end>(?:the{_SP})?(?:end|close){_SP}of)"
         rf"|(?P<start>early|(?:the{_SP})?(?:beginning|start){_SP}of)){_SP}(?:the{_SP})?")

# One alternative per form, each naming its groups so `_span` knows which it met; the more specific first
# ("Monday, December 18" is a date before "Monday" is a weekday). An optional lead-in picks a part of the
# period: its end or its start (`_EDGE`), or the whole of it ("mid", "late").
DATE = re.compile(rf"""
    (?<![\w/.-])
    (?:{_EDGE}|(?:later|late|mid)(?:-|{_SP}))?
    (?:
        (?P<iy>(?:19|20)\d\d)[-/](?P<im>[01]?\d)[-/](?P<id>[0-3]?\d)(?![/-])
      | (?P<na>[0-3]?\d)/(?P<nb>[0-3]?\d)(?:/(?P<ny>(?:19|20)\d\d|\d\d))?(?!/)
      | (?:{_WD})?(?P<m1>{_MON}){_SP}{_DAY.format('d1')}(?:,?{_SP}{_YEAR.format('y1')})?
      | (?:{_WD})?(?:the{_SP})?{_DAY.format('d2')}(?:{_SP}of)?{_SP}(?P<m2>{_MON})
          (?:,?{_SP}{_YEAR.format('y2')})?
      | (?P<m3>(?-i:{_MON})),?{_SP}(?:of{_SP})?{_YEAR.format('y3')}
      | Q(?P<q>[1-4])(?:{_SP}(?:of{_SP})?(?:FY[ \t]?)?{_YEAR.format('qy')})?
      | (?:the{_SP})?(?P<qo>first|second|third|fourth|1st|2nd|3rd|4th){_SP}quarter
          (?:{_SP}of{_SP}{_YEAR.format('qoy')})?
      | (?:(?P<which>this|next|coming){_SP})?(?P<unit>week|month|quarter|year)(?(which)|(?(edge)|(?!)))
      | (?P<short>eow|eom|eoq|eoy)
      | (?P<now>today|tonight|eod|cob|this{_SP}(?:morning|afternoon|evening)
          |(?:the{_SP})?(?:end|close){_SP}of{_SP}(?:the{_SP})?(?:business{_SP})?day)
      | (?P<tomorrow>tomorrow)(?:{_SP}(?:morning|afternoon|evening))?
      | (?:(?P<wd_which>this|next|coming){_SP})?(?P<wd>(?:mon|tues|wednes|thurs|fri|satur|sun)day)
      | (?:in|within){_SP}(?P<n>{_COUNT}){_SP}(?:(?P<workdays>business|working){_SP})?
          (?P<span>day|week|month)s?
      | the{_SP}(?P<od>[0-3]?\d)(?:st|nd|rd|th)
      | {_BEFORE_BARE_MONTH}(?P<m4>(?-i:{_FULL_MONTH}))(?!{_SP}[0-3]?\d)
    )(?!\w)
""", re.IGNORECASE | re.VERBOSE)


@dataclass(frozen=True)
class DateMention:
    text: str  # as written: a verbatim substring of the text it was found in
    start: int
    end: int
    first: dt.date | None  # the first day it can mean; None only for a relative date read without `today`
    last: dt.date | None  # the last day it can mean (= first for a day)
    precision: Precision | None  # None with the dates
    year_given: bool  # the year is written, not inferred from `today`

    @property
    def day(self) -> dt.date | None:
        return self.first if self.precision == "day" else None


def date_mentions(text: str, *, today: dt.date | None) -> list[DateMention]:
    """Every date in `text`, in order, resolved against `today` (the day the text was written or said)."""
    found = []
    for m in DATE.finditer(text):
        try:
            span = _span(m, today)
        except ValueError:  # a day that does not exist
            continue
        if span is None:
            found.append(DateMention(m[0], m.start(), m.end(), None, None, None, False))
            continue
        first, last, precision, year_given = span
        if m["end"] or m["short"]:
            first, precision = last, "day"
        elif m["start"]:
            last, precision = first, "day"
        found.append(DateMention(m[0], m.start(), m.end(), first, last, precision, year_given))
    return found


def resolve_due(words: str, said_on: dt.date | None) -> dt.date | None:
    """The deadline `words` ("by Friday", "next week", "March 3") set when said on `said_on`: the last day
    of the first date in them ("next week": its Friday, "next month": its last day); None if there is none."""
    mentions = date_mentions(words, today=said_on)
    return mentions[0].last if mentions else None


def add_workdays(day: dt.date, count: int) -> dt.date:
    """`count` working days (Monday to Friday) after `day`."""
    while count > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5:
            count -= 1
    return day


Span = tuple[dt.date, dt.date, Precision, bool]  # first, last, precision, year_given


def _span(m: re.Match, today: dt.date | None) -> Span | None:
    """The days one match can mean, or None when it counts from `today` and there is none.
    Raises ValueError for a day that does not exist."""
    if m["iy"]:
        return _day(int(m["im"]), int(m["id"]), int(m["iy"]), today)
    if m["na"]:
        month, day = int(m["na"]), int(m["nb"])
        if month > 12 >= day:
            month, day = day, month
        year = m["ny"] and (int(m["ny"]) if len(m["ny"]) == 4 else 2000 + int(m["ny"]))
        return _day(month, day, year, today)
    if m["m1"] or m["m2"]:
        year = m["y1"] or m["y2"]
        return _day(_month(m["m1"] or m["m2"]), int(m["d1"] or m["d2"]), year and int(year), today)
    if m["m3"]:
        return (*_month_span(int(m["y3"]), _month(m["m3"])), "month", True)
    if m["q"] or m["qo"]:
        quarter = int(m["q"]) if m["q"] else _QUARTERS[m["qo"].lower()]
        if m["qy"] or m["qoy"]:
            return (*_quarter(int(m["qy"] or m["qoy"]), quarter), "quarter", True)
        return _upcoming(today, "quarter", lambda year: _quarter(year, quarter))
    if m["m4"]:
        month = _month(m["m4"])
        return _upcoming(today, "month", lambda year: _month_span(year, month))
    if today is None:
        return None  # everything below counts from the day it was said
    if m["unit"] or m["short"]:
        unit = (m["unit"] or _SHORT[m["short"].lower()]).lower()
        return (*_period(unit, today, 1 if (m["which"] or "").lower() == "next" else 0), unit, False)
    if m["now"] or m["tomorrow"]:
        day = today + dt.timedelta(days=1 if m["tomorrow"] else 0)
    elif m["wd"]:
        target = WEEKDAYS.index(m["wd"].lower())
        if (m["wd_which"] or "").lower() == "next":
            day = _week_start(today) + dt.timedelta(days=7 + target)
        else:
            day = today + dt.timedelta(days=(target - today.weekday() - 1) % 7 + 1)
    elif m["span"]:
        count, unit = _count(m["n"]), m["span"].lower()
        if unit == "month":
            day = _add_months(today, count)
        elif unit == "week":
            day = today + dt.timedelta(weeks=count)
        else:
            day = add_workdays(today, count) if m["workdays"] else today + dt.timedelta(days=count)
    else:  # "the 15th": this month's, or next month's once it has passed (or this month has none)
        this_month = today.replace(day=1)
        return _upcoming(today, "day", lambda start: (start.replace(day=int(m["od"])),) * 2,
                         keys=(this_month, _add_months(this_month, 1)))
    return day, day, "day", False


def _day(month: int, day: int, year: int | None, today: dt.date | None) -> Span | None:
    if year:
        date = dt.date(year, month, day)
        return date, date, "day", True
    return _upcoming(today, "day", lambda y: (dt.date(y, month, day),) * 2)


def _upcoming(today: dt.date | None, precision: Precision, make: Callable, keys: tuple = ()) -> Span | None:
    """The first make(key) -> (first, last), key this year and next (or `keys`), not over before `today`."""
    if today is None:
        make(2000)  # still raises for a day no year has (2000 is a leap year)
        return None
    for key in keys or (today.year, today.year + 1):
        try:
            first, last = make(key)
        except ValueError:  # February 29 in a common year, the 31st in a short month
            continue
        if last >= today:
            return first, last, precision, False
    raise ValueError("no such day ahead")


def _period(unit: str, day: dt.date, later: int) -> tuple[dt.date, dt.date]:
    """The week, month, quarter or year holding `day`, or the one `later` periods after it."""
    if unit == "week":
        monday = _week_start(day) + dt.timedelta(weeks=later)
        if not later and day.weekday() >= 5:
            monday += dt.timedelta(weeks=1)  # "this week" said on a weekend: the coming one
        return monday, monday + dt.timedelta(days=4)  # a working week: its deadline is the Friday
    if unit == "month":
        first = _add_months(day.replace(day=1), later)
        return _month_span(first.year, first.month)
    if unit == "quarter":
        year, index = divmod(day.year * 4 + (day.month - 1) // 3 + later, 4)
        return _quarter(year, index + 1)
    return dt.date(day.year + later, 1, 1), dt.date(day.year + later, 12, 31)


def _month(name: str) -> int:
    return MONTHS[name[:3].lower()]


def _count(words: str) -> int:
    key = " ".join(words.lower().split())
    return int(key) if key.isdigit() else _COUNTS[key]


def _month_span(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _quarter(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 3 * quarter - 2, 1), _month_span(year, 3 * quarter)[1]


def _add_months(day: dt.date, months: int) -> dt.date:
    year, index = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, index + 1, min(day.day, calendar.monthrange(year, index + 1)[1]))


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())
