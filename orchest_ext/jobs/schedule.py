"""When a job fires: now, once at a time, or on a cron expression in a time zone (croniter)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

from .request import JobRequestError


@dataclass(frozen=True)
class Schedule:
    """``cron`` (5 fields, or 6 with seconds last) in ``timezone``; else once ``at`` a time;
    else once, now."""

    cron: str | None = None
    timezone: str = "UTC"
    at: datetime | None = None

    def first_fire(self, now: datetime) -> datetime:
        """The first fire of a new (or resumed) schedule, at or after ``now``."""
        if self.cron is None:
            return self.at or now
        return self.next_fire(now)

    def next_fire(self, after: datetime) -> datetime | None:
        """The fire after ``after`` (UTC), None for a one-off schedule."""
        if self.cron is None:
            return None
        local = after.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local).get_next(datetime).astimezone(timezone.utc)

    def to_dict(self) -> dict[str, Any]:
        if self.cron is not None:
            return {"cron": self.cron, "timezone": self.timezone}
        if self.at is not None:
            return {"at": self.at.isoformat()}
        return {}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Schedule:
        """The schedule ``to_dict`` stored."""
        if "cron" in data:
            return cls(cron=data["cron"], timezone=data["timezone"])
        return cls(at=datetime.fromisoformat(data["at"]) if "at" in data else None)


def parse_schedule(raw: Any, now: datetime, field: str = "schedule") -> Schedule:
    """A schedule from its JSON (None or ``{}``: once, now); ``JobRequestError`` names the
    field that is wrong."""
    if raw is None:
        return Schedule()
    if not isinstance(raw, dict):
        raise JobRequestError(field, "must be an object with cron (and timezone) or at")
    unknown = sorted(set(raw) - {"cron", "timezone", "at"})
    if unknown:
        raise JobRequestError(f"{field}.{unknown[0]}", "is not a schedule field")
    if "cron" in raw and "at" in raw:
        raise JobRequestError(field, "give either cron or at, not both")
    zone = raw.get("timezone", "UTC")
    if not isinstance(zone, str):
        raise JobRequestError(f"{field}.timezone", "must be an IANA time zone name")
    try:
        zone_info = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise JobRequestError(
            f"{field}.timezone", f"{zone!r} is not a known time zone (e.g. 'Europe/Amsterdam')"
        ) from None
    if "cron" in raw:
        cron = raw["cron"]
        if not isinstance(cron, str) or len(cron.split()) not in (5, 6):
            raise JobRequestError(
                f"{field}.cron", "must be a cron expression of 5 fields (or 6, seconds last)"
            )
        if not croniter.is_valid(cron):
            raise JobRequestError(f"{field}.cron", f"{cron!r} is not a valid cron expression")
        schedule = Schedule(cron=cron, timezone=zone)
        try:
            schedule.next_fire(now)
        except CroniterBadDateError:
            raise JobRequestError(f"{field}.cron", f"{cron!r} never fires") from None
        except (CroniterBadCronError, ValueError, KeyError) as err:
            raise JobRequestError(f"{field}.cron", f"{cron!r} is not valid: {err}") from None
        return schedule
    if "at" in raw:
        at = _parse_time(raw["at"], f"{field}.at")
        if at.tzinfo is None:
            at = at.replace(tzinfo=zone_info)
        try:
            at = at.astimezone(timezone.utc)
        except OverflowError:
            raise JobRequestError(f"{field}.at", f"{raw['at']!r} is out of range") from None
        if at < now:
            raise JobRequestError(f"{field}.at", f"{raw['at']!r} is in the past")
        return Schedule(at=at)
    return Schedule()


def _parse_time(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    raise JobRequestError(field, "must be an ISO 8601 time such as '2030-01-31T03:00:00+01:00'")
