"""The reports page and the export URLs: finance only, filters, filenames, streaming."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reports.split_csv import CSV_HEADER, split_csv_chunks
from split.selectors import SplitFilters, split_summary
from tests.reports.export_helpers import HYPERLINK, parse_csv

pytestmark = pytest.mark.django_db


EXPORT_URLS = ["reports:index", "reports:split_csv", "reports:split_xlsx", "reports:true_up_journal_csv"]


@pytest.mark.parametrize("url_name", EXPORT_URLS)
@pytest.mark.parametrize(
    ("role", "status"),
    [("pm", 403), ("other_pm", 403), ("executive_marketing", 200), ("executive_it", 200), ("finance", 200)],
)
def test_finance_and_executives_may_export(request, client, role, status, url_name):
    client.force_login(request.getfixturevalue(role))

    assert client.get(reverse(url_name)).status_code == status


@pytest.mark.parametrize("url_name", EXPORT_URLS)
def test_anonymous_users_are_sent_to_the_login_page(client, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_split_csv_is_streamed_as_an_attachment_named_after_filters_and_as_of(export_portfolio, client, finance):
    client.force_login(finance)

    response = client.get(reverse("reports:split_csv"), {"fiscal_year": "FY2027", "lane": "fast_lane"})

    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="split-report_FY2027_fast-lane_as-of-')
    content = b"".join(response.streaming_content)
    assert content == b"".join(split_csv_chunks(SplitFilters.parse({"fiscal_year": "FY2027", "lane": "fast_lane"})))
    assert content.startswith(CSV_HEADER.encode())


def test_csv_download_has_the_hyperlink_title_as_text(export_portfolio, client, finance):
    client.force_login(finance)

    rows = parse_csv(b"".join(client.get(reverse("reports:split_csv")).streaming_content))

    assert "'" + HYPERLINK in {row[3] for row in rows}


@pytest.mark.parametrize("url_name", ["reports:split_csv", "reports:split_xlsx", "reports:true_up_journal_csv"])
def test_bad_filters_are_refused_with_a_message_per_filter(client, finance, url_name):
    client.force_login(finance)

    response = client.get(reverse(url_name), {"fiscal_year": "next", "lane": "slow"})

    assert response.status_code == 400
    text = response.content.decode()
    assert "fiscal_year:" in text and "FY2027" in text and "lane:" in text


def test_xlsx_is_an_attachment_with_the_spreadsheet_content_type(export_portfolio, client, finance):
    client.force_login(finance)

    response = client.get(reverse("reports:split_xlsx"), {"quarter": "Q1"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="split-report_Q1_as-of-' in response["Content-Disposition"]
    assert b"".join(response.streaming_content)[:2] == b"PK"  # a zip, as every XLSX


def test_a_large_xlsx_is_sent_to_the_reports_page_to_be_prepared_in_the_background(
    export_portfolio, client, finance, settings
):
    settings.EXPORT_ASYNC_ROWS = 5
    client.force_login(finance)

    response = client.get(reverse("reports:split_xlsx"), {"lane": "fast_lane"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("reports:index") + "?lane=fast_lane"
    assert "prepared in the background" in response.content.decode()


def test_journal_csv_is_an_attachment(export_portfolio, client, finance):
    client.force_login(finance)

    response = client.get(reverse("reports:true_up_journal_csv"), {"fiscal_year": "2026"})

    assert response.status_code == 200
    assert 'filename="true-up-journal_FY2026_as-of-' in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"date,debit_side,credit_side,amount,")


def test_reports_page_shows_row_count_totals_and_download_links(
    export_portfolio, client, finance, django_assert_num_queries
):
    client.force_login(finance)
    params = {"fiscal_year": "FY2027", "status": "in_progress"}
    [summary] = split_summary(None, SplitFilters.parse(params))

    with django_assert_num_queries(11):  # + the forecast report's totals and its count of initiative-years
        response = client.get(reverse("reports:index"), params)

    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["totals"]["rows"] == summary["rows"]
    assert f"{summary['actual_total']:,.2f}" in html and f"{summary['planned_total']:,.2f}" in html
    assert reverse("reports:split_csv") + "?fiscal_year=FY2027&amp;status=in_progress" in html
    assert reverse("reports:split_xlsx") + "?fiscal_year=FY2027&amp;status=in_progress" in html
    assert reverse("reports:true_up_journal_csv") + "?fiscal_year=FY2027&amp;status=in_progress" in html
    assert reverse("reports:forecast_csv") + "?fiscal_year=FY2027&amp;status=in_progress" in html
    assert reverse("reports:forecast_xlsx") + "?fiscal_year=FY2027&amp;status=in_progress" in html
    assert f"{summary['forecast_total']:,.2f}" in html


def test_reports_page_shows_each_bad_filter_under_its_field(client, finance):
    client.force_login(finance)

    response = client.get(reverse("reports:index"), {"quarter": "Q7", "status": "maybe"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "“Q7” is not a quarter" in html and "“maybe” is not a status" in html
    assert response.context["totals"] is None
    assert "split.csv" not in html  # nothing to download until the filters are valid


def test_reports_page_says_when_the_split_was_never_computed(client, finance):
    client.force_login(finance)

    html = client.get(reverse("reports:index")).content.decode()

    assert "No recompute has succeeded yet" in html
