"""What a web page answers to a query parameter it cannot use (issue 14 §5; the API's: tests/api/).

The page, showing what it can (first page, current year, no filter) with a plain notice
of what it could not use — 200, as the dashboard does; a file download answers 400 in
plain text. A NUL byte (`%00`) is refused before any view (`portfolio.nul_guard`): a
plain 400 page naming the parameter, 404 in a path.
tests/security/test_query_parameter_fuzzing.py sends every hostile value to every page;
these pin the answers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from budgets.services.budgets import budget_line_set
from reports.models import ExportJob
from tests.factories import ExpenseFactory, FxRateFactory, InitiativeFactory, PeriodLockFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(finance) -> Client:
    client = Client(raise_request_exception=False)  # as in production: a bug answers the 500 page
    client.force_login(finance)
    return client


def notices(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_huge_audit_log_page_shows_the_first_page_with_a_notice(web, finance):
    budget_line_set(
        initiative=InitiativeFactory(), month=dt.date(2026, 3, 1), category="labor", amount=Decimal("10"), by=finance
    )

    response = web.get("/finance/audit/", {"page": "99999999999999999999"})

    assert response.status_code == 200
    assert notices(response) == [
        "There is no page 99999999999999999999: no list here has that many pages. Showing the first page."
    ]
    assert response.context["page"].page == 1 and len(response.context["page"].entries) == 1


def test_an_audit_log_page_past_its_end_shows_the_first_page_with_a_notice(web, finance):
    budget_line_set(
        initiative=InitiativeFactory(), month=dt.date(2026, 3, 1), category="labor", amount=Decimal("10"), by=finance
    )

    response = web.get("/finance/audit/", {"page": "7"})

    assert notices(response) == ["There is no page 7: the log ends before it. Showing the first page."]
    assert len(response.context["page"].entries) == 1


@pytest.mark.parametrize("date_to", ["9999-12-31", "0001-01-01"])
def test_the_audit_log_takes_the_calendars_first_and_last_days(web, finance, date_to):
    budget_line_set(
        initiative=InitiativeFactory(), month=dt.date(2026, 3, 1), category="labor", amount=Decimal("10"), by=finance
    )

    response = web.get("/finance/audit/", {"date_from": "0001-01-01", "date_to": date_to})

    assert response.status_code == 200
    assert len(response.context["page"].entries) == (1 if date_to.startswith("9999") else 0)


@pytest.mark.parametrize(
    ("given", "shown", "notice"),
    [
        ("abc", 1, "“abc” is not a page number: pages are numbered 1, 2, 3… Showing the first page."),
        ("-3", 1, "There is no page -3: pages are numbered from 1. Showing the first page."),
        ("9", 2, "There is no page 9: the list ends at page 2, shown here."),
    ],
)
def test_an_unusable_page_number_on_a_list_shows_a_page_that_exists_and_says_so(web, pm, given, shown, notice):
    initiative = InitiativeFactory(owner=pm, status="approved")
    ExpenseFactory.create_batch(51, initiative=initiative)  # two pages of 50

    response = web.get("/finance/expenses/", {"page": given})

    assert response.status_code == 200
    assert response.context["page"] == shown
    assert notices(response) == [notice]


@pytest.mark.parametrize("url", ["/finance/fx-rates/", "/finance/budgets/", "/initiatives/"])
def test_every_paged_web_list_says_when_its_page_number_is_unusable(web, url):
    FxRateFactory()

    response = web.get(url, {"page": "%s"})

    assert response.status_code == 200
    assert notices(response) == ["“%s” is not a page number: pages are numbered 1, 2, 3… Showing the first page."]


@pytest.mark.parametrize("given", ["abc", "99999999999999999999", "7"])
def test_an_unusable_page_size_on_the_initiative_list_shows_the_first_with_a_notice(web, given):
    response = web.get("/initiatives/", {"per_page": given})

    assert response.status_code == 200
    assert response.context["per_page"] == 25
    assert notices(response) == [f"“{given}” is not a page size here (25, 50 or 100): showing 25 a page."]


@pytest.mark.parametrize("url", ["/finance/locks/", "/finance/budgets/"])
def test_an_unusable_fiscal_year_shows_the_current_one_with_a_notice(web, url):
    response = web.get(url, {"fiscal_year": "%s"})

    assert response.status_code == 200
    [notice] = notices(response)
    assert notice.startswith("“%s” is not a fiscal year like FY2027: showing FY")


def test_an_unusable_month_filter_is_a_message_on_the_field_and_the_list_is_unfiltered(web, pm):
    initiative = InitiativeFactory(owner=pm, status="approved")
    ExpenseFactory.create_batch(2, initiative=initiative)

    response = web.get("/finance/expenses/", {"month": "2026-13"})

    assert response.status_code == 200
    assert response.context["filterset"].form.errors == {"month": ["“2026-13” is not a month like 2026-03 (YYYY-MM)."]}
    assert "“2026-13” is not a month like 2026-03 (YYYY-MM)." in response.content.decode()
    assert response.context["totals"]["count"] == 2


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/finance/budgets/", "q"),
        ("/finance/budgets/open/", "code"),
        ("/reports/", "initiative"),
        ("/reports/split.csv", "initiative"),
        ("/finance/expenses/", "source"),
    ],
)
def test_a_nul_byte_in_a_page_parameter_is_refused_with_a_plain_page(web, url, name):
    response = web.get(url, {name: "INI-0001\x00"})

    assert response.status_code == 400
    page = response.content.decode()
    assert f"“{name}” contains a NUL character (%00), which no value can hold." in page
    assert "Remove it from the address" in page


@pytest.mark.parametrize("url", ["/initiatives/INI-0001%00/", "/finance/budgets/INI-0001%00/FY2026/"])
def test_a_nul_byte_in_a_page_path_is_not_found(web, url):
    assert web.get(url).status_code == 404


def test_an_anonymous_link_with_a_nul_byte_still_goes_to_the_login_page():
    response = Client().get("/finance/budgets/", {"q": "\x00"})

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_export_asked_with_a_nul_byte_in_a_filter_is_not_started(web):
    response = web.post("/reports/exports/new/", {"format": "csv", "initiative": "INI-0001\x00"}, follow=True)

    assert not ExportJob.objects.exists()
    assert notices(response) == [
        "The export was not started: “initiative” contains a NUL character (%00), which no value can hold."
    ]


def test_a_lock_list_with_a_percent_sign_in_the_year_still_lists_the_locks(web, finance):
    PeriodLockFactory(month=dt.date(2026, 1, 1), locked_by=finance)

    response = web.get("/finance/locks/", {"fiscal_year": "100%"})

    assert response.status_code == 200
    assert response.context["all_locks"]
