"""The split report as XLSX: its sheets and cells, and LibreOffice reading the same values as the CSV.

The structure is read straight from the workbook's XML (no extra dependency); the
values are read by LibreOffice (Debian's libreoffice-calc, headless), which CI
installs: there a missing LibreOffice fails the test, elsewhere it skips.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from django.urls import reverse

from reports.selectors import SplitExport
from reports.split_csv import split_csv_chunks
from reports.xlsx import COVER_SHEET, LANE_MONTH_SHEET, SPLIT_SHEET, TRUE_UP_SHEET, write_split_xlsx
from split.arithmetic import SPLIT_AMOUNT_COLUMNS, SPLIT_COLUMNS
from split.selectors import SplitFilters, split_rows, split_summary
from tests.conftest import service_missing
from tests.reports.export_helpers import HYPERLINK, parse_csv, unescape

pytestmark = pytest.mark.django_db


D = Decimal
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
# The split rows first (scripts read the first sheet), the cover last.
SHEETS = [SPLIT_SHEET, LANE_MONTH_SHEET, TRUE_UP_SHEET, COVER_SHEET]
# LibreOffice's CSV filter: comma, double quotes, UTF-8, from line 1, raw values
# (not as shown), formulas as results, every sheet to its own file.
LIBREOFFICE_CSV = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def workbook_bytes(params: dict | None = None) -> bytes:
    target = io.BytesIO()
    write_split_xlsx(SplitExport.prepare(params or {}), target, requested_by="Grace Whitfield")
    return target.getvalue()


def column_index(reference: str) -> int:
    letters = re.match(r"[A-Z]+", reference).group()
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def sheet_xml(data: bytes, position: int | str) -> ElementTree.Element:
    """A sheet by its position (from 1) or its name."""
    if isinstance(position, str):
        position = SHEETS.index(position) + 1
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return ElementTree.fromstring(archive.read(f"xl/worksheets/sheet{position}.xml"))  # noqa: S314 - our own file


def read_cells(data: bytes, position: int | str) -> list[list[tuple[str, str]]]:
    """Rows of (kind, value): kind `s` for a string cell, `n` for a number, `f` for a formula."""
    rows = []
    for row in sheet_xml(data, position).iterfind("m:sheetData/m:row", NS):
        cells: list[tuple[str, str]] = []
        for cell in row.iterfind("m:c", NS):
            index = column_index(cell.get("r"))
            cells.extend([("", "")] * (index - len(cells)))
            if cell.find("m:f", NS) is not None:
                cells.append(("f", cell.find("m:f", NS).text))
            elif cell.get("t") == "inlineStr":
                cells.append(("s", "".join(t.text or "" for t in cell.iter(f"{{{NS['m']}}}t"))))
            elif cell.find("m:v", NS) is not None:
                cells.append(("n", cell.find("m:v", NS).text))
            else:
                cells.append(("", ""))
        rows.append(cells)
    return rows


# --- structure ---------------------------------------------------------------------------


def test_workbook_has_split_roll_up_true_up_and_cover_sheets_split_first(export_portfolio):
    data = workbook_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314 - our own file
    names = [sheet.get("name") for sheet in workbook.iterfind("m:sheets/m:sheet", NS)]

    assert names == SHEETS


def test_split_sheet_has_the_exact_header_frozen_and_filtered_with_numbers_as_numbers(export_portfolio):
    data = workbook_bytes()
    header, *rows = read_cells(data, SPLIT_SHEET)
    totals = rows.pop()
    count = split_rows().count()
    sheet = sheet_xml(data, SPLIT_SHEET)

    assert [value for kind, value in header] == list(SPLIT_COLUMNS)
    assert {kind for kind, _ in header} == {"s"}
    pane = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    assert (pane.get("ySplit"), pane.get("state")) == ("1", "frozen")
    assert sheet.find("m:autoFilter", NS).get("ref") == f"A1:Q{count + 1}"
    assert len(rows) == count
    for row in rows:
        kinds = dict(zip(SPLIT_COLUMNS, (kind for kind, _ in row), strict=False))
        assert [kinds[c] for c in ("marketing_share_pct", *SPLIT_AMOUNT_COLUMNS)] == ["n"] * 11
        assert kinds["fiscal_year"] == kinds["month"] == kinds["initiative_title"] == "s"
    assert totals[0] == ("s", "Total")


def test_no_cell_anywhere_is_a_formula_and_the_hyperlink_title_is_a_string(export_portfolio):
    data = workbook_bytes()
    _, *rows = read_cells(data, SPLIT_SHEET)
    titles = {row[SPLIT_COLUMNS.index("initiative_title")] for row in rows[:-1]}

    assert ("s", HYPERLINK) in titles  # the exact text, as a string cell
    for position in range(1, len(SHEETS) + 1):
        assert not [cell for row in read_cells(data, position) for cell in row if cell[0] == "f"], position


def test_totals_row_equals_split_summary(export_portfolio):
    _, *rows = read_cells(workbook_bytes({"lane": "fast_lane"}), SPLIT_SHEET)
    [summary] = split_summary(None, SplitFilters.parse({"lane": "fast_lane"}))
    totals = dict(zip(SPLIT_COLUMNS, rows[-1], strict=False))

    for column in SPLIT_AMOUNT_COLUMNS:
        assert totals[column][0] == "n"
        assert D(totals[column][1]).quantize(D("0.01")) == summary[column], column
        assert (
            sum(D(dict(zip(SPLIT_COLUMNS, r, strict=False))[column][1]) for r in rows[:-1]).quantize(D("0.01"))
            == summary[column]
        )


def test_cover_names_the_filters_the_as_of_and_the_currency(export_portfolio):
    export = SplitExport.prepare({"fiscal_year": "FY2027", "lane": "core_stack"})
    target = io.BytesIO()
    write_split_xlsx(export, target, requested_by="Grace Whitfield")
    cover = {row[0][1]: row[1][1] for row in read_cells(target.getvalue(), COVER_SHEET) if len(row) > 1 and row[0][1]}

    assert cover["Fiscal year"] == "FY2027"
    assert cover["Lane"] == "Core stack"
    assert cover["Quarter"] == "All"
    assert cover["Reporting currency"] == "USD"
    assert cover["Figures as of"].startswith(f"{export.as_of_local:%d %b %Y, %H:%M}")
    assert cover["Generated by"] == "Grace Whitfield"


def test_true_up_sheet_says_who_owes_whom_per_quarter(export_portfolio):
    _, *rows = read_cells(workbook_bytes(), TRUE_UP_SHEET)
    quarters = split_summary("quarter")

    assert len(rows) == len(quarters) + 1
    for row, quarter in zip(rows, quarters, strict=False):
        assert row[0][1] == f"FY{quarter['fiscal_year']}" and row[1][1] == f"Q{quarter['fiscal_quarter']}"
        true_up = quarter["true_up"]
        label = "Marketing owes IT" if true_up > 0 else "IT owes Marketing" if true_up < 0 else "Square"
        assert row[-2] == ("s", label)
        assert D(row[-1][1]).quantize(D("0.01")) == abs(true_up)


# --- LibreOffice reads the same values as the CSV --------------------------------------------


def libreoffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        service_missing("needs LibreOffice (apt-get install -y libreoffice-calc)")
    return found


def libreoffice_csvs(data: bytes, tmp_path) -> dict[str, list[list[str]]]:
    """Every sheet of the workbook as LibreOffice converts it to CSV, by sheet name."""
    soffice = libreoffice()
    source = tmp_path / "report.xlsx"
    source.write_bytes(data)
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
    sheets = {}
    for name in SHEETS:
        path = tmp_path / f"report-{name}.csv"
        sheets[name] = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    return sheets


def test_libreoffice_reads_the_downloaded_xlsx_with_the_values_of_the_csv(export_portfolio, finance, client, tmp_path):
    client.force_login(finance)
    xlsx = client.get(reverse("reports:split_xlsx"))
    exported = b"".join(client.get(reverse("reports:split_csv")).streaming_content)
    assert xlsx.status_code == 200
    sheets = libreoffice_csvs(b"".join(xlsx.streaming_content), tmp_path)
    header, *rows = sheets[SPLIT_SHEET]
    csv_header, *csv_rows = parse_csv(exported)
    totals = rows.pop()

    assert header == csv_header == list(SPLIT_COLUMNS)
    assert len(rows) == len(csv_rows)
    numeric = {"marketing_share_pct", *SPLIT_AMOUNT_COLUMNS}
    for shown, written in zip(rows, csv_rows, strict=True):
        for column, in_xlsx, in_csv in zip(SPLIT_COLUMNS, shown, written, strict=True):
            if column in numeric:
                assert D(in_xlsx) == D(in_csv), (column, in_xlsx, in_csv)
            else:
                # LibreOffice keeps a carriage return inside a cell as its line break, LF
                assert in_xlsx == unescape(in_csv).replace("\r", "\n"), (column, in_xlsx, in_csv)
    titles = [row[SPLIT_COLUMNS.index("initiative_title")] for row in rows]
    assert HYPERLINK in titles and "y" not in titles  # text, never evaluated
    [summary] = split_summary()
    for column in SPLIT_AMOUNT_COLUMNS:
        assert D(totals[SPLIT_COLUMNS.index(column)]) == summary[column], column


def test_libreoffice_reads_the_roll_up_sheets_as_split_summary(export_portfolio, tmp_path):
    sheets = libreoffice_csvs(workbook_bytes(), tmp_path)
    lane_months = split_summary(["month", "lane"])
    quarters = split_summary("quarter")

    _, *by_lane_month = sheets[LANE_MONTH_SHEET]
    for row, group in zip(by_lane_month, lane_months, strict=False):
        assert row[:2] == [f"FY{group['fiscal_year']}", f"{group['month']:%Y-%m}"]
        assert [D(value) for value in row[4:14]] == [group[column] for column in SPLIT_AMOUNT_COLUMNS]
    assert by_lane_month[-1][0] == "Total" and len(by_lane_month) == len(lane_months) + 1

    _, *by_quarter = sheets[TRUE_UP_SHEET]
    for row, quarter in zip(by_quarter, quarters, strict=False):
        assert D(row[8]) == quarter["true_up"]
        assert D(row[10]) == abs(quarter["true_up"])
    cover = {row[0]: row[1] for row in sheets[COVER_SHEET] if len(row) > 1 and row[0]}
    assert cover["Reporting currency"] == "USD"
    assert D(cover["Actual total"]) == split_summary()[0]["actual_total"]


def test_libreoffice_and_the_csv_agree_on_a_filtered_selection(export_portfolio, tmp_path):
    params = {"fiscal_year": "FY2027", "status": "in_progress"}
    sheets = libreoffice_csvs(workbook_bytes(params), tmp_path)
    _, *rows = sheets[SPLIT_SHEET]
    _, *csv_rows = parse_csv(b"".join(split_csv_chunks(SplitFilters.parse(params))))

    assert [row[:3] for row in rows[:-1]] == [row[:3] for row in csv_rows]
    assert rows[:-1]
