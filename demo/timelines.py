"""What happened to each demo initiative: its workflow events, dated so that they read as history.

Pure, like the other generators: one `random.Random`, no database. `demo.writers`
inserts the events as InitiativeTransition rows, and the initiatives take their
created_at, updated_at and sign-off times from their timeline.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.utils import timezone

from demo.initiatives import InitiativePlan
from initiatives.choices import Action, Side, Status


class TimelineEvent(NamedTuple):
    """One entry of a demo initiative's timeline (an InitiativeTransition before the initiative has an id)."""

    action: str
    from_status: str
    to_status: str
    by_id: int
    at: dt.datetime
    reason: str
    proposal: int | None = None  # a share change's step: its index in the initiative's changes (demo.agreements)


@dataclass(frozen=True, slots=True)
class Timeline:
    """What happened to one demo initiative, oldest first, and the sponsors' sign-off times that follow from it."""

    events: tuple[TimelineEvent, ...]
    marketing_approved_at: dt.datetime | None
    it_approved_at: dt.datetime | None

    @property
    def filed_at(self) -> dt.datetime:
        """The create event: the initiative's created_at, the "Filed" date of its detail page."""
        return self.events[0].at

    @property
    def last_event_at(self) -> dt.datetime:
        """The initiative's updated_at: nothing changed it after its latest event."""
        return self.events[-1].at


_REASONS = {
    Action.REJECT: "Business case unclear: please quantify the outcome and the run cost.",
    Action.CANCEL: "Priorities changed at the quarterly portfolio review.",
}
# Demo events happen in office hours, local time: 08:00 plus up to ten hours.
_WORKDAY_START = dt.time(8)
_WORKDAY_MINUTES = 10 * 60
# Between two events that would otherwise collide (same instant, or pushed back to now).
_EVENT_GAP = dt.timedelta(minutes=30)


def demo_timelines(rng: random.Random, plans: Sequence[InitiativePlan], *, now: dt.datetime) -> list[Timeline]:
    """The timeline each plan's status implies, dated so that it reads as history; one per plan, in order.

    Filing, submission and the sponsors' decisions come a few days apart and
    end before the initiative's start date, or before today when it starts
    later (drafts and submissions are recent, an approved initiative may start
    next quarter). Work starts on the start date and is completed on the end
    date; a cancellation comes on the last day money was spent, and an
    initiative cancelled before it spent anything was cancelled while
    submitted. Every event is at or before `now`, in workflow order.
    """
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now, tz)
    return [_timeline(rng, plan, today=today, now=now, tz=tz) for plan in plans]


def _timeline(rng: random.Random, plan: InitiativePlan, *, today: dt.date, now: dt.datetime, tz: dt.tzinfo) -> Timeline:
    status, owner = plan.status, plan.owner_id
    sponsors = {Side.MARKETING: plan.marketing_sponsor_id, Side.IT: plan.it_sponsor_id}
    first_side, second_side = (Side.MARKETING, Side.IT) if rng.random() < 0.5 else (Side.IT, Side.MARKETING)
    # Cancelled work that has actuals had been approved and started; cancelled before it spent
    # anything, it was still waiting for sign-off.
    started = status in (Status.IN_PROGRESS, Status.DONE) or (
        status == Status.CANCELLED and plan.spend_until >= plan.start_date
    )
    approved = started or status == Status.APPROVED

    # Up to the sponsors' decision: (action, from_status, to_status, by), oldest first.
    steps = [(Action.CREATE, "", Status.DRAFT, owner)]
    if status != Status.DRAFT:
        steps.append((Action.SUBMIT, Status.DRAFT, Status.SUBMITTED, owner))
    if approved:
        steps.append((Action.APPROVE, Status.SUBMITTED, Status.SUBMITTED, sponsors[first_side]))
        steps.append((Action.APPROVE, Status.SUBMITTED, Status.APPROVED, sponsors[second_side]))
    elif status == Status.REJECTED:
        steps.append((Action.REJECT, Status.SUBMITTED, Status.REJECTED, sponsors[first_side]))
    elif status == Status.CANCELLED:
        steps.append((Action.CANCEL, Status.SUBMITTED, Status.CANCELLED, sponsors[first_side]))
    # The day of the last of them: before work started, and in any case before today.
    if started:
        last_day = plan.start_date - dt.timedelta(days=rng.randint(1, 30))
    elif status == Status.DRAFT:
        last_day = today - dt.timedelta(days=rng.randint(1, 45))
    elif status == Status.SUBMITTED:
        last_day = today - dt.timedelta(days=rng.randint(1, 21))
    else:  # approved, rejected, or cancelled while submitted
        last_day = min(today, plan.start_date) - dt.timedelta(days=rng.randint(1, 30))
    days = [last_day]
    for _ in steps[1:]:
        days.append(days[-1] - dt.timedelta(days=rng.randint(1, 5)))
    times = [office_time(rng, day, tz) for day in reversed(days)]

    if started:
        steps.append((Action.START, Status.APPROVED, Status.IN_PROGRESS, owner))
        times.append(office_time(rng, plan.start_date, tz))
        if status == Status.DONE:
            steps.append((Action.COMPLETE, Status.IN_PROGRESS, Status.DONE, owner))
            times.append(office_time(rng, plan.end_date, tz))
        elif status == Status.CANCELLED:
            steps.append((Action.CANCEL, Status.IN_PROGRESS, Status.CANCELLED, sponsors[first_side]))
            times.append(office_time(rng, plan.spend_until, tz))
    times = _in_order_and_past(times, now)

    events = tuple(
        TimelineEvent(action, from_status, to_status, by_id, at, _REASONS.get(action, ""))
        for (action, from_status, to_status, by_id), at in zip(steps, times, strict=True)
    )
    sign_offs = {first_side: times[2], second_side: times[3]} if approved else {}
    return Timeline(events, sign_offs.get(Side.MARKETING), sign_offs.get(Side.IT))


def office_time(rng: random.Random, day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, _WORKDAY_START, tzinfo=tz) + dt.timedelta(minutes=rng.randint(0, _WORKDAY_MINUTES))


def _in_order_and_past(times: list[dt.datetime], now: dt.datetime) -> list[dt.datetime]:
    """`times` strictly increasing and none after `now`.

    Only the rare clash moves: a cancellation on the day work started, an
    event dated today but later in the day than `now`.
    """
    for index in range(1, len(times)):
        times[index] = max(times[index], times[index - 1] + _EVENT_GAP)
    latest = now
    for index in reversed(range(len(times))):
        times[index] = min(times[index], latest)
        latest = times[index] - _EVENT_GAP
    return times
