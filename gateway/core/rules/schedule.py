"""When a workflow schedule fires: a five-field cron expression read in an IANA time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from gateway.core.rules import reject

MAX_TIMEZONE = 64  # the longest IANA zone name has 32 characters


def cron(expression: str) -> str:
    """The expression with its white space folded, when it is five fields that fire some day."""
    text = " ".join(expression.split())
    # Five fields only: croniter would also read a sixth (seconds), which schedulers here do not run.
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise reject("INVALID_CRON", f"{expression[:100]!r} is not a five-field cron expression", "cron")
    try:
        # A valid expression may name a day that never comes (`0 0 30 2 *`); there is no next run to store.
        croniter(text, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).get_next(dt.datetime)
    except CroniterError:
        raise reject("INVALID_CRON", f"{expression[:100]!r} never fires", "cron") from None
    return text


def timezone(name: str) -> ZoneInfo:
    # The name is a path under the tz database: a directory (`Europe`) or an over-long
    # name fails with OSError, which is as much the caller's mistake as an unknown zone.
    try:
        if len(name) > MAX_TIMEZONE:
            raise ValueError(name)
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise reject("INVALID_TIMEZONE", f"{name[:100]!r} is not an IANA time zone", "timezone") from None


def next_run(expression: str, zone: ZoneInfo, after: dt.datetime) -> dt.datetime:
    """The next time the cron expression fires, read in `zone`, as a UTC instant."""
    local: dt.datetime = croniter(expression, after.astimezone(zone)).get_next(dt.datetime)
    return local.astimezone(dt.UTC).replace(microsecond=0)
