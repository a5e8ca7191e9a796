"""Date windows: a source's list cut into consecutive from/until ranges.

A source of millions of records listed in one go depends on one resumption-token chain
for hours; cut into windows (a month, a week or a day of datestamps each), every window
is a short list of its own, and a window that fails is asked for again alone. From/until
are inclusive in OAI-PMH, so a window ends one granularity step (a second, or a day)
before the next one starts; the last one ends at the repository's clock when the run
started.
"""

from __future__ import annotations

from datetime import datetime, timedelta

WINDOW_UNITS = ("month", "week", "day")
Window = tuple[datetime | None, datetime | None]


def _next_boundary(moment: datetime, unit: str) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day + timedelta(days=1)
    if unit == "week":
        return day + timedelta(days=7 - day.weekday())  # the next Monday
    first = day.replace(day=1)
    return first.replace(year=first.year + 1, month=1) if first.month == 12 else (
        first.replace(month=first.month + 1)
    )  # fmt: skip


def windows(start: datetime | None, end: datetime | None, unit: str, *,
            day_granularity: bool = False) -> list[Window]:  # fmt: skip
    """The windows from ``start`` to ``end`` (calendar-aligned), or one open list ``(start,
    None)`` without a unit or a start."""
    if not unit or start is None or end is None or start > end:
        return [(start, None)]
    if unit not in WINDOW_UNITS:
        raise ValueError(f"unknown window {unit!r}; use one of {', '.join(WINDOW_UNITS)}")
    step = timedelta(days=1) if day_granularity else timedelta(seconds=1)
    result: list[Window] = []
    lo = start
    while True:
        boundary = _next_boundary(lo, unit)
        if boundary > end:
            result.append((lo, end))
            return result
        result.append((lo, boundary - step))
        lo = boundary
