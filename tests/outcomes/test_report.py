"""The outcomes report (issue 20): /reports/outcomes.csv and .xlsx — columns, values, filters, formula safety,
who may download it, and LibreOffice reading the workbook with the CSV's values."""

from __future__ import annotations

import csv
import datetime as dt
import io
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone

from outcomes.models import OutcomeKpi
from outcomes.selectors import OUTCOMES_REPORT_COLUMNS, report_counts
from outcomes.services import kpi_update
from portfolio import fiscal
from reports.outcomes import write_outcomes_xlsx
from reports.selectors import SplitExport
from split.selectors import SplitFilters
from tests.factories import UserFactory
from tests.outcomes.board_helpers import build_outcomes_portfolio
from tests.reports.export_helpers import HYPERLINK
from tests.reports.test_export_xlsx import LIBREOFFICE_CSV, libreoffice, read_cells

pytestmark = pytest.mark.django_db

D = Decimal
CSV_URL = "/reports/outcomes.csv"
XLSX_URL = "/reports/outcomes.xlsx"
HEADER = (
    "fiscal_year,initiative_code,initiative_title,lane,kpi,owner_side,unit,direction,baseline,target,target_date,"
    "latest_value,measured_on,attainment_pct,on_track,actual_total"
)


@pytest.fixture
def today():
    return timezone.localdate()


@pytest.fixture
def world(pm, executive_marketing, executive_it, today):
    it_pm = UserFactory(username="pm.it.report", role="pm", side="it")
    sponsors = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    return build_outcomes_portfolio(today=today, marketing_pm=pm, it_pm=it_pm, sponsors=sponsors)


def download(client, user, url=CSV_URL, **params):
    client.force_login(user)
    return client.get(url, params)


def csv_rows(response) -> list[dict[str, str]]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(content)))


def by_kpi(rows) -> dict[str, dict[str, str]]:
    return {row["kpi"]: row for row in rows}


# --- columns and values --------------------------------------------------------------------------------


def test_the_csv_has_the_exact_columns_and_one_row_per_kpi_and_fiscal_year(client, finance, world):
    response = download(client, finance, fiscal_year=f"FY{world['year']}")
    content = b"".join(response.streaming_content).decode()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"] and "outcomes-report" in response["Content-Disposition"]
    assert content.split("\n", 1)[0] == HEADER == ",".join(OUTCOMES_REPORT_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(content)))
    assert len(rows) == 6
    assert [row["kpi"] for row in rows[:3]] == ["Conversion", "Latency", "Awareness"]  # a KPI after another
    codes = [row["initiative_code"] for row in rows]
    assert codes == sorted(codes)  # by fiscal year, then code, then KPI


def test_each_row_carries_the_kpi_its_measured_figures_and_the_initiatives_actual_spend(client, finance, world, today):
    rows = by_kpi(csv_rows(download(client, finance, fiscal_year=f"FY{world['year']}")))
    conversion = OutcomeKpi.objects.get(pk=world["kpis"]["conversion"].pk)

    assert rows["Conversion"] == {
        "fiscal_year": f"FY{world['year']}",
        "initiative_code": world["fast"].code,
        "initiative_title": "Loyalty relaunch",
        "lane": "fast_lane",
        "kpi": "Conversion",
        "owner_side": "marketing",
        "unit": "%",
        "direction": "up",
        "baseline": "0.0000",
        "target": "100.0000",
        "target_date": conversion.target_date.isoformat(),
        "latest_value": "80.0000",
        "measured_on": today.isoformat(),
        "attainment_pct": "80.00",
        "on_track": "true",
        "actual_total": "1234.56",
    }
    assert rows["Latency"]["on_track"] == "false" and rows["Latency"]["attainment_pct"] == "10.00"
    assert rows["Latency"]["direction"] == "down" and rows["Latency"]["owner_side"] == "it"
    assert rows["Uptime"]["on_track"] == "false"  # the target date passed, unreached
    assert rows["Leads"]["on_track"] == "true" and rows["Leads"]["attainment_pct"] == "120.00"
    assert rows["Retention"]["attainment_pct"] == "-20.00" and rows["Retention"]["actual_total"] == "9000.00"
    assert rows["Uptime"]["actual_total"] == rows["Leads"]["actual_total"] == "5000.00"


def test_a_kpi_not_measured_yet_has_empty_figures_and_an_empty_on_track(client, finance, world):
    row = by_kpi(csv_rows(download(client, finance)))["Awareness"]

    assert (row["latest_value"], row["measured_on"], row["attainment_pct"], row["on_track"]) == ("", "", "", "")
    assert row["baseline"] == "0.0000" and row["actual_total"] == "1234.56"


def test_a_past_fiscal_year_shows_its_kpis_as_they_stand_today(world, today):
    from outcomes.selectors import outcomes_report_rows

    year = world["year"]
    later = fiscal.fiscal_year_bounds(year)[1] + dt.timedelta(days=400)
    rows = {row[4]: row for row in outcomes_report_rows(SplitFilters(fiscal_year=year), today=later)}

    # judged on the day asked (400 days after the year): Conversion, 80 % of the way at half its time, has
    # fallen behind by then; Leads reached its target and stays on track.
    assert rows["Conversion"][14] is False
    assert rows["Leads"][14] is True


# --- filters -------------------------------------------------------------------------------------------


def test_the_filters_of_the_other_reports_apply(client, finance, world):
    year = world["year"]
    core = csv_rows(download(client, finance, fiscal_year=f"FY{year}", lane="core_stack"))
    one = csv_rows(download(client, finance, initiative=world["over"].code))
    approved = csv_rows(download(client, finance, status="approved"))
    other_year = csv_rows(download(client, finance, fiscal_year=f"FY{year - 3}"))
    quarter = csv_rows(
        download(client, finance, fiscal_year=f"FY{year}", quarter=f"Q{fiscal.fiscal_quarter(timezone.localdate())}")
    )

    assert {row["kpi"] for row in core} == {"Uptime", "Leads"}
    assert [row["kpi"] for row in one] == ["Retention"]
    assert approved == other_year == []
    assert len(quarter) == 6 and by_kpi(quarter)["Conversion"]["actual_total"] == "1234.56"


def test_bad_filters_are_refused_with_the_reason(client, finance, world):
    response = download(client, finance, fiscal_year="next year")

    assert response.status_code == 400
    assert "fiscal_year" in response.text


def test_the_reports_summary_counts_are_the_rows_counts(client, finance, world):
    rows = csv_rows(download(client, finance))
    counts = report_counts(SplitFilters()).total

    states = [row["on_track"] for row in rows]
    assert (counts["on_track"], counts["off_track"], counts["not_measured"]) == (
        states.count("true"),
        states.count("false"),
        states.count(""),
    )


# --- formula safety -----------------------------------------------------------------------------------------


@pytest.fixture
def awkward(world):
    kpi = world["kpis"]["awareness"]
    return kpi_update(kpi=kpi, by=kpi.initiative.owner, name=HYPERLINK, unit="+1 day")


def test_text_a_spreadsheet_would_evaluate_is_written_as_text_in_the_csv(client, finance, world, awkward):
    content = b"".join(download(client, finance).streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(content)))
    row = next(row for row in rows if row["initiative_code"] == world["fast"].code and "HYPERLINK" in row["kpi"])

    assert row["kpi"] == "'" + HYPERLINK
    assert row["unit"] == "'+1 day"


def test_the_workbook_has_numbers_as_numbers_and_text_as_text(world, awkward):
    target = io.BytesIO()
    written = write_outcomes_xlsx(SplitExport.prepare({}), target, requested_by="Grace Whitfield")
    header, *lines = read_cells(target.getvalue(), 1)

    assert written == len(lines) == 6
    assert [value for _, value in header] == list(OUTCOMES_REPORT_COLUMNS)
    index = {column: position for position, column in enumerate(OUTCOMES_REPORT_COLUMNS)}
    formula = next(cells for cells in lines if cells[index["kpi"]][1] == HYPERLINK)
    assert formula[index["kpi"]][0] == "s" and formula[index["unit"]] == ("s", "+1 day")
    assert all(kind != "f" for cells in lines for kind, _ in cells)  # never a formula
    conversion = next(cells for cells in lines if cells[index["kpi"]][1] == "Conversion")
    for column, expected in (("baseline", 0), ("target", 100), ("latest_value", 80), ("attainment_pct", 80)):
        assert conversion[index[column]][0] == "n" and D(conversion[index[column]][1]) == expected, column
    assert conversion[index["actual_total"]] == ("n", "1234.56")
    assert conversion[index["on_track"]][0] == "n"  # a boolean cell: 1
    assert formula[index["on_track"]] == ("", "")  # not measured: blank


# --- who may download it ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [CSV_URL, XLSX_URL])
def test_a_product_manager_may_not_download_the_report(client, pm, world, url):
    assert download(client, pm, url).status_code == 403


@pytest.mark.parametrize("who", ["finance", "executive_marketing", "executive_it"])
def test_finance_and_executives_download_both_files(client, request, world, who):
    user = request.getfixturevalue(who)
    csv_response = download(client, user, CSV_URL)
    xlsx_response = download(client, user, XLSX_URL)

    assert csv_response.status_code == xlsx_response.status_code == 200
    assert xlsx_response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_the_reports_page_offers_the_outcomes_downloads(client, finance, pm, world):
    client.force_login(finance)
    page = client.get("/reports/")

    assert page.status_code == 200
    assert 'href="/reports/outcomes.csv"' in page.text and 'href="/reports/outcomes.xlsx"' in page.text


# --- LibreOffice reads the workbook ------------------------------------------------------------------------


def test_libreoffice_reads_the_workbook_with_the_values_of_the_csv(client, finance, world, tmp_path):
    soffice = libreoffice()
    client.force_login(finance)
    source = tmp_path / "outcomes.xlsx"
    source.write_bytes(b"".join(client.get(XLSX_URL).streaming_content))
    exported = csv_rows(client.get(CSV_URL))
    profile = tmp_path / "profile"  # its own profile: runs beside any other LibreOffice
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            LIBREOFFICE_CSV,
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    sheet = tmp_path / "outcomes-Outcomes.csv"
    header, *rows = list(csv.reader(io.StringIO(sheet.read_text(encoding="utf-8"), newline="")))

    assert header == list(OUTCOMES_REPORT_COLUMNS)
    assert len(rows) == len(exported)
    for shown, written in zip(rows, exported, strict=True):
        for column, value in zip(OUTCOMES_REPORT_COLUMNS, shown, strict=True):
            expected = written[column]
            if column in ("baseline", "target", "latest_value", "attainment_pct", "actual_total") and expected:
                assert D(value) == D(expected), (column, value, expected)
            elif column == "on_track":
                # a boolean cell: LibreOffice's raw value is 1 or 0 (TRUE or FALSE without the cell's format)
                word = {"1": "true", "true": "true", "0": "false", "false": "false", "": ""}[value.lower()]
                assert word == expected, (column, value, expected)
            elif column not in ("target_date", "measured_on"):
                assert value == expected.removeprefix("'"), (column, value, expected)
