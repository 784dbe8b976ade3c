"""The web import: upload, preview (summary or every error), confirm, cancel."""

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from budgets.models import Expense, ImportRun
from budgets.services.imports import upload_dir
from tests.budgets.finance_helpers import actuals_csv
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def upload(client, data: bytes, kind="actuals", name="erp-march.csv"):
    return client.post(reverse("budgets:import_upload"), {"kind": kind, "file": SimpleUploadedFile(name, data)})


def test_upload_stores_the_file_and_previews_without_saving(client, finance, ready):
    client.force_login(finance)
    response = upload(client, actuals_csv({}, {"external_ref": "ERP-2", "paid_by": "it"}))
    assert response.status_code == 302
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert (upload_dir() / f"{token}.csv").exists()

    preview = client.get(response["Location"])
    assert preview.status_code == 200
    page = preview.content.decode()
    assert "Totals by payer" in page and "March 2026" in page and "1,375.55" in page
    assert Expense.objects.count() == 0

    confirmed = client.post(response["Location"], follow=True)
    assert "Imported 2 new expenses from erp-march.csv" in confirmed.content.decode()
    assert Expense.objects.count() == 2
    assert not (upload_dir() / f"{token}.csv").exists()


def test_preview_lists_every_error_with_line_and_column(client, finance, ready):
    client.force_login(finance)
    data = actuals_csv({"incurred_on": "2026-02-30"}, {"external_ref": "E2", "amount": "$12", "currency": "XYZ"})
    preview = client.get(upload(client, data)["Location"])
    assert preview.status_code == 400
    errors = [(e.line, e.column) for e in preview.context["report"].errors]
    assert errors == [(2, "incurred_on"), (3, "amount"), (3, "currency")]
    page = html.unescape(preview.content.decode())
    assert "3 errors in erp-march.csv" in page and "'$12' contains '$'" in page
    assert "No expense was added or changed" in page
    token = preview.context["token"]
    assert f'href="{reverse("budgets:import_errors", args=[token])}"' in page
    assert f'href="{reverse("budgets:import_upload")}?kind=actuals"' in page
    assert Expense.objects.count() == 0


def test_confirming_a_bad_file_saves_nothing(client, finance, ready):
    client.force_login(finance)
    location = upload(client, actuals_csv({"paid_by": "hr"}))["Location"]
    response = client.post(location)
    assert response.status_code == 400
    assert Expense.objects.count() == 0


def test_errors_download_as_csv(client, finance, ready):
    client.force_login(finance)
    token = upload(client, actuals_csv({"category": "=HYPERLINK()"}))["Location"].rstrip("/").rsplit("/", 1)[-1]
    response = client.get(reverse("budgets:import_errors", args=[token]))
    lines = response.content.decode().splitlines()
    assert lines[0] == "line,column,reason"
    assert lines[1].startswith("2,category,")


def test_someone_elses_upload_is_not_found(client, finance, ready):
    client.force_login(finance)
    location = upload(client, actuals_csv({}))["Location"]
    client.force_login(UserFactory(username="finance2", role="finance", side=""))
    assert client.get(location).status_code == 404
    assert client.post(location).status_code == 404
    assert Expense.objects.count() == 0


def test_a_file_over_the_limit_is_refused_at_upload(client, finance, settings, ready):
    settings.IMPORT_MAX_BYTES = 100
    client.force_login(finance)
    response = upload(client, actuals_csv({}, {"external_ref": "E2"}))
    assert response.status_code == 400
    assert "the limit is" in response.context["form"].errors["file"][0]
    assert not list(upload_dir().glob("*.csv")) if upload_dir().exists() else True


def test_cancel_discards_the_upload(client, finance, ready):
    client.force_login(finance)
    location = upload(client, actuals_csv({}))["Location"]
    token = location.rstrip("/").rsplit("/", 1)[-1]
    client.post(reverse("budgets:import_cancel", args=[token]))
    assert not (upload_dir() / f"{token}.csv").exists()
    assert client.get(location).status_code == 404


def test_templates_have_the_exact_headers(client, finance):
    client.force_login(finance)
    body = client.get(reverse("budgets:import_template", args=["actuals"])).content.decode()
    assert body.splitlines()[0] == (
        "initiative_code,incurred_on,amount,currency,paid_by,category,vendor,description,external_ref"
    )
    body = client.get(reverse("budgets:import_template", args=["budget"])).content.decode()
    assert body.splitlines()[0] == "initiative_code,month,category,amount"


def test_only_finance_may_upload(client, pm, ready):
    client.force_login(pm)
    assert upload(client, actuals_csv({})).status_code == 403


def test_a_nul_in_a_file_is_refused_by_the_preview_and_the_confirm(client, finance, ready):
    """The preview once called such a file valid and the confirm step was a 500 (COPY on PostgreSQL)."""
    client.force_login(finance)
    location = upload(client, actuals_csv({"vendor": "Studio\x00Nord"}))["Location"]
    preview = client.get(location)
    assert preview.status_code == 400
    assert [(e.line, e.column) for e in preview.context["report"].errors] == [(2, "vendor")]
    page = preview.content.decode()
    assert "Character 7 is a NUL character (U+0000), which cannot be stored as text" in page
    assert "Confirm import" not in page
    confirmed = client.post(location)
    assert confirmed.status_code == 400
    assert Expense.objects.count() == 0


def test_re_importing_a_file_says_there_is_nothing_new_and_offers_no_confirm(client, finance, ready):
    client.force_login(finance)
    data = actuals_csv({}, {"external_ref": "ERP-2", "paid_by": "it"})
    client.post(upload(client, data)["Location"])
    assert Expense.objects.count() == 2

    preview = client.get(upload(client, data)["Location"])
    assert preview.status_code == 200
    page = html.unescape(preview.content.decode())
    assert "Nothing new to import: all 2 rows of erp-march.csv were already imported." in page
    assert "there is nothing new to import" in page
    assert "Confirm import" not in page
    assert "Upload another file" in page and "Discard this upload" in page
    assert Expense.objects.count() == 2 and ImportRun.objects.count() == 1
