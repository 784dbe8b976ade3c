"""Overspend detection and its alerts (PRODUCT.md): read from the latest split, e-mailed at most once a month."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from initiatives.choices import NotificationKind
from initiatives.models import Initiative
from initiatives.notifications import notifications_queue
from portfolio import fiscal
from split.models import OverspendAlert, SplitRow
from split.selectors import MoneySum, overspent_q

logger = logging.getLogger(__name__)

# --- overspend alerts -------------------------------------------------------------


@dataclass(frozen=True)
class Overspend:
    """An initiative whose fiscal-year-to-date actuals exceed its plan by more than the threshold."""

    initiative_id: int
    fiscal_year: int
    planned_total: Decimal
    actual_total: Decimal


def overspending_initiatives(*, today: dt.date, threshold_pct: int | Decimal) -> list[Overspend]:
    """From the latest split: FYTD actual_total > planned_total × (1 + threshold/100), and positive.

    Year to date means the months of today's fiscal year up to and including today's month.
    """
    year = fiscal.fiscal_year(today)
    first_month, _ = fiscal.fiscal_year_bounds(year)
    rows = (
        SplitRow.objects.filter(month__gte=first_month, month__lte=fiscal.month_start(today))
        .values("initiative_id")
        .annotate(planned=MoneySum("planned_total"), actual=MoneySum("actual_total"))
        .filter(overspent_q("actual", "planned", threshold_pct))
        .order_by("initiative_id")
    )
    return [Overspend(r["initiative_id"], year, r["planned"], r["actual"]) for r in rows]


def overspend_alerts_send(*, today: dt.date | None = None) -> int:
    """Email owner and both sponsors of each overspending initiative, at most once per initiative a month.

    The alert row (unique per initiative and month) and its notifications are written in
    one transaction; the e-mails go out once it commits, through the notification tasks,
    which retry a mail server that is down and record each e-mail sent or failed
    (initiatives.notifications). Returns the number of alerts written.
    """
    today = today or timezone.localdate()
    month = fiscal.month_start(today)
    threshold = settings.OVERSPEND_ALERT_PCT
    candidates = overspending_initiatives(today=today, threshold_pct=threshold)
    already = set(
        OverspendAlert.objects.filter(month=month, initiative_id__in=[c.initiative_id for c in candidates]).values_list(
            "initiative_id", flat=True
        )
    )
    due = [c for c in candidates if c.initiative_id not in already]
    initiatives = Initiative.objects.select_related("owner", "marketing_sponsor", "it_sponsor").in_bulk(
        [c.initiative_id for c in due]
    )
    sent = 0
    for overspend in due:
        initiative = initiatives[overspend.initiative_id]
        with transaction.atomic():
            _, created = OverspendAlert.objects.get_or_create(
                initiative=initiative,
                month=month,
                defaults={
                    "fiscal_year": overspend.fiscal_year,
                    "planned_total": overspend.planned_total,
                    "actual_total": overspend.actual_total,
                },
            )
            if not created:
                continue
            _queue_overspend_email(initiative, overspend, threshold)
        sent += 1
    logger.info("overspend alerts: %s sent, %s already sent this month", sent, len(candidates) - len(due))
    return sent


def _queue_overspend_email(initiative: Initiative, overspend: Overspend, threshold: int) -> None:
    label = fiscal.fiscal_year_label(overspend.fiscal_year)
    planned, actual = overspend.planned_total, overspend.actual_total
    over = f"{(actual - planned) * 100 / planned:.1f} %" if planned else "no budget planned"
    currency = settings.REPORTING_CURRENCY
    notifications_queue(
        kind=NotificationKind.OVERSPEND,
        initiative=initiative,
        recipients=[initiative.owner, initiative.marketing_sponsor, initiative.it_sponsor],
        subject=f"Overspend: {initiative.code} {initiative.title} is over its {label} budget",
        body=(
            f"{initiative.code} {initiative.title} has spent more than planned this fiscal year.\n\n"
            f"{label} to date\n"
            f"  planned: {planned:,.2f} {currency}\n"
            f"  actual:  {actual:,.2f} {currency}\n"
            f"  over:    {actual - planned:,.2f} {currency} ({over}; the alert threshold is {threshold} %)\n\n"
            f"Figures as of the latest nightly recompute. You receive this as the initiative's owner or sponsor;\n"
            f"the alert is sent at most once a month.\n\n{settings.SITE_URL}\n"
        ),
    )
