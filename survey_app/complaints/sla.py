"""SLA clock arithmetic: working time between two instants and a deadline after a working time.

Pure functions of their arguments (no clock, no database): ``calendar=None`` means the clock runs
around the clock; otherwise only the calendar's working hours on working, non-holiday days count.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: a deadline further than this is a configuration error (no working day at all, say)
MAX_DAYS = 3660


@dataclass(frozen=True)
class Calendar:
    start_minute: int
    end_minute: int
    #: ISO weekdays (Monday = 1)
    weekdays: frozenset[int]
    holidays: frozenset[date]
    tz: ZoneInfo

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The working period of ``day`` in UTC, or None on a day off."""
        if day.isoweekday() not in self.weekdays or day in self.holidays:
            return None
        if self.end_minute <= self.start_minute:
            return None
        start = datetime.combine(day, time(0), self.tz) + timedelta(minutes=self.start_minute)
        end = datetime.combine(day, time(0), self.tz) + timedelta(minutes=self.end_minute)
        return start.astimezone(UTC), end.astimezone(UTC)

    @property
    def usable(self) -> bool:
        return bool(self.weekdays) and self.end_minute > self.start_minute


def working_seconds(calendar: Calendar | None, start: datetime, end: datetime) -> int:
    """Seconds of working time in ``[start, end)`` (0 when ``end <= start``)."""
    if end <= start:
        return 0
    if calendar is None or not calendar.usable:
        return int((end - start).total_seconds())
    total = 0.0
    day = start.astimezone(calendar.tz).date()
    last = end.astimezone(calendar.tz).date()
    while day <= last:
        window = calendar.window(day)
        if window:
            lo, hi = max(window[0], start), min(window[1], end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        day += timedelta(days=1)
    return int(total)


def add_working_seconds(calendar: Calendar | None, start: datetime, seconds: int) -> datetime:
    """The instant when ``seconds`` of working time have passed since ``start``."""
    if calendar is None or not calendar.usable:
        return start + timedelta(seconds=seconds)
    remaining = float(seconds)
    day = start.astimezone(calendar.tz).date()
    for _ in range(MAX_DAYS):
        window = calendar.window(day)
        if window:
            lo = max(window[0], start)
            available = (window[1] - lo).total_seconds()
            if available > 0:
                if remaining <= available:
                    return lo + timedelta(seconds=remaining)
                remaining -= available
        day += timedelta(days=1)
    return start + timedelta(seconds=seconds)
