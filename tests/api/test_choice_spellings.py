"""A list's choice filters read a choice by its value or its label, in any case, and codes in any case.

One spelling everywhere (issue 14 §7, issue 15 §4): the importers and `/api/split/` already did;
the initiative, expense and budget-line lists answered 400 "Select a valid choice" to `Software`,
`IT`, `eur`, `Fast lane`, `In progress`, `Red`. A value that names no choice keeps its 400.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import BudgetLineFactory, ExpenseFactory, InitiativeFactory

pytestmark = pytest.mark.django_db


def ids(response, key: str = "id") -> list:
    assert response.status_code == 200, response.content
    return sorted(row[key] for row in response.json()["results"])


@pytest.mark.parametrize(
    ("parameter", "spellings"),
    [
        ("lane", ["Fast lane", "FAST LANE", "fast_lane", " FAST_LANE "]),
        ("status", ["In progress", "in PROGRESS", "IN_PROGRESS"]),
        ("health", ["Red", "RED", "red"]),
    ],
)
def test_the_initiative_list_reads_a_choice_by_its_value_or_label_in_any_case(api, finance, parameter, spellings):
    wanted = InitiativeFactory(lane="fast_lane", status="in_progress", health="red")
    InitiativeFactory(lane="core_stack", status="approved", health="green")

    for spelling in spellings:
        assert ids(api(finance).get("/api/initiatives/", {parameter: spelling}), "code") == [wanted.code], spelling


@pytest.mark.parametrize(
    ("parameter", "spelling"),
    [
        ("category", "Software"),
        ("category", "SOFTWARE"),
        ("paid_by", "IT"),
        ("paid_by", "It"),
        ("currency", "eur"),
        ("currency", "Eur"),
        ("initiative", "ini-0001"),
        ("initiative", " ini-0001 "),
    ],
)
def test_the_expense_list_reads_a_choice_or_code_in_any_case(api, finance, parameter, spelling):
    first = InitiativeFactory(status="approved")
    second = InitiativeFactory(status="approved")
    assert first.code == "INI-0001"
    wanted = ExpenseFactory(initiative=first, category="software", paid_by="it", currency="EUR")
    ExpenseFactory(initiative=second, category="labor", paid_by="marketing", currency="USD")

    assert ids(api(finance).get("/api/expenses/", {parameter: spelling})) == [wanted.pk]


@pytest.mark.parametrize(("parameter", "spelling"), [("category", "Software"), ("initiative", "ini-0001")])
def test_the_budget_line_list_reads_a_category_or_code_in_any_case(api, finance, parameter, spelling):
    first = InitiativeFactory(status="approved")
    second = InitiativeFactory(status="approved")
    assert first.code == "INI-0001"
    wanted = BudgetLineFactory(initiative=first, category="software", month=dt.date(2026, 1, 1))
    BudgetLineFactory(initiative=second, category="labor", month=dt.date(2026, 1, 1))

    assert ids(api(finance).get("/api/budget-lines/", {parameter: spelling})) == [wanted.pk]


def test_the_fx_rate_list_reads_a_currency_in_any_case(api, finance):
    from tests.factories import FxRateFactory

    wanted = FxRateFactory(currency="EUR")
    FxRateFactory(currency="GBP")

    assert ids(api(finance).get("/api/fx-rates/", {"currency": "eur"})) == [wanted.pk]


@pytest.mark.parametrize(
    ("url", "parameter", "given"),
    [
        ("/api/initiatives/", "lane", "warp"),
        ("/api/initiatives/", "status", "Any status"),
        ("/api/initiatives/", "health", "null"),
        ("/api/expenses/", "category", "Any category"),
        ("/api/expenses/", "paid_by", "finance"),
        ("/api/expenses/", "currency", "XYZ"),
        ("/api/budget-lines/", "category", "hardware"),
    ],
)
def test_a_value_that_names_no_choice_keeps_its_400(api, finance, url, parameter, given):
    response = api(finance).get(url, {parameter: given})

    assert response.status_code == 400
    assert response.json() == {parameter: [f"Select a valid choice. {given} is not one of the available choices."]}
