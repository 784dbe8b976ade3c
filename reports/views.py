"""Finance exports (PRODUCT.md §4): the reports page, the split and forecast reports as CSV and XLSX, the journal.

Thin: the policy decides (`reports.export`: finance and executives download; only finance changes anything), the writers
(reports.split_csv, reports.forecast, reports.journal, reports.xlsx, reports.forecast_xlsx)
and reports.services write the files, the selectors read. `/reports/split.csv`,
`/reports/forecast.csv` and `/reports/true-up-journal.csv` always stream (memory flat, seconds even for the
whole portfolio), so scripts can rely on the URLs; an XLSX above
`EXPORT_ASYNC_ROWS` rows, and every export the reports page starts above it, is
written in the background instead.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from initiatives.choices import Lane, Status
from portfolio.jobs import JobStatus
from portfolio.policy import can
from reports.cells import quarter_months_text
from reports.choices import ExportFormat
from reports.forecast import forecast_csv_chunks
from reports.forecast_xlsx import write_forecast_xlsx
from reports.journal import journal_csv_chunks, settlement_label
from reports.models import ExportJob
from reports.outcomes import OUTCOMES_REPORT_COLUMNS, outcomes_csv_chunks, write_outcomes_xlsx
from reports.selectors import EXPORT_KEEP_DAYS, SplitExport, export_expires_at, export_fiscal_years, export_jobs_for
from reports.services import ExportQueueUnavailable, export_file_path, export_job_request, export_job_retry
from reports.split_csv import split_csv_chunks
from reports.xlsx import write_split_xlsx
from split.arithmetic import SPLIT_COLUMNS, marketing_share_of_actual
from split.selectors import FILTER_NAMES, FORECAST_REPORT_COLUMNS, SplitFilterError, SplitFilters, split_summary

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {ExportFormat.CSV: CSV_CONTENT_TYPE, ExportFormat.XLSX: XLSX_CONTENT_TYPE}
CONTENT_TYPES |= {
    ExportFormat.JOURNAL: CSV_CONTENT_TYPE,
    ExportFormat.FORECAST_CSV: CSV_CONTENT_TYPE,
    ExportFormat.FORECAST_XLSX: XLSX_CONTENT_TYPE,
}
POLL_SECONDS = 1
# A job still queued after this long most likely has no worker to run it: say so.
NO_WORKER_HINT_SECONDS = 120


def _require_export(request: HttpRequest) -> None:
    if not can(request.user, "reports.export"):
        raise PermissionDenied


def _bad_filters(exc: SplitFilterError) -> HttpResponse:
    lines = ["The export was not made: some filters are not valid."]
    lines += [f"{name}: {message}" for name, message in exc.errors.items()]
    return HttpResponse("\n".join(lines) + "\n", status=400, content_type="text/plain; charset=utf-8")


def _attachment(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def requester_name(user) -> str:
    return user.get_full_name() or user.get_username()


# --- the files ---------------------------------------------------------------------


def _streamed_csv(request: HttpRequest, chunks: Callable[[SplitFilters], Iterable[bytes]], name: str) -> HttpResponse:
    """A finance CSV of the request's filters, streamed as `chunks` produces it."""
    _require_export(request)
    try:
        export = SplitExport.prepare(request.GET)
    except SplitFilterError as exc:
        return _bad_filters(exc)
    response = StreamingHttpResponse(chunks(export.filters), content_type=CSV_CONTENT_TYPE)
    return _attachment(response, export.filename(name, "csv"))


@require_GET
def split_csv(request: HttpRequest) -> HttpResponse:
    """/reports/split.csv: the split report, streamed in chunks (PostgreSQL's COPY formats it there)."""
    return _streamed_csv(request, split_csv_chunks, "split-report")


@require_GET
def true_up_journal_csv(request: HttpRequest) -> HttpResponse:
    """/reports/true-up-journal.csv: the ERP journal of the true-ups, streamed."""
    return _streamed_csv(request, journal_csv_chunks, "true-up-journal")


@require_GET
def forecast_csv(request: HttpRequest) -> HttpResponse:
    """/reports/forecast.csv: one line per initiative and fiscal year, streamed like the split CSV."""
    return _streamed_csv(request, forecast_csv_chunks, "forecast-report")


def _workbook(request: HttpRequest, *, name: str, rows: Callable[[SplitExport], int], write) -> HttpResponse:
    """A finance workbook of the request's filters, written to a temporary file then sent.

    Above EXPORT_ASYNC_ROWS rows it would take too long for one request: the
    person is sent to the reports page, which prepares it in the background.
    """
    _require_export(request)
    try:
        export = SplitExport.prepare(request.GET)
    except SplitFilterError as exc:
        return _bad_filters(exc)
    count = rows(export)
    if count > settings.EXPORT_ASYNC_ROWS:
        messages.info(
            request,
            f"This report has {count:,} rows: an XLSX that large is prepared in the background. "
            "Press “Prepare XLSX” below; it appears under My exports when it is ready.",
        )
        return redirect(_reports_url(export))
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes (and so deletes) it
    write(export, handle, requested_by=requester_name(request.user))
    handle.seek(0)
    response = FileResponse(handle, content_type=XLSX_CONTENT_TYPE)
    return _attachment(response, export.filename(name, "xlsx"))


@require_GET
def split_xlsx(request: HttpRequest) -> HttpResponse:
    """/reports/split.xlsx: the split workbook (in the background above EXPORT_ASYNC_ROWS rows)."""
    return _workbook(request, name="split-report", rows=lambda export: export.row_count(), write=write_split_xlsx)


@require_GET
def forecast_xlsx(request: HttpRequest) -> HttpResponse:
    """/reports/forecast.xlsx: the forecast workbook (in the background above EXPORT_ASYNC_ROWS lines)."""
    return _workbook(
        request,
        name="forecast-report",
        rows=lambda export: export.forecast_totals()["lines"],
        write=write_forecast_xlsx,
    )


def _outcomes_export(request: HttpRequest) -> SplitExport:
    """The outcomes report's filters (those of the other reports), for finance and executives only."""
    if not can(request.user, "outcomes.report"):
        raise PermissionDenied
    return SplitExport.prepare(request.GET)


@require_GET
def outcomes_csv(request: HttpRequest) -> HttpResponse:
    """/reports/outcomes.csv: one line per outcome KPI and fiscal year, streamed."""
    try:
        export = _outcomes_export(request)
    except SplitFilterError as exc:
        return _bad_filters(exc)
    response = StreamingHttpResponse(outcomes_csv_chunks(export.filters), content_type=CSV_CONTENT_TYPE)
    return _attachment(response, export.filename("outcomes-report", "csv"))


@require_GET
def outcomes_xlsx(request: HttpRequest) -> HttpResponse:
    """/reports/outcomes.xlsx: the same rows as numbers, dates and true/false cells, with a cover sheet."""
    try:
        export = _outcomes_export(request)
    except SplitFilterError as exc:
        return _bad_filters(exc)
    handle = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - FileResponse closes (and so deletes) it
    write_outcomes_xlsx(export, handle, requested_by=requester_name(request.user))
    handle.seek(0)
    return _attachment(FileResponse(handle, content_type=XLSX_CONTENT_TYPE), export.filename("outcomes-report", "xlsx"))


def _reports_url(export: SplitExport) -> str:
    query = urlencode(export.query_params())
    return reverse("reports:index") + (f"?{query}" if query else "")


# --- the reports page ----------------------------------------------------------------


@require_GET
def reports_index(request: HttpRequest) -> HttpResponse:
    """/reports/: choose the filters, see the row count and totals, download the files."""
    _require_export(request)
    errors: dict[str, str] = {}
    try:
        export = SplitExport.prepare(request.GET)
    except SplitFilterError as exc:
        errors = exc.errors
        export = SplitExport.prepare(SplitFilters())
    totals = export.totals() if not errors else None
    forecast = export.forecast_totals() if not errors else None
    quarters = split_summary("quarter", export.filters, with_true_up_states=True) if not errors else []
    for quarter in quarters:
        quarter["months_text"] = quarter_months_text(quarter["fiscal_year"], quarter["fiscal_quarter"])
        quarter["settlement"] = settlement_label(quarter["true_up"])
        quarter["settle_amount"] = abs(quarter["true_up"])
    query = urlencode(export.query_params())
    rows = totals["rows"] if totals else 0
    context = {
        "tab": "report",
        "export": export,
        "values": {name: request.GET.get(name, "") for name in FILTER_NAMES},
        "errors": errors,
        "fiscal_years": [f"FY{year}" for year in export_fiscal_years()],
        "quarters_choices": ["Q1", "Q2", "Q3", "Q4"],
        "lanes": Lane.choices,
        "statuses": Status.choices,
        "totals": totals,
        "settlement": settlement_label(totals["true_up"]) if totals else "",
        "settle_amount": abs(totals["true_up"]) if totals else None,
        "marketing_share": (
            marketing_share_of_actual(totals["actual_marketing"], totals["actual_total"]) if totals else None
        ),
        "quarters": quarters,
        "columns": SPLIT_COLUMNS,
        "forecast": forecast,
        "forecast_columns": FORECAST_REPORT_COLUMNS,
        "may_report_outcomes": can(request.user, "outcomes.report"),
        "outcomes_columns": OUTCOMES_REPORT_COLUMNS,
        "forecast_in_background": bool(forecast) and forecast["lines"] > settings.EXPORT_ASYNC_ROWS,
        "query": query,
        "filtered": bool(query),
        "in_background": rows > settings.EXPORT_ASYNC_ROWS,
        "active_jobs": [job for job in export_jobs_for(request.user, limit=5) if job.is_active],
        "async_rows": settings.EXPORT_ASYNC_ROWS,
        "currency": settings.REPORTING_CURRENCY,
        "time_zone": settings.TIME_ZONE,
    }
    return render(request, "reports/index.html", context)


# --- exports in the background -----------------------------------------------------------


@require_POST
def export_create(request: HttpRequest) -> HttpResponse:
    """Start a background export of the chosen filters, then follow it on its page."""
    _require_export(request)
    params = {name: request.POST.get(name, "") for name in FILTER_NAMES}
    back = reverse("reports:index") + (
        "?" + urlencode({k: v for k, v in params.items() if v}) if any(params.values()) else ""
    )
    try:
        job = export_job_request(export_format=request.POST.get("format", ""), params=params, by=request.user)
    except SplitFilterError as exc:
        messages.error(request, "The export was not started: " + " ".join(exc.errors.values()))
        return redirect(back)
    except ValueError:
        messages.error(request, "The export was not started: choose one of the files offered.")
        return redirect(back)
    except ExportQueueUnavailable as exc:
        messages.error(request, str(exc))
        return redirect(back)
    messages.success(
        request,
        f"Export started. This page follows it; the file stays under My exports for {EXPORT_KEEP_DAYS} days.",
    )
    return redirect("reports:export_detail", job_id=job.pk)


def _own_job(request: HttpRequest, job_id) -> ExportJob:
    """The person's own export (anyone else's is a 404, not a 403: it does not exist for them)."""
    return get_object_or_404(ExportJob, pk=job_id, requested_by=request.user)


def _decorate(jobs: list[ExportJob]) -> list[ExportJob]:
    now = timezone.now()
    for job in jobs:
        job.expires_at = export_expires_at(job)
        job.filter_text = _filter_text(job.filters)
        job.no_worker = job.status == JobStatus.QUEUED and (now - job.created_at).total_seconds() > (
            NO_WORKER_HINT_SECONDS
        )
    return jobs


def _filter_text(filters: dict) -> str:
    try:
        labels = SplitExport(filters=SplitFilters.parse(filters)).filter_labels()
    except SplitFilterError:
        return ""
    chosen = [f"{label} {value}" if label in ("Fiscal year", "Initiative") else value for label, value in labels]
    chosen = [text for (label, value), text in zip(labels, chosen, strict=True) if value != "All"]
    return " · ".join(chosen) or "Whole portfolio"


def _jobs_context(request: HttpRequest) -> dict:
    jobs = _decorate(export_jobs_for(request.user))
    return {
        "tab": "exports",
        "jobs": jobs,
        "polling": any(job.is_active for job in jobs),
        "poll_seconds": POLL_SECONDS,
        "keep_days": EXPORT_KEEP_DAYS,
    }


@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    """/reports/exports/: My exports — status, progress, download links, expiry."""
    _require_export(request)
    return render(request, "reports/exports.html", _jobs_context(request))


@require_GET
def export_list_panel(request: HttpRequest) -> HttpResponse:
    """The table of My exports, polled by HTMX while an export is running."""
    _require_export(request)
    return render(request, "reports/_exports_table.html", _jobs_context(request))


def _job_context(request: HttpRequest, job_id) -> dict:
    [job] = _decorate([_own_job(request, job_id)])
    return {"tab": "exports", "job": job, "poll_seconds": POLL_SECONDS, "keep_days": EXPORT_KEEP_DAYS}


@require_GET
def export_detail(request: HttpRequest, job_id) -> HttpResponse:
    """One background export: a live progress bar, then the download link."""
    _require_export(request)
    return render(request, "reports/export_detail.html", _job_context(request, job_id))


@require_GET
def export_panel(request: HttpRequest, job_id) -> HttpResponse:
    """The progress card of one export, polled by HTMX until it has finished."""
    _require_export(request)
    return render(request, "reports/_job_panel.html", _job_context(request, job_id))


@require_GET
def export_download(request: HttpRequest, job_id) -> HttpResponse:
    """The file of a finished background export, to the person who asked for it."""
    _require_export(request)
    job = _own_job(request, job_id)
    path = export_file_path(job)
    if job.status != JobStatus.SUCCEEDED or not path.is_file():
        raise Http404("This export is not ready, or it has expired.")
    response = FileResponse(open(path, "rb"), content_type=CONTENT_TYPES[job.format])  # noqa: SIM115 - closed by Django
    return _attachment(response, job.file_name)


@require_POST
def export_retry(request: HttpRequest, job_id) -> HttpResponse:
    """Queue a failed export again with the same filters."""
    _require_export(request)
    job = _own_job(request, job_id)
    try:
        export_job_retry(job=job, by=request.user)
    except ExportQueueUnavailable as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Export queued again.")
    return redirect("reports:export_detail", job_id=job.pk)
