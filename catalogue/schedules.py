"""Source schedules: a cron expression (``"0 3 * * *"``, UTC) or an interval (``"every 10s"``,
``"every 6h"``, ``"every 1d"``), or none (harvested only when asked). Parsed into APScheduler
3 triggers; the text is what the store keeps and admins see."""

from __future__ import annotations

import re
from datetime import UTC, timedelta

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

SCHEDULE_HELP = (
    'a cron expression in UTC ("0 3 * * *"), "every N" with a unit s, m, h or d '
    '("every 6h"), or "none"'
)
_EVERY = re.compile(r"every\s+(\d{1,7})\s*(s|m|h|d)", re.IGNORECASE)
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
MAX_SPEC_CHARS = 100
NONE_WORDS = {"", "none", "manual", "off"}


class BadSchedule(ValueError):
    pass


def normalize_schedule(spec: str | None) -> str | None:
    """The canonical text of ``spec`` (None: no schedule), or :class:`BadSchedule`."""
    if spec is None:
        return None
    if not isinstance(spec, str):
        raise BadSchedule(f"a schedule is text: {SCHEDULE_HELP}")
    text = " ".join(spec.split())
    if text.lower() in NONE_WORDS:
        return None
    if len(text) > MAX_SPEC_CHARS:
        raise BadSchedule(f"longer than {MAX_SPEC_CHARS} characters")
    if m := _EVERY.fullmatch(text):
        n, unit = int(m.group(1)), m.group(2).lower()
        if n == 0:
            raise BadSchedule("an interval must be at least 1")
        if timedelta(**{_UNIT[unit]: n}) > timedelta(days=3660):
            raise BadSchedule("an interval of at most ten years")
        return f"every {n}{unit}"
    if len(text.split(" ")) != 5:
        raise BadSchedule(f"{spec[:60]!r} is not {SCHEDULE_HELP}")
    try:
        _cron(text)
    except ValueError as exc:
        raise BadSchedule(f"{spec[:60]!r} is not a valid cron expression: {exc}") from None
    return text


def interval_of(spec: str) -> timedelta | None:
    """The interval of an ``every ...`` schedule (None for a cron expression)."""
    if m := _EVERY.fullmatch(spec):
        return timedelta(**{_UNIT[m.group(2).lower()]: int(m.group(1))})
    return None


def trigger_for(spec: str, jitter: float = 0) -> BaseTrigger:
    """The APScheduler trigger of a normalized schedule. ``jitter`` (seconds) spreads
    sources with the same schedule; an interval gets at most a tenth of itself."""
    interval = interval_of(spec)
    if interval is not None:
        jitter = min(jitter, interval.total_seconds() / 10)
        return IntervalTrigger(
            seconds=int(interval.total_seconds()), timezone=UTC, jitter=int(jitter) or None
        )
    return _cron(spec, jitter)


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _cron(spec: str, jitter: float = 0) -> CronTrigger:
    """Crontab semantics: day of week 0 (and 7) is Sunday (APScheduler 3 counts from Monday,
    so numbers become names)."""
    minute, hour, day, month, day_of_week = spec.split(" ")
    day_of_week = re.sub(
        r"\d+", lambda m: _DAYS[int(m.group())] if int(m.group()) < 8 else m.group(), day_of_week
    )
    if day_of_week in ("sun-sat", "sun-sun"):
        day_of_week = "*"
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=day_of_week,
        timezone=UTC,
        jitter=int(jitter) or None,
    )
