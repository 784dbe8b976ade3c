"""The measurements import page, `/outcomes/import/` (PRODUCT.md §3b): upload, preview, then confirm or cancel.

One URL: GET shows the upload form; POST with a file keeps it and shows the preview (every error by line,
column and reason, or the counts); POST `confirm` imports the kept file, POST `cancel` discards it;
GET `?errors=<token>` downloads the errors as CSV. Who: project managers (their own initiatives, row
by row); everyone else gets 403.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from budgets.forms import BootstrapFormMixin
from budgets.services.imports import import_upload_discard, import_upload_load, report_errors_csv
from outcomes.imports import COLUMNS, UPLOAD_KIND, may_import, outcomes_import, outcomes_upload_store

ERRORS_SHOWN = 1000


class MeasurementsUploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(label="CSV file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES / (1024 * 1024)
            raise forms.ValidationError(
                f"The file is {upload.size / (1024 * 1024):.1f} MB; the limit is {limit:g} MB. Nothing was saved."
            )
        return upload


def _load(request, token: str) -> tuple[dict, bytes]:
    try:
        meta, data = import_upload_load(token=token, by=request.user)
    except LookupError:
        raise Http404("This upload is unknown or has expired; upload the file again.") from None
    if meta.get("kind") != UPLOAD_KIND:
        raise Http404("This upload is not a measurements file.")
    return meta, data


def _preview(request, token: str, report, *, confirm_failed: bool = False):
    context = {
        "report": report,
        "token": token,
        "errors_shown": report.errors[:ERRORS_SHOWN],
        "errors_hidden": max(0, len(report.errors) - ERRORS_SHOWN),
        "confirm_failed": confirm_failed,
    }
    return render(request, "outcomes/import.html", context, status=400 if report.errors else 200)


@require_http_methods(["GET", "POST"])
def import_page(request):
    if not may_import(request.user):
        raise PermissionDenied
    token = request.POST.get("token") or request.GET.get("errors") or ""
    if request.method == "GET" and token:
        meta, data = _load(request, token)
        report = outcomes_import(data=data, file_name=meta["file_name"], by=request.user, dry_run=True)
        response = HttpResponse(report_errors_csv(report), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="errors-outcomes.csv"'
        return response
    if request.method == "POST" and token:
        meta, data = _load(request, token)
        if "cancel" in request.POST:
            import_upload_discard(token=token)
            messages.info(request, "Upload discarded. Nothing was imported.")
            return redirect("outcomes:import")
        report = outcomes_import(data=data, file_name=meta["file_name"], by=request.user)
        if not report.ok:
            return _preview(request, token, report, confirm_failed=True)
        import_upload_discard(token=token)
        messages.add_message(request, messages.SUCCESS if report.saved else messages.INFO, report.message)
        return redirect("outcomes:import")
    form = MeasurementsUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = b"".join(upload.chunks())
        token = outcomes_upload_store(data=data, file_name=upload.name, by=request.user)
        report = outcomes_import(data=data, file_name=upload.name, by=request.user, dry_run=True)
        return _preview(request, token, report)
    context = {
        "form": form,
        "columns": COLUMNS,
        "limit_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        "example_day": timezone.localdate(),
    }
    return render(request, "outcomes/import.html", context, status=400 if form.errors else 200)
