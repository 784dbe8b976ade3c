"""The nightly beat schedule: crontabs in TIME_ZONE, exactly once a night across daylight-saving changes.

Beat is simulated with a frozen clock: a Celery app in the given time zone (as
CELERY_TIMEZONE with enable_utc off configures ours), the schedule's `is_due` asked
at every tick, `last_run_at` set to the tick time when it fires, exactly as
celery.beat.ScheduleEntry does. Two tick patterns: every minute, and beat's own
(sleep until the next due time, at most beat_max_loop_interval = 300 s).

Documented behaviour (settings/base.py): an hour skipped by spring-forward runs at
the first minute after the gap (02:00 → 03:00 local); an hour repeated by fall-back
runs at its first occurrence only.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from celery import Celery
from celery.schedules import crontab
from django.conf import settings

MAX_LOOP = dt.timedelta(seconds=300)


def simulate_beat(
    schedule: crontab, tz: str, start: dt.datetime, end: dt.datetime, *, every_minute: bool, max_loop=MAX_LOOP
) -> list:
    """Local times at which beat would have sent the task between `start` and `end`."""
    zone = ZoneInfo(tz)
    app = Celery(set_as_current=False)
    app.conf.timezone = tz
    app.conf.enable_utc = False
    # The clock runs in UTC: Python adds timedeltas to zone-aware datetimes in wall time,
    # which would step into the spring-forward gap; app.now() never does.
    clock = {"now": start.astimezone(dt.UTC)}
    entry = copy.copy(schedule)
    entry._app = app
    entry.nowfun = lambda: clock["now"].astimezone(zone)

    sent = []
    last_run_at = start.astimezone(zone)
    while clock["now"] < end.astimezone(dt.UTC):
        due, next_in = entry.is_due(last_run_at)
        if due:
            last_run_at = clock["now"].astimezone(zone)
            sent.append(last_run_at)
        if every_minute:
            clock["now"] += dt.timedelta(minutes=1)
        else:
            clock["now"] += min(dt.timedelta(seconds=max(next_in, 1)), max_loop)
    return sent


def nights(tz: str, first_night: dt.date, count: int = 3) -> tuple[dt.datetime, dt.datetime]:
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(first_night - dt.timedelta(days=1), dt.time(12), zone)
    return start, start + dt.timedelta(days=count)


# (time zone, night of the change, hour, local wall time it runs that night)
DST_NIGHTS = [
    # Europe/Berlin, spring forward 29 Mar 2026: 02:00 → 03:00 (02:xx does not exist)
    ("Europe/Berlin", dt.date(2026, 3, 29), 1, "01:00+01:00"),
    ("Europe/Berlin", dt.date(2026, 3, 29), 2, "03:00+02:00"),  # the skipped hour: right after the gap
    ("Europe/Berlin", dt.date(2026, 3, 29), 3, "03:00+02:00"),
    # Europe/Berlin, fall back 25 Oct 2026: 03:00 → 02:00 (02:xx happens twice)
    ("Europe/Berlin", dt.date(2026, 10, 25), 2, "02:00+02:00"),  # the repeated hour: first occurrence only
    ("Europe/Berlin", dt.date(2026, 10, 25), 3, "03:00+01:00"),
    # America/New_York, spring forward 8 Mar 2026: 02:00 → 03:00
    ("America/New_York", dt.date(2026, 3, 8), 2, "03:00-04:00"),
    # America/New_York, fall back 1 Nov 2026: 02:00 → 01:00 (01:xx happens twice)
    ("America/New_York", dt.date(2026, 11, 1), 1, "01:00-04:00"),
    ("America/New_York", dt.date(2026, 11, 1), 2, "02:00-05:00"),
]


@pytest.mark.parametrize("every_minute", [True, False], ids=["minute-ticks", "beat-ticks"])
@pytest.mark.parametrize(("tz", "night", "hour", "runs_at"), DST_NIGHTS)
def test_nightly_crontab_runs_exactly_once_a_night_across_dst(tz, night, hour, runs_at, every_minute):
    start, end = nights(tz, night)  # noon the day before → noon two days after: three nights, the change first

    sent = simulate_beat(crontab(hour=hour, minute=0), tz, start, end, every_minute=every_minute)

    local_dates = [moment.date() for moment in sent]
    assert local_dates == [night + dt.timedelta(days=n) for n in range(3)], sent
    [on_the_night] = [moment for moment in sent if moment.date() == night]
    assert on_the_night.isoformat()[11:] == f"{runs_at[:5]}:00{runs_at[5:]}"


NIGHTLY = {name: entry for name, entry in settings.CELERY_BEAT_SCHEDULE.items() if name.endswith("-nightly")}


def test_the_configured_entries_run_once_a_night_in_the_configured_zone_over_a_whole_year():
    """Every nightly entry, in a DST zone, over all of 2026 with beat's ticks: one run per local day."""
    # The others: the check for dead recomputes (below), the notifications' re-send
    # (tests/initiatives/test_notifications.py), the check for dead exports (tests/reports) and the hourly
    # share sync (tests/initiatives/test_agreements.py).
    assert set(settings.CELERY_BEAT_SCHEDULE) - set(NIGHTLY) == {
        "split-runs-recover-every-minute",
        "notifications-resend",
        "exports-recover",
        "agreements-share-sync-hourly",
    }
    tz = "Europe/Berlin"
    start = dt.datetime(2026, 1, 1, 12, tzinfo=ZoneInfo(tz))
    end = dt.datetime(2027, 1, 1, 12, tzinfo=ZoneInfo(tz))
    for name, entry in NIGHTLY.items():
        # beat sleeping exactly until each next due time (no intermediate wake-ups: fast)
        sent = simulate_beat(entry["schedule"], tz, start, end, every_minute=False, max_loop=dt.timedelta(days=2))
        dates = [moment.date() for moment in sent]
        assert len(dates) == len(set(dates)) == 365, name


def test_recompute_is_scheduled_at_the_setting_hour_and_every_periodic_task_expires():
    recompute = settings.CELERY_BEAT_SCHEDULE["split-recompute-nightly"]
    assert recompute["task"] == "split.tasks.split_recompute_task"
    assert recompute["schedule"] == crontab(hour=settings.SPLIT_RECOMPUTE_HOUR, minute=0)
    alerts = settings.CELERY_BEAT_SCHEDULE["overspend-alerts-nightly"]
    assert alerts["task"] == "split.tasks.overspend_alerts_task"
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert isinstance(entry["schedule"], crontab), f"{name}: crontab rather than an interval"
        assert 0 < entry["options"]["expires"] <= 24 * 3600, f"{name} needs an expiry"
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
    assert settings.CELERY_ENABLE_UTC is False


@pytest.mark.django_db  # Celery's Django fixup runs the model checks, and a JSONField's asks SQLite for JSON support
def test_the_scheduled_tasks_are_registered_with_the_app():
    from portfolio.celery import app

    app.loader.import_default_modules()  # what a worker does at start: autodiscovery imports every app's tasks
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in app.tasks
    assert app.tasks["split.tasks.split_recompute_task"].acks_late is True
    assert (
        app.tasks["split.tasks.split_recompute_task"].time_limit
        > app.tasks["split.tasks.split_recompute_task"].soft_time_limit
    )


def test_runs_whose_worker_died_are_looked_for_every_minute_and_a_missed_check_is_dropped():
    check = settings.CELERY_BEAT_SCHEDULE["split-runs-recover-every-minute"]
    assert check["task"] == "split.tasks.split_runs_recover_task"
    start = dt.datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Berlin"))  # across the spring-forward gap
    end = start.astimezone(dt.UTC) + dt.timedelta(hours=2)
    sent = simulate_beat(check["schedule"], "Europe/Berlin", start, end, every_minute=False)
    gaps = {later.astimezone(dt.UTC) - earlier.astimezone(dt.UTC) for earlier, later in itertools.pairwise(sent)}
    assert gaps == {dt.timedelta(minutes=1)} and len(sent) >= 119  # every minute of two real hours
    assert check["options"]["expires"] < 60  # never two checks queued for the same minute


def test_a_follow_up_waits_longer_than_a_run_can_hold_the_lock_and_its_limits_count_the_wait():
    """Requests joined the follow-up: it must never give up behind a slow run, nor be killed while waiting."""
    from portfolio.celery import app
    from split.locks import LOCK_WAIT_SECONDS
    from split.services import RUN_SOFT_TIME_LIMIT_SECONDS, RUN_TIME_LIMIT_SECONDS

    task = app.tasks["split.tasks.split_recompute_task"]
    assert LOCK_WAIT_SECONDS > RUN_TIME_LIMIT_SECONDS  # a run past its hard limit is killed: the lock is free
    assert task.soft_time_limit >= LOCK_WAIT_SECONDS + RUN_SOFT_TIME_LIMIT_SECONDS
    assert task.time_limit >= LOCK_WAIT_SECONDS + RUN_TIME_LIMIT_SECONDS
