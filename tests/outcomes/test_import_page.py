"""The measurements import page, /outcomes/import/: upload, preview (errors or counts), confirm, cancel."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from outcomes.models import OutcomeMeasurement
from tests.factories import InitiativeFactory, UserFactory
from tests.outcomes.io_helpers import csv_bytes, kpi

pytestmark = pytest.mark.django_db
URL = "/outcomes/import/"


@pytest.fixture
def mine(pm):
    initiative = InitiativeFactory(owner=pm, status="in_progress")
    kpi(initiative, "Checkout conversion")
    return initiative


def _upload(client, data: bytes):
    return client.post(URL, {"file": SimpleUploadedFile("m.csv", data, content_type="text/csv")})


def test_a_pm_previews_then_confirms(client, pm, mine, media):
    client.force_login(pm)
    page = client.get(URL)
    assert page.status_code == 200 and b"initiative_code,<wbr>kpi" in page.content
    preview = _upload(client, csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5"))
    assert preview.status_code == 200
    assert b"Ready to import 1 new measurement" in preview.content
    assert not OutcomeMeasurement.objects.exists()
    token = preview.context["token"]
    done = client.post(URL, {"token": token, "confirm": "1"}, follow=True)
    assert b"Imported 1 new measurement" in done.content
    assert OutcomeMeasurement.objects.count() == 1
    assert client.post(URL, {"token": token, "confirm": "1"}).status_code == 404  # the upload is gone


def test_the_preview_lists_every_error_and_they_download(client, pm, mine, media):
    client.force_login(pm)
    preview = _upload(client, csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,x", "INI-9999,y,2026-03-01,1"))
    assert preview.status_code == 400
    html = preview.content.decode()
    assert "2 errors in m.csv" in html and "INI-9999" in html and "Confirm import" not in html
    assert "No measurement was added or changed" in html
    assert f'href="{URL}?errors={preview.context["token"]}"' in html and f'href="{URL}"' in html
    errors = client.get(URL, {"errors": preview.context["token"]})
    assert errors["Content-Type"].startswith("text/csv")
    assert errors.content.decode().splitlines()[1:] == [
        '2,value,"Enter the measured value, for example 12.5."',
        "3,initiative_code,Unknown initiative code 'INI-9999'",
    ]


def test_cancel_discards(client, pm, mine, media):
    client.force_login(pm)
    token = _upload(client, csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5")).context["token"]
    assert client.post(URL, {"token": token, "cancel": "1"}).status_code == 302
    assert not OutcomeMeasurement.objects.exists()
    assert client.post(URL, {"token": token, "confirm": "1"}).status_code == 404


def test_someone_elses_upload_is_unknown(client, pm, other_pm, mine, media):
    client.force_login(pm)
    token = _upload(client, csv_bytes(f"{mine.code},Checkout conversion,2026-03-01,2.5")).context["token"]
    client.force_login(other_pm)
    assert client.post(URL, {"token": token, "confirm": "1"}).status_code == 404
    assert not OutcomeMeasurement.objects.exists()


@pytest.mark.parametrize("role", ["finance", "executive", "admin"])
def test_only_project_managers_open_it(client, role):
    client.force_login(UserFactory(role=role, side="marketing" if role == "executive" else ""))
    assert client.get(URL).status_code == 403


def test_the_nav_links_it_for_pms(client, pm, finance):
    client.force_login(pm)
    assert b'href="/outcomes/import/"' in client.get("/initiatives/").content
    client.force_login(finance)
    assert b'href="/outcomes/import/"' not in client.get("/initiatives/").content
