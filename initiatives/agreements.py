"""The co-funding agreement timeline (PRODUCT.md §2 *Co-funding agreement*): the one place of its rules.

An initiative's share is a timeline of agreements, each from the first day of a month. The share in
force in a month is that of the latest agreement from that month or before; before the first
agreement's month, the first agreement's; with no agreement yet (before dual sign-off), the
initiative's own `marketing_share_pct`. The first agreement comes from the dual sign-off (from the
start month, `agreement_first_create`); each later one from an approved share-change proposal, from
its effective month (`agreement_from_proposal`), which is never a locked month and never before the
start month (`effective_month_error`, the default `effective_month_default`). An agreement for a month
that already has one replaces it in place, so its history keeps the earlier values.

`Initiative.marketing_share_pct` is the share in force in the current month: the services set it
when an agreement is made, and `agreements_sync_current_share` (beat, every hour:
`agreements-share-sync-hourly`) moves it when a later agreement's month arrives. The split engine reads
the agreements table itself.

Month locks are budgets', asked through `portfolio.periods` (initiatives may not import budgets).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from portfolio import periods
from portfolio.fiscal import add_months, month_label, month_start

from .models import CoFundingAgreement, Initiative, InitiativeChangeProposal

# The default effective month looks this far ahead for a month that is not locked.
_DEFAULT_SEARCH_MONTHS = 240


def current_month(today: dt.date | None = None) -> dt.date:
    return month_start(today or timezone.localdate())


# --- reading the timeline --------------------------------------------------------------------


def agreement_timeline(initiative: Initiative) -> list[CoFundingAgreement]:
    """The initiative's agreements, oldest first, with their signers and proposal (one query)."""
    return list(
        CoFundingAgreement.objects.filter(initiative=initiative)
        .select_related("marketing_signed_by", "it_signed_by", "proposal")
        .order_by("effective_from")
    )


def _index_in_force(months: list[dt.date], month: dt.date) -> int | None:
    """The rule, on the agreements' months in order: the index of the latest from `month` or before;
    before the first one's month, the first one (0); None with no agreement."""
    if not months:
        return None
    month = month_start(month)
    index = 0
    for position, effective_from in enumerate(months):
        if effective_from > month:
            break
        index = position
    return index


def share_from_timeline(timeline: Iterable[tuple[dt.date, Decimal]], month: dt.date, *, default: Decimal) -> Decimal:
    """The share in force in `month` from (effective_from, share) pairs in any order; `default` with none."""
    ordered = sorted(timeline)
    index = _index_in_force([effective_from for effective_from, _ in ordered], month)
    return default if index is None else ordered[index][1]


def agreement_in_force(timeline: list[CoFundingAgreement], month: dt.date) -> CoFundingAgreement | None:
    """The agreement in force in `month` among `timeline` (oldest first, as `agreement_timeline` gives it)."""
    index = _index_in_force([agreement.effective_from for agreement in timeline], month)
    return None if index is None else timeline[index]


def share_in_force(initiative: Initiative, month: dt.date) -> Decimal:
    """Marketing's share (%) in force in `month` (any day of it) for `initiative` (one query)."""
    pairs = CoFundingAgreement.objects.filter(initiative=initiative).values_list(
        "effective_from", "marketing_share_pct"
    )
    return share_from_timeline(pairs, month, default=initiative.marketing_share_pct)


# --- the effective month of a share change ---------------------------------------------------


def effective_month_default(initiative: Initiative, *, today: dt.date | None = None) -> dt.date:
    """The first month from the current one on, not before the start month, that is not locked."""
    month = max(current_month(today), month_start(initiative.start_date))
    candidates = [add_months(month, step) for step in range(_DEFAULT_SEARCH_MONTHS)]
    locked = periods.locked_months(candidates)
    return next(candidate for candidate in candidates if candidate not in locked)


def effective_month_error(initiative: Initiative, month: dt.date, *, hold: bool = False) -> str:
    """Why a new share cannot apply from `month` ('' when it can): before the start month, or locked.

    `hold=True` inside the approving transaction: the lock table then stays as it was seen until commit.
    """
    month = month_start(month)
    start = month_start(initiative.start_date)
    if month < start:
        return f"The initiative starts in {month_label(start)}: the new share cannot apply before it."
    if periods.locked_months([month], hold=hold):
        return f"{month_label(month)} is locked: choose an open month."
    return ""


def effective_month_choices(initiative: Initiative, *, default: dt.date) -> list[tuple[dt.date, bool]]:
    """(month, locked) from the start month to the end month (or to `default`, the default effective
    month, if later): what the share-change form offers."""
    first = month_start(initiative.start_date)
    last = max(month_start(initiative.end_date), default)
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = add_months(month, 1)
    locked = periods.locked_months(months)
    return [(month, month in locked) for month in months]


# --- writing agreements ------------------------------------------------------------------------


def _save(agreement: CoFundingAgreement, by: AbstractBaseUser | None, reason: str) -> CoFundingAgreement:
    agreement._history_user = by  # history records who, also outside a web request
    agreement._change_reason = reason[:100]
    agreement.save()
    return agreement


def _put(
    *, initiative: Initiative, effective_from: dt.date, by: AbstractBaseUser | None, reason: str, **values
) -> CoFundingAgreement:
    """Create the agreement of (initiative, month), or replace the one there in place (kept in its history)."""
    agreement = (
        CoFundingAgreement.objects.select_for_update()
        .filter(initiative=initiative, effective_from=effective_from)
        .first()
    )
    if agreement is None:
        agreement = CoFundingAgreement(initiative=initiative, effective_from=effective_from)
    else:
        reason = f"Replaced: {reason}"
        values.setdefault("created_at", timezone.now())
    for name, value in values.items():
        setattr(agreement, name, value)
    return _save(agreement, by, reason)


@transaction.atomic
def agreement_first_create(*, initiative: Initiative, by: AbstractBaseUser | None) -> CoFundingAgreement:
    """The first agreement, at dual sign-off: from the start month, with the approved share, signed by
    both sponsors at their approval times. Called with the initiative's row locked (the workflow service)."""
    return _put(
        initiative=initiative,
        effective_from=month_start(initiative.start_date),
        by=by,
        reason="Dual sign-off",
        marketing_share_pct=initiative.marketing_share_pct,
        marketing_signed_by_id=initiative.marketing_sponsor_id,
        marketing_signed_at=initiative.marketing_approved_at,
        it_signed_by_id=initiative.it_sponsor_id,
        it_signed_at=initiative.it_approved_at,
        proposal=None,
    )


@transaction.atomic
def agreement_from_proposal(
    *, proposal: InitiativeChangeProposal, initiative: Initiative, by: AbstractBaseUser
) -> CoFundingAgreement:
    """The agreement of an approved share change: from its effective month, signed by the two sponsors
    who approved it. The month is checked again, holding the period lock: a month locked since the
    proposal was made refuses the approval (ValidationError on `effective_from`).

    Called with the initiative's and the proposal's rows locked (the workflow service). An initiative
    approved before agreements existed (no timeline yet) first gets its start-month agreement with the
    share it had, so the months before the change keep it.
    """
    month = proposal.effective_from
    if error := effective_month_error(initiative, month, hold=True):
        raise ValidationError(
            {
                "effective_from": f"{error} This change was proposed from {month_label(month)}: "
                "reject it and propose it again from an open month."
            }
        )
    if not CoFundingAgreement.objects.filter(initiative=initiative).exists() and month > month_start(
        initiative.start_date
    ):
        agreement_first_create(initiative=initiative, by=by)
    return _put(
        initiative=initiative,
        effective_from=month,
        by=by,
        reason=f"Share change #{proposal.pk} approved",
        marketing_share_pct=proposal.marketing_share_pct,
        marketing_signed_by_id=proposal.marketing_approved_by_id,
        marketing_signed_at=proposal.marketing_approved_at,
        it_signed_by_id=proposal.it_approved_by_id,
        it_signed_at=proposal.it_approved_at,
        proposal=proposal,
    )


# --- keeping the initiative's share the one in force -----------------------------------------------


def _share_now(month: dt.date) -> Coalesce:
    """The share in force in `month` per initiative, as an expression (the latest agreement from
    that month or before, else the first one; NULL with no agreement)."""
    agreements = CoFundingAgreement.objects.filter(initiative=OuterRef("pk")).values("marketing_share_pct")
    latest = agreements.filter(effective_from__lte=month).order_by("-effective_from")[:1]
    first = agreements.order_by("effective_from")[:1]
    return Coalesce(Subquery(latest), Subquery(first))


def agreements_sync_current_share(today: dt.date | None = None) -> int:
    """Set `Initiative.marketing_share_pct` to the share in force in the current month wherever it differs
    (an agreement whose month has come); each change recorded in the initiative's history (who: nobody,
    why: the agreement in force). Returns how many changed.

    One query finds the initiatives that differ (two index lookups per initiative on the agreements'
    unique (initiative, effective_from)); only those are locked, in primary-key order, and written in
    bulk with their history rows: cheap at 20 k initiatives, and a month where many agreements start
    costs a few statements per thousand, not a save per initiative.
    """
    month = current_month(today)
    ids = list(
        Initiative.objects.annotate(share_now=_share_now(month))
        .filter(share_now__isnull=False)
        .filter(~Q(marketing_share_pct=F("share_now")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not ids:
        return 0
    with transaction.atomic():
        locked = Initiative.objects.select_for_update().filter(pk__in=ids).annotate(share_now=_share_now(month))
        changed = [row for row in locked.order_by("pk") if row.share_now is not None]
        changed = [row for row in changed if row.share_now != row.marketing_share_pct]  # not changed meanwhile
        _bulk_save_shares(changed, reason=f"Agreement in force from {month_label(month)}")
    return len(changed)


def _bulk_save_shares(initiatives: list[Initiative], *, reason: str, batch_size: int = 1000) -> None:
    """Write the new shares and their history rows (with the platforms as they are, like a save would)."""
    if not initiatives:
        return
    now = timezone.now()
    for initiative in initiatives:
        initiative.marketing_share_pct = initiative.share_now
        initiative.updated_at = now
    Initiative.objects.bulk_update(initiatives, ["marketing_share_pct", "updated_at"], batch_size=batch_size)
    records = Initiative.history.bulk_history_create(
        initiatives, batch_size=batch_size, update=True, default_change_reason=reason, default_date=now
    )
    history_ids = {record.id: record.history_id for record in records}
    through = Initiative.platforms.through
    platform_history = Initiative.history.model.platforms.model
    rows = through.objects.filter(from_initiative_id__in=history_ids).values_list(
        "id", "from_initiative_id", "to_initiative_id"
    )
    platform_history.objects.bulk_create(
        [
            platform_history(
                id=row_id, history_id=history_ids[from_id], from_initiative_id=from_id, to_initiative_id=to_id
            )
            for row_id, from_id, to_id in rows
        ],
        batch_size=batch_size,
    )
