"""What the finance exports read: one export's filters and as-of time, the fiscal years on offer, My exports."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from initiatives.choices import Lane, Status
from reports.cells import fiscal_year_text
from reports.models import ExportJob
from split.models import SplitRow, SplitRun
from split.selectors import (
    FILTER_NAMES,
    SplitFilters,
    forecast_report_totals,
    latest_successful_run,
    run_cached,
    split_rows,
    split_summary,
)

# A background export's file (and its job) is kept this long, then removed by the nightly purge.
EXPORT_KEEP_DAYS = 7


@dataclass(frozen=True)
class SplitExport:
    """One export's filters and the as-of time of the figures it shows."""

    filters: SplitFilters = field(default_factory=SplitFilters)
    as_of: dt.datetime | None = None
    run: SplitRun | None = field(default=None, compare=False, repr=False)  # the run the figures are of

    @classmethod
    def prepare(cls, params: Mapping[str, Any] | SplitFilters | None) -> SplitExport:
        """From query parameters (bad ones raise SplitFilterError) and the latest successful recompute."""
        filters = params if isinstance(params, SplitFilters) else SplitFilters.parse(params)
        run = latest_successful_run()
        return cls(filters=filters, as_of=run.finished_at if run else None, run=run)

    @property
    def as_of_local(self) -> dt.datetime | None:
        return timezone.localtime(self.as_of) if self.as_of else None

    def query_params(self) -> dict[str, str]:
        """The filters as query parameters, canonical (FY2027, Q3, codes)."""
        f = self.filters
        values = {
            "fiscal_year": fiscal_year_text(f.fiscal_year) if f.fiscal_year else "",
            "quarter": f"Q{f.quarter}" if f.quarter else "",
            "lane": f.lane or "",
            "status": f.status or "",
            "initiative": f.initiative or "",
        }
        return {name: value for name, value in values.items() if value}

    def filter_labels(self) -> list[tuple[str, str]]:
        """(filter, chosen value in words) for every filter, "All" where none is set."""
        f = self.filters
        return [
            ("Fiscal year", fiscal_year_text(f.fiscal_year) if f.fiscal_year else "All"),
            ("Quarter", f"Q{f.quarter}" if f.quarter else "All"),
            ("Lane", Lane(f.lane).label if f.lane else "All"),
            ("Status", Status(f.status).label if f.status else "All"),
            ("Initiative", f.initiative or "All"),
        ]

    def filename(self, kind: str, extension: str) -> str:
        """E.g. `split-report_FY2027_Q3_fast-lane_as-of-2026-07-09.csv`: names the filters and the as-of date."""
        parts = [kind]
        params = self.query_params()
        for name in FILTER_NAMES:
            if name in params:
                parts.append(re.sub(r"[^A-Za-z0-9-]+", "-", params[name].replace("_", "-")).strip("-"))
        if len(parts) == 1:
            parts.append("all")
        local = self.as_of_local
        parts.append(f"as-of-{local:%Y-%m-%d}" if local else "not-computed")
        return "_".join(parts) + "." + extension

    def row_count(self) -> int:
        return split_rows(self.filters).count()

    def totals(self) -> dict[str, Any]:
        """`rows` and the ten amounts summed over the export (split_summary, whole selection)."""
        return split_summary(None, self.filters)[0]

    def forecast_totals(self) -> dict[str, Any]:
        """The forecast report's summed columns over the selection, and its `lines` (initiative-years).

        Cached per run (and closed-months generation), like the API's roll-ups: the reports page, the
        workbook and the background job's size check read it once per run and filters.
        """
        key = ":".join(str(getattr(self.filters, name) or "") for name in FILTER_NAMES)
        return run_cached(self.run, f"forecast-totals:{key}", lambda: forecast_report_totals(self.filters))


def export_fiscal_years() -> list[int]:
    """The fiscal years present in the split table, newest first (the reports page offers them)."""
    return list(SplitRow.objects.order_by("-fiscal_year").values_list("fiscal_year", flat=True).distinct())


def export_jobs_for(user, *, limit: int = 50) -> list[ExportJob]:
    """The person's exports, newest first (each person sees only their own)."""
    return list(ExportJob.objects.filter(requested_by=user).order_by("-created_at")[:limit])


def export_expires_at(job: ExportJob) -> dt.datetime:
    return job.created_at + dt.timedelta(days=EXPORT_KEEP_DAYS)
