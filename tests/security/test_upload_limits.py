"""Upload size limits: an import file over 20 MB is refused cleanly (PRODUCT.md §4), at the real limit.

tests/budgets/test_import_views.py checks the message with a tiny limit; this sends a real
21 MB file through Django's multipart parser (spooled to a temporary file, never held in
memory whole) and checks that nothing is kept. Form fields outside files are capped by
DATA_UPLOAD_MAX_MEMORY_SIZE.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budgets.models import Expense, ImportRun
from budgets.services.imports import upload_dir
from budgets.services.imports_actuals import ACTUALS_COLUMNS

pytestmark = pytest.mark.usefixtures("media")
MB = 1024 * 1024


def test_the_limits_are_the_documented_ones(settings):
    assert settings.IMPORT_MAX_BYTES == 20 * MB
    assert settings.FILE_UPLOAD_MAX_MEMORY_SIZE <= 5 * MB  # bigger uploads go to a temporary file
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= 5 * MB


def test_a_21_mb_import_is_refused_with_a_clear_message_and_nothing_kept(client, finance):
    row = b"INI-0001,2026-03-15,1250.50,EUR,marketing,agency,Studio Nord,Campaign assets,ERP-%07d\r\n"
    header = ",".join(ACTUALS_COLUMNS).encode() + b"\r\n"
    body = header + b"".join(row % n for n in range(21 * MB // len(row % 0) + 1))
    assert len(body) > 21 * MB - 100
    client.force_login(finance)

    response = client.post(
        reverse("budgets:import_upload"),
        {"kind": "actuals", "file": SimpleUploadedFile("erp-year.csv", body, content_type="text/csv")},
    )

    assert response.status_code == 400
    message = response.context["form"].errors["file"][0]
    assert "the limit is 20 MB" in message
    assert "Nothing was saved" in message
    assert "the limit is 20 MB" in response.content.decode()
    assert not upload_dir().exists() or not list(upload_dir().iterdir())
    assert Expense.objects.count() == 0
    assert ImportRun.objects.count() == 0


def test_an_oversized_form_body_is_refused_with_400(client, finance):
    client.force_login(finance)
    response = client.post(reverse("budgets:expense_create"), {"description": "x" * (6 * MB)})
    assert response.status_code == 400
    assert Expense.objects.count() == 0
