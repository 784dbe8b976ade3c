"""`split.filtersets.SplitRowFilterSet`: the split rows' one filter, for the exports, the dashboard and the API.

The same values pass, and the same messages refuse the others, whichever door they come in by:
`SplitFilters.parse` (exports, dashboard, reports page), `/api/split/` (django-filter's backend) and
`/api/split/summary/`; and the API documents exactly the FilterSet's parameters.
"""

from __future__ import annotations

import pytest

from split.api.views import SplitRowViewSet, SplitSummaryView
from split.filtersets import SplitRowFilterSet
from split.models import SplitRow
from split.selectors import FILTER_NAMES, SplitFilterError, SplitFilters

BAD_FILTERS = [
    {"fiscal_year": "last year"},
    {"fiscal_year": "100%"},  # the value goes in as a param: a `%` in it is no 500
    {"fiscal_year": "%(value)s"},
    {"quarter": "Q5"},
    {"quarter": "３"},
    {"lane": "slow"},
    {"status": "maybe"},
    {"fiscal_year": "27", "quarter": "Q", "lane": "x%", "status": "nope", "initiative": "INI-0001"},
]


def parse_errors(params: dict) -> dict[str, list[str]]:
    with pytest.raises(SplitFilterError) as refused:
        SplitFilters.parse(params)
    return {name: [message] for name, message in refused.value.errors.items()}


def test_the_filterset_is_the_one_list_of_split_filters():
    assert (
        tuple(SplitRowFilterSet.base_filters)
        == FILTER_NAMES
        == (
            "fiscal_year",
            "quarter",
            "lane",
            "status",
            "initiative",
        )
    )
    assert SplitRowViewSet.filterset_class is SplitRowFilterSet
    assert SplitSummaryView.filterset_class is SplitRowFilterSet


def test_the_filterset_reads_every_spelling_the_exports_take():
    form = SplitRowFilterSet(
        data={
            "fiscal_year": " fy2027 ",
            "quarter": "q3",
            "lane": "Fast LANE",
            "status": "In progress",
            "initiative": "ini-7",
        },
        queryset=SplitRow.objects.none(),
    ).form

    assert form.is_valid(), form.errors
    assert form.cleaned_data == {
        "fiscal_year": 2027,
        "quarter": 3,
        "lane": "fast_lane",
        "status": "in_progress",
        "initiative": "INI-7",
    }
    assert SplitFilters.parse(form.data) == SplitFilters(**form.cleaned_data)


def test_a_nul_is_refused_by_the_parameters_name():
    assert parse_errors({"quarter": "Q\x001", "lane": "\ud800"}) == {
        "quarter": ["“quarter” contains a NUL character (%00), which no value can hold."],
        "lane": ["“lane” contains a NUL character (%00), which no value can hold."],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("params", BAD_FILTERS, ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()))
def test_the_api_refuses_bad_filters_with_the_exports_messages(api, finance, params):
    expected = parse_errors(params)

    rows = api(finance).get("/api/split/", params)
    summary = api(finance).get("/api/split/summary/", params)

    assert (rows.status_code, rows.json()) == (400, expected)
    assert (summary.status_code, summary.json()) == (400, expected)


@pytest.mark.django_db
def test_the_api_documents_the_filtersets_parameters(api, pm):
    schema = api(pm).get("/api/schema/").json()

    for path, others in (("/api/split/", {"cursor", "page_size"}), ("/api/split/summary/", {"group_by"})):
        parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        assert set(parameters) == set(SplitRowFilterSet.base_filters) | others
        assert parameters["quarter"]["schema"]["enum"] == ["1", "2", "3", "4", "Q1", "Q2", "Q3", "Q4"]
        assert set(parameters["lane"]["schema"]["enum"]) == {"fast_lane", "core_stack"}
        assert "in_progress" in parameters["status"]["schema"]["enum"]
        assert "FY2027" in parameters["fiscal_year"]["description"]
        assert "INI-0042" in parameters["initiative"]["description"]
