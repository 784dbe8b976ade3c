"""Query-parameter fuzzing of every web page: hostile values never make a server error (issue 14 §5).

Every route of the site outside /api/ and /admin/ is listed in `PAGES` with the role
that may open it and the query parameters it reads (a new route fails
`test_every_page_is_fuzzed` until it is added). Each parameter gets each value of
`tests.hostile_values.QUERY_VALUES` on its own, and then all of `EVERY_PARAMETER` at
once; the path parameters get them too. The API's lists and writes are fuzzed from
the OpenAPI schema in tests/api/test_schemathesis.py.

What a page answers to a value it cannot use is pinned by
tests/security/test_query_parameters.py: the page with a plain notice, a 400 for a
file download or for a link no page of ours makes (a NUL byte); here, only never a 500.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from outcomes.models import OutcomeKpi, OutcomeMeasurement
from scenarios.services import scenario_change_set, scenario_create
from split.models import ClosedMonth
from split.settlements import settlement_create
from tests.factories import BudgetLineFactory, ExpenseFactory, FxRateFactory, InitiativeFactory, PeriodLockFactory
from tests.hostile_values import QUERY_VALUES

pytestmark = pytest.mark.django_db

SPLIT_FILTERS = ["fiscal_year", "quarter", "lane", "status", "initiative"]

# Route → (who opens it, the query parameters it reads).
PAGES: dict[str, tuple[str, list[str]]] = {
    "": ("pm", []),
    "accounts/login/": ("anonymous", ["next"]),
    "accounts/logout/": ("pm", ["next"]),
    "accounts/password-reset/": ("anonymous", []),
    "accounts/password-reset/sent/": ("anonymous", []),
    "accounts/password-reset/<uidb64>/<token>/": ("anonymous", []),
    "accounts/password-reset/done/": ("anonymous", []),
    "oidc/authenticate/": ("anonymous", ["next"]),  # 404 while single sign-on is off (the suite's settings)
    "oidc/callback/": ("anonymous", ["code", "state", "error"]),
    "no-role/": ("pm", []),  # a user with a role is sent home
    "healthz": ("anonymous", []),
    "initiatives/": (
        "pm",
        [
            "q",
            "lane",
            "status",
            "health",
            "side",
            "sponsor",
            "fiscal_year",
            "quarter",
            "mine",
            "sort",
            "page",
            "per_page",
        ],
    ),
    "initiatives/new/": ("pm", []),
    "initiatives/approvals/": ("executive_marketing", []),
    "initiatives/roadmap/": (
        "pm",
        ["q", "lane", "status", "health", "side", "sponsor", "fiscal_year", "mine", "sort", "page"],
    ),
    "initiatives/assess/": ("pm", ["lane", "start_date", "end_date", "marketing_share_pct", "platforms"]),
    "initiatives/<initiative_code:code>/": ("pm", []),
    "initiatives/<initiative_code:code>/edit/": ("pm", []),
    "initiatives/<initiative_code:code>/health/": ("pm", []),
    "initiatives/<initiative_code:code>/propose/": ("pm", []),
    "initiatives/<initiative_code:code>/changes/<int:pk>/<str:decision>/": ("executive_marketing", []),
    "initiatives/<initiative_code:code>/<str:action>/": ("pm", []),
    "finance/": ("finance", []),
    "finance/budgets/": ("finance", ["q", "fiscal_year", "page"]),
    "finance/budgets/open/": ("finance", ["code", "fiscal_year"]),
    "finance/budgets/<initiative_code:code>/<str:fiscal_year>/": ("finance", []),
    "finance/expenses/": ("finance", ["initiative", "month", "paid_by", "category", "currency", "source", "page"]),
    "finance/expenses/new/": ("finance", ["initiative"]),
    "finance/expenses/<int:pk>/edit/": ("finance", []),
    "finance/expenses/<int:pk>/delete/": ("finance", []),
    "finance/imports/": ("finance", ["kind"]),
    "finance/imports/templates/<str:kind>.csv": ("finance", []),
    "finance/imports/<str:token>/": ("finance", []),
    "finance/imports/<str:token>/errors.csv": ("finance", []),
    "finance/imports/<str:token>/cancel/": ("finance", []),
    "finance/fx-rates/": ("finance", ["currency", "month", "page"]),
    "finance/fx-rates/<int:pk>/edit/": ("finance", []),
    "finance/fx-rates/<int:pk>/delete/": ("finance", []),
    "finance/locks/": ("finance", ["fiscal_year"]),
    "finance/locks/<int:pk>/unlock/": ("finance", []),
    "finance/audit/": ("finance", ["model", "user", "initiative", "date_from", "date_to", "page"]),
    "finance/settlements/": ("executive_marketing", ["page"]),
    "finance/settlements/new/": ("finance", []),
    "finance/settlements/<int:pk>/": ("executive_marketing", []),
    "finance/settlements/<int:pk>/reverse/": ("finance", []),
    "dashboard/": ("executive_marketing", ["fiscal_year", "quarter", "lane", "side", "status"]),
    "dashboard/funding/": ("executive_marketing", ["fiscal_year", "quarter", "lane", "side", "status"]),
    "reports/": ("finance", SPLIT_FILTERS),
    "reports/split.csv": ("finance", SPLIT_FILTERS),
    "reports/split.xlsx": ("finance", SPLIT_FILTERS),
    "reports/forecast.csv": ("finance", SPLIT_FILTERS),
    "reports/forecast.xlsx": ("finance", SPLIT_FILTERS),
    "reports/outcomes.csv": ("finance", SPLIT_FILTERS),
    "reports/outcomes.xlsx": ("finance", SPLIT_FILTERS),
    "reports/true-up-journal.csv": ("finance", SPLIT_FILTERS),
    "reports/exports/": ("finance", []),
    "reports/exports/panel/": ("finance", []),
    "reports/exports/new/": ("finance", []),
    "reports/exports/<uuid:job_id>/": ("finance", []),
    "reports/exports/<uuid:job_id>/panel/": ("finance", []),
    "reports/exports/<uuid:job_id>/download/": ("finance", []),
    "reports/exports/<uuid:job_id>/retry/": ("finance", []),
    "split/runs/": ("finance", []),
    "scenarios/": ("finance", []),
    "scenarios/add/": ("finance", ["initiative"]),
    "outcomes/initiatives/<initiative_code:code>/": ("pm", []),
    "outcomes/kpis/<int:pk>/edit/": ("pm", []),
    "outcomes/kpis/<int:pk>/delete/": ("pm", []),
    "outcomes/kpis/<int:pk>/measurements/": ("pm", []),
    "outcomes/measurements/<int:pk>/delete/": ("pm", []),
    "outcomes/import/": ("pm", ["errors"]),
    "scenarios/<int:pk>/": ("finance", []),
    "scenarios/compare/": ("finance", []),
    "scenarios/compare.csv": ("finance", []),
    "scenarios/compare.xlsx": ("finance", []),
    "scenarios/<int:pk>/changes/": ("executive_marketing", []),
    "scenarios/<int:pk>/changes/<int:change_pk>/delete/": ("executive_marketing", []),
    "scenarios/<int:pk>/propose/": ("executive_marketing", []),
    "split/runs/panel/": ("finance", []),
    "split/runs/recompute/": ("finance", []),
}

# Sent all at once to every page as well, in case a page reads one its row above forgets.
EVERY_PARAMETER = sorted({name for _, names in PAGES.values() for name in names} | {"page", "q", "sort"})

PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def _routes(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern)


def test_every_page_is_fuzzed():
    """A new page must be added to PAGES (with the parameters it reads), or it would escape the fuzzing."""
    routes = {route for route in _routes(get_resolver().url_patterns) if not route.startswith(("api/", "admin/"))}
    assert routes - set(PAGES) == set(), "add these routes to PAGES"
    assert set(PAGES) - routes == set(), "these routes are gone: remove them from PAGES"


@pytest.fixture
def records(pm, executive_marketing, executive_it, finance):
    initiative = InitiativeFactory(owner=pm, marketing_sponsor=executive_marketing, it_sponsor=executive_it)
    FxRateFactory(currency="USD", month=dt.date(2026, 1, 1), rate=Decimal("1.1"))
    BudgetLineFactory(initiative=initiative, month=dt.date(2026, 1, 1))
    november = dt.date(2025, 11, 1)
    closed = ClosedMonth.objects.create(month=november, lock=PeriodLockFactory(month=november, locked_by=finance))
    scenario = scenario_create(by=executive_marketing, name="What if")
    kpi = OutcomeKpi.objects.create(
        initiative=initiative, name="Conversion", unit="%", direction="up", baseline=1, target=2,
        target_date=dt.date(2026, 12, 31), owner_side="marketing",
    )  # fmt: skip
    measurement = OutcomeMeasurement.objects.create(kpi=kpi, measured_on=dt.date(2026, 2, 1), value=1)
    change = scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=initiative, kind="exclude", from_month=dt.date(2026, 3, 1)
    )
    return {
        "code": initiative.code,
        "fiscal_year": "FY2026",
        "kind": "actuals",
        "token": "0" * 32,
        "uidb64": "MQ",  # a user id in a password reset link (the token above is not valid there)
        "action": "submit",
        "decision": "approve",
        "job_id": str(uuid.uuid4()),
        "expense": ExpenseFactory(initiative=initiative, incurred_on=dt.date(2026, 1, 10)).pk,
        "fx": FxRateFactory(currency="EUR", month=dt.date(2026, 2, 1)).pk,
        "lock": PeriodLockFactory(month=dt.date(2025, 12, 1), locked_by=finance).pk,
        "proposal": 1,
        "settlement": settlement_create(months=[closed.month], reference="JE-1", by=finance).pk,
        "scenario": scenario.pk,
        "change_pk": change.pk,
        "kpi": kpi.pk,
        "measurement": measurement.pk,
    }


PK_OF = {
    "outcomes/measurements/": "measurement",
    "kpis/": "kpi",
    "scenarios/": "scenario",
    "expenses/": "expense",
    "fx-rates/": "fx",
    "locks/": "lock",
    "changes/": "proposal",
    "settlements/": "settlement",
}


def _pk_name(route: str) -> str:
    return next(name for part, name in PK_OF.items() if part in route)


def _url(route: str, records: dict, *, hostile: tuple[str, str] | None = None) -> str:
    """The route with its path parameters filled from `records`, or one of them set to a hostile value."""

    def fill(match: re.Match) -> str:
        name = match["name"]
        if hostile is not None and hostile[0] == name:
            return quote(hostile[1], safe="")
        return str(records[_pk_name(route) if name == "pk" else name])

    return "/" + PATH_PARAMETER.sub(fill, route)


def _client(request, role: str) -> Client:
    client = Client(raise_request_exception=False)  # as in production: a bug answers the 500 page
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    return client


def _status(client: Client, url: str, params: dict[str, str]) -> int:
    try:
        with transaction.atomic():  # a database error must not end the test's transaction for the next request
            response = client.get(url, params)
            if response.streaming:
                b"".join(response.streaming_content)  # a streamed file fails while it is read, not before
    except Exception:
        return 500
    return response.status_code


@pytest.fixture(autouse=True)
def _quiet_request_log():
    """Thousands of deliberate 4xx answers would flood the log."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.mark.parametrize("route", sorted(PAGES))
def test_no_query_parameter_value_makes_a_server_error(request, route, records):
    role, names = PAGES[route]
    client = _client(request, role)
    url = _url(route, records)
    assert _status(client, url, {}) < 500, f"{url} fails without any parameter"

    reaches_the_view = not PATH_PARAMETER.search(route)  # a record's page may refuse its state (403)
    failures = []
    for value in QUERY_VALUES:
        for params in [{name: value} for name in names] + [dict.fromkeys(EVERY_PARAMETER, value)]:
            status = _status(client, url, params)
            if status >= 500 or (status == 403 and reaches_the_view):
                shown = next(iter(params)) if len(params) == 1 else "every parameter"
                failures.append(f"GET {url} {shown}={value!r} → {status}")
    assert failures == []


@pytest.mark.parametrize("route", sorted(route for route in PAGES if PATH_PARAMETER.search(route)))
def test_no_path_parameter_value_makes_a_server_error(request, route, records):
    role, _ = PAGES[route]
    client = _client(request, role)
    failures = []
    for name in PATH_PARAMETER.findall(route):
        for value in QUERY_VALUES:
            url = _url(route, records, hostile=(name[1], value))
            status = _status(client, url, {})
            if status >= 500:
                failures.append(f"GET {url} → {status}")
    assert failures == []
