"""The import pages: upload, preview then confirm or cancel, the errors as CSV, the empty templates."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from budgets.forms import (
    ImportUploadForm,
)
from budgets.selectors import (
    recent_imports,
)
from budgets.services.imports import (
    IMPORTERS,
    import_run,
    import_upload_discard,
    import_upload_load,
    import_upload_store,
    report_errors_csv,
)
from budgets.views.common import require

ERRORS_SHOWN = 500


# --- imports ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def import_upload(request):
    require(request, "imports.run")
    form = ImportUploadForm(
        request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind", "actuals")}
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        data = b"".join(upload.chunks())
        token = import_upload_store(data=data, kind=form.cleaned_data["kind"], file_name=upload.name, by=request.user)
        return redirect("budgets:import_preview", token=token)
    context = {
        "tab": "imports",
        "form": form,
        "runs": recent_imports(),
        "importers": IMPORTERS,
        "limit_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "budgets/import_upload.html", context, status=400 if form.errors else 200)


def _load_upload(request, token: str) -> tuple[dict, bytes]:
    try:
        return import_upload_load(token=token, by=request.user)
    except LookupError:
        raise Http404("This upload is unknown or has expired; upload the file again.") from None


@require_http_methods(["GET", "POST"])
def import_preview(request, token: str):
    """GET: validate without saving and show the summary or every error. POST: import it for real."""
    require(request, "imports.run")
    meta, data = _load_upload(request, token)
    confirm = request.method == "POST"
    report = import_run(
        kind=meta["kind"], data=data, file_name=meta["file_name"], by=request.user, dry_run=not confirm, via="web"
    )
    if confirm and report.ok:
        import_upload_discard(token=token)
        level = messages.SUCCESS if report.saved else messages.INFO
        messages.add_message(request, level, report.message)
        return redirect("budgets:import_upload")
    context = {
        "tab": "imports",
        "report": report,
        "token": token,
        "errors_shown": report.errors[:ERRORS_SHOWN],
        "errors_hidden": max(0, len(report.errors) - ERRORS_SHOWN),
        "confirm_failed": confirm,
        "importer": IMPORTERS[meta["kind"]],
        "reporting_currency": settings.REPORTING_CURRENCY,
    }
    return render(request, "budgets/import_preview.html", context, status=400 if report.errors else 200)


def import_errors_csv(request, token: str):
    require(request, "imports.run")
    meta, data = _load_upload(request, token)
    report = import_run(kind=meta["kind"], data=data, file_name=meta["file_name"], by=request.user, dry_run=True)
    response = HttpResponse(report_errors_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="errors-{meta["kind"]}.csv"'
    return response


@require_POST
def import_cancel(request, token: str):
    require(request, "imports.run")
    _load_upload(request, token)
    import_upload_discard(token=token)
    messages.info(request, "Upload discarded. Nothing was imported.")
    return redirect("budgets:import_upload")


def import_template(request, kind: str):
    """An example file with the exact header (PRODUCT.md §4) and one sample row."""
    require(request, "imports.run")
    importer = IMPORTERS.get(kind)
    if importer is None:
        raise Http404
    today = timezone.localdate()
    samples = {
        "actuals": f"INI-0001,{today:%Y-%m}-15,1250.00,EUR,marketing,agency,Studio Nord,Campaign assets,ERP-000123",
        "budget": f"INI-0001,{today:%Y-%m},labor,12000.00",
        "fx_rates": f"EUR,{today:%Y-%m},1.08500000",
    }
    body = ",".join(importer.columns) + "\r\n" + samples[kind] + "\r\n"
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response
