"""What an API list answers to a query parameter it cannot use (issue 14 §5): a 400 naming it.

The body is `{parameter: [message]}`, the message in plain words; a page past the last is
a 404. A NUL byte (`%00`) is refused before any view (`portfolio.nul_guard`): 400 naming
the parameter, 404 in a path. tests/api/test_schemathesis.py sends every hostile value to
every documented parameter of every list; these pin the answers.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "given"), [("/api/budget-lines/", "100%"), ("/api/locks/", "%s"), ("/api/locks/", "%(value)s FY")]
)
def test_a_fiscal_year_holding_a_percent_sign_is_a_field_message(api, finance, url, given):
    response = api(finance).get(url, {"fiscal_year": given})

    assert response.status_code == 400
    assert response.json() == {"fiscal_year": [f"“{given}” is not a fiscal year like FY2027."]}


@pytest.mark.parametrize("url", ["/api/expenses/", "/api/fx-rates/", "/api/budget-lines/", "/api/locks/"])
def test_a_month_that_is_not_one_is_a_field_message_not_an_empty_list(api, finance, url):
    response = api(finance).get(url, {"month": "2026-13"})

    assert response.status_code == 400
    assert response.json() == {"month": ["“2026-13” is not a month like 2026-03 (YYYY-MM)."]}


def test_a_month_filters_the_api_list(api, finance, pm):
    initiative = InitiativeFactory(owner=pm, status="approved")
    wanted = ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 3, 31))
    ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 4, 1))

    response = api(finance).get("/api/expenses/", {"month": "2026-03"})

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("abc", "“abc” is not a page number: pages are numbered 1, 2, 3…"),
        ("1e400", "“1e400” is not a page number: pages are numbered 1, 2, 3…"),
        ("0", "There is no page 0: pages are numbered from 1."),
        ("-1", "There is no page -1: pages are numbered from 1."),
        ("99999999999999999999", "There is no page 99999999999999999999: no list here has that many pages."),
    ],
)
def test_a_page_number_that_is_not_one_is_a_field_message(api, finance, given, message):
    response = api(finance).get("/api/initiatives/", {"page": given})

    assert response.status_code == 400
    assert response.json() == {"page": [message]}


def test_a_page_past_the_last_is_not_found_and_last_is_the_last(api, finance):
    InitiativeFactory()

    assert api(finance).get("/api/initiatives/", {"page": "2"}).json() == {
        "detail": "There is no page 2: the list has fewer pages."
    }
    assert api(finance).get("/api/initiatives/", {"page": "last"}).status_code == 200


@pytest.mark.parametrize("url", ["/api/initiatives/", "/api/expenses/", "/api/split/"])
@pytest.mark.parametrize("given", ["abc", "0", "-5", "%s"])
def test_a_page_size_that_is_not_one_is_a_field_message(api, finance, url, given):
    response = api(finance).get(url, {"page_size": given})

    assert response.status_code == 400
    assert list(response.json()) == ["page_size"]


def test_a_page_size_above_the_maximum_is_capped(api, finance):
    response = api(finance).get("/api/initiatives/", {"page_size": "99999999999999999999"})

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("url", "name"),
    [("/api/split/", "initiative"), ("/api/split/summary/", "initiative"), ("/api/initiatives/", "q")],
)
def test_a_nul_byte_in_an_api_parameter_is_refused_by_name(api, finance, url, name):
    response = api(finance).get(url, {name: "INI-0001\x00"})

    assert response.status_code == 400
    assert response.json() == {name: [f"“{name}” contains a NUL character (%00), which no value can hold."]}


def test_a_nul_byte_in_an_api_path_is_not_found(api, finance):
    response = api(finance).get("/api/initiatives/INI-0001%00/")

    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
