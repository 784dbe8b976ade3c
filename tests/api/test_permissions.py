"""Every endpoint × every role, as a table (like tests/test_policy.py): the API asks the one policy.

404, not 403, for records the user may not see (another PM's draft, another PM's
budget line); 401 for anonymous clients, never a redirect to the login page.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from initiatives import services
from outcomes.models import OutcomeKpi, OutcomeMeasurement
from scenarios.services import scenario_change_set, scenario_create
from split.models import ClosedMonth, SplitRun
from split.settlements import settlement_create
from tests.factories import (
    FAST_LANE_ANSWERS,
    BudgetLineFactory,
    ExpenseFactory,
    FxRateFactory,
    InitiativeFactory,
    PeriodLockFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "pm", "executive", "finance", "admin")


def _filing(world):
    return {
        "title": "Loyalty app",
        "summary": "More repeat purchases.",
        "marketing_sponsor": world["cmo"].username,
        "it_sponsor": world["cio"].username,
        "lane": "fast_lane",
        "start_date": "2026-02-01",
        "end_date": "2026-09-30",
        "marketing_share_pct": "60",
        "lane_assessment": FAST_LANE_ANSWERS,
    }


def _budget_line(world):
    return {"initiative": world["own"].code, "month": "2026-05", "category": "media", "amount": "10.00"}


def _kpi(world):
    return {
        "initiative": world["running"].code,
        "name": "Cost to serve",
        "unit": "USD",
        "direction": "down",
        "baseline": "10.5",
        "target": "8",
        "target_date": "2026-12-31",
        "owner_side": "it",
    }


def _expense(world):
    return {
        "initiative": world["own"].code,
        "incurred_on": "2026-05-03",
        "amount": "10.00",
        "currency": "USD",
        "paid_by": "it",
        "category": "software",
    }


# (endpoint, method, path, body) → the status each role gets; "*" is every signed-in role not listed.
TABLE: list[tuple[str, str, str, object, dict[str, int]]] = [
    ("api root", "get", "/api/", None, {"*": 200}),
    ("schema", "get", "/api/schema/", None, {"*": 200}),
    ("initiatives: list", "get", "/api/initiatives/", None, {"*": 200}),
    ("initiatives: own draft", "get", "/api/initiatives/{own}/", None, {"*": 200}),
    ("initiatives: another PM's draft", "get", "/api/initiatives/{other_draft}/", None, {"pm": 404, "*": 200}),
    ("initiatives: file", "post", "/api/initiatives/", _filing, {"pm": 201, "*": 403}),
    ("initiatives: edit own draft", "patch", "/api/initiatives/{own}/", {"title": "New"}, {"pm": 200, "*": 403}),
    ("initiatives: replace own draft", "put", "/api/initiatives/{own}/", _filing, {"pm": 200, "*": 403}),
    (
        "initiatives: edit another's draft",
        "patch",
        "/api/initiatives/{other_draft}/",
        {"title": "x"},
        {"pm": 404, "*": 403},
    ),
    ("initiatives: submit own draft", "post", "/api/initiatives/{own}/submit/", {}, {"pm": 200, "*": 403}),
    (
        "initiatives: approve as sponsor",
        "post",
        "/api/initiatives/{submitted}/approve/",
        {},
        {"executive": 200, "*": 403},
    ),
    (
        "initiatives: reject as sponsor",
        "post",
        "/api/initiatives/{submitted}/reject/",
        {"reason": "No"},
        {"executive": 200, "*": 403},
    ),
    ("initiatives: start", "post", "/api/initiatives/{approved}/start/", {}, {"pm": 200, "executive": 200, "*": 403}),
    (
        "initiatives: complete",
        "post",
        "/api/initiatives/{running}/complete/",
        {},
        {"pm": 200, "executive": 200, "*": 403},
    ),
    (
        "initiatives: cancel",
        "post",
        "/api/initiatives/{approved}/cancel/",
        {"reason": "Stop"},
        {"executive": 200, "*": 403},
    ),
    ("initiatives: agreements", "get", "/api/initiatives/{running}/agreements/", None, {"*": 200}),
    (
        "initiatives: another PM's draft's agreements",
        "get",
        "/api/initiatives/{other_draft}/agreements/",
        None,
        {"pm": 404, "*": 200},
    ),
    ("initiatives: proposals", "get", "/api/initiatives/{running}/proposals/", None, {"*": 200}),
    (
        "initiatives: propose a share change",
        "post",
        "/api/initiatives/{running}/proposals/",
        {"reason": "Marketing leads", "marketing_share_pct": "50", "effective_from": "2026-06"},
        {"pm": 201, "executive": 201, "*": 403},
    ),
    ("budget lines: list", "get", "/api/budget-lines/", None, {"*": 200}),
    ("budget lines: own initiative's", "get", "/api/budget-lines/{own_line}/", None, {"*": 200}),
    ("budget lines: another PM's", "get", "/api/budget-lines/{other_line}/", None, {"pm": 404, "*": 200}),
    ("budget lines: set", "post", "/api/budget-lines/", _budget_line, {"finance": 201, "*": 403}),
    ("budget lines: change", "patch", "/api/budget-lines/{own_line}/", {"amount": "5"}, {"finance": 200, "*": 403}),
    (
        "budget lines: replace",
        "put",
        "/api/budget-lines/{own_line}/",
        {"month": "2026-05", "category": "agency", "amount": "5"},
        {"finance": 200, "*": 403},
    ),
    ("budget lines: delete", "delete", "/api/budget-lines/{own_line}/", None, {"finance": 204, "*": 403}),
    ("expenses: list", "get", "/api/expenses/", None, {"*": 200}),
    ("expenses: own initiative's", "get", "/api/expenses/{own_expense}/", None, {"*": 200}),
    ("expenses: another PM's", "get", "/api/expenses/{other_expense}/", None, {"pm": 404, "*": 200}),
    ("expenses: record", "post", "/api/expenses/", _expense, {"finance": 201, "*": 403}),
    ("expenses: record many", "post", "/api/expenses/", lambda w: [_expense(w)] * 2, {"finance": 201, "*": 403}),
    ("expenses: change", "patch", "/api/expenses/{own_expense}/", {"vendor": "Acme"}, {"finance": 200, "*": 403}),
    ("expenses: replace", "put", "/api/expenses/{own_expense}/", _expense, {"finance": 200, "*": 403}),
    ("expenses: delete", "delete", "/api/expenses/{own_expense}/", None, {"finance": 204, "*": 403}),
    ("fx rates: list", "get", "/api/fx-rates/", None, {"pm": 403, "*": 200}),
    ("fx rates: read", "get", "/api/fx-rates/{rate}/", None, {"pm": 403, "*": 200}),
    (
        "fx rates: set",
        "post",
        "/api/fx-rates/",
        {"currency": "GBP", "month": "2026-05", "rate": "1.2"},
        {"finance": 201, "*": 403},
    ),
    ("fx rates: change", "patch", "/api/fx-rates/{rate}/", {"rate": "1.3"}, {"finance": 200, "*": 403}),
    ("fx rates: replace", "put", "/api/fx-rates/{rate}/", {"rate": "1.4"}, {"finance": 200, "*": 403}),
    ("fx rates: delete", "delete", "/api/fx-rates/{rate}/", None, {"finance": 204, "*": 403}),
    ("locks: list", "get", "/api/locks/", None, {"pm": 403, "*": 200}),
    ("locks: read", "get", "/api/locks/{lock}/", None, {"pm": 403, "*": 200}),
    ("locks: lock", "post", "/api/locks/", {"month": "2026-06", "reason": "Closed"}, {"finance": 201, "*": 403}),
    ("locks: unlock", "post", "/api/locks/{lock}/unlock/", {"reason": "Late invoice"}, {"finance": 204, "*": 403}),
    ("split: rows", "get", "/api/split/", None, {"pm": 403, "*": 200}),
    ("split: summary", "get", "/api/split/summary/?group_by=lane", None, {"pm": 403, "*": 200}),
    ("recompute: list", "get", "/api/recompute/", None, {"pm": 403, "*": 200}),
    ("recompute: state", "get", "/api/recompute/{run}/", None, {"pm": 403, "*": 200}),
    ("recompute: queue", "post", "/api/recompute/", None, {"finance": 202, "*": 403}),
    ("settlements: list", "get", "/api/settlements/", None, {"pm": 403, "*": 200}),
    ("settlements: read", "get", "/api/settlements/{settlement}/", None, {"pm": 403, "*": 200}),
    (
        "settlements: settle",
        "post",
        "/api/settlements/",
        {"months": ["2025-10"], "reference": "JE-2"},
        {"finance": 201, "*": 403},
    ),
    (
        "settlements: reverse",
        "post",
        "/api/settlements/{settlement}/reverse/",
        {"reason": "Wrong period"},
        {"finance": 200, "*": 403},
    ),
    ("scenarios: list", "get", "/api/scenarios/", None, {"executive": 200, "finance": 200, "*": 403}),
    ("scenarios: read", "get", "/api/scenarios/{scenario}/", None, {"executive": 200, "finance": 200, "*": 403}),
    ("scenarios: create", "post", "/api/scenarios/", {"name": "Plan C"}, {"executive": 201, "finance": 201, "*": 403}),
    ("scenarios: rename (author)", "patch", "/api/scenarios/{scenario}/", {"name": "B"}, {"executive": 200, "*": 403}),
    ("scenarios: replace (author)", "put", "/api/scenarios/{scenario}/", {"name": "B"}, {"executive": 200, "*": 403}),
    ("scenarios: delete (author)", "delete", "/api/scenarios/{scenario}/", None, {"executive": 204, "*": 403}),
    (
        "scenarios: add a change (author)",
        "post",
        "/api/scenarios/{scenario}/changes/",
        lambda w: {"initiative": w["approved"].code, "kind": "lane", "lane": "core_stack"},
        {"executive": 201, "*": 403},
    ),
    (
        "scenarios: remove a change (author)",
        "delete",
        "/api/scenarios/{scenario}/changes/{scenario_change}/",
        None,
        {"executive": 204, "*": 403},
    ),
    (
        "scenarios: propose (author)",
        "post",
        "/api/scenarios/{scenario}/propose/",
        {"reason": "Core stack it is"},
        {"executive": 201, "*": 403},
    ),
    (
        "scenarios: comparison",
        "get",
        "/api/scenarios/comparison/?fiscal_year=2026",
        None,
        {"executive": 200, "finance": 200, "*": 403},
    ),
    # Outcome KPIs (§3b): whoever sees the initiative reads them; its owner PM writes (here: in progress).
    ("outcomes: list", "get", "/api/outcomes/", None, {"*": 200}),
    ("outcomes: read", "get", "/api/outcomes/{kpi}/", None, {"*": 200}),
    ("outcomes: create (owner)", "post", "/api/outcomes/", _kpi, {"pm": 201, "*": 403}),
    ("outcomes: change (owner)", "patch", "/api/outcomes/{kpi}/", {"unit": "pct"}, {"pm": 200, "*": 403}),
    ("outcomes: replace (owner)", "put", "/api/outcomes/{kpi}/", _kpi, {"pm": 200, "*": 403}),
    ("outcomes: delete (owner)", "delete", "/api/outcomes/{kpi}/", None, {"pm": 204, "*": 403}),
    ("outcomes: measurements", "get", "/api/outcomes/{kpi}/measurements/", None, {"*": 200}),
    (
        "outcomes: record a measurement (owner)",
        "post",
        "/api/outcomes/{kpi}/measurements/",
        {"measured_on": "2026-03-02", "value": "2.5"},
        {"pm": 201, "*": 403},
    ),
    (
        "outcomes: delete a measurement (owner)",
        "delete",
        "/api/outcomes/{kpi}/measurements/{measurement}/",
        None,
        {"pm": 204, "*": 403},
    ),
]


@pytest.fixture
def world(pm, other_pm, executive_marketing, executive_it, finance):
    """The records the table's paths name; the PM owns `own`, the executive is the marketing sponsor."""
    sponsors = {"marketing_sponsor": executive_marketing, "it_sponsor": executive_it}
    own = InitiativeFactory(
        owner=pm, status="draft", lane_assessment=FAST_LANE_ANSWERS, lane_recommended="fast_lane", **sponsors
    )
    submitted = InitiativeFactory(owner=pm, status="draft", **sponsors)
    services.initiative_submit(initiative=submitted, by=pm)
    approved = InitiativeFactory(owner=pm, status="approved", **sponsors)
    running = InitiativeFactory(owner=pm, status="in_progress", **sponsors)
    other_draft = InitiativeFactory(owner=other_pm, status="draft", **sponsors)
    other_running = InitiativeFactory(owner=other_pm, status="in_progress", **sponsors)
    # Two closed months (locked, split frozen: nothing in them): November settled, October not.
    for month in (dt.date(2025, 10, 1), dt.date(2025, 11, 1)):
        ClosedMonth.objects.create(month=month, lock=PeriodLockFactory(month=month, locked_by=finance))
    scenario = scenario_create(by=executive_marketing, name="Plan B")
    change = scenario_change_set(
        scenario=scenario, by=executive_marketing, initiative=running, kind="lane", lane="core_stack"
    )
    kpi = OutcomeKpi.objects.create(
        initiative=running, name="Conversion", unit="%", direction="up", baseline=1, target=2,
        target_date=dt.date(2026, 12, 31), owner_side="marketing",
    )  # fmt: skip
    return {
        "kpi": kpi,
        "measurement": OutcomeMeasurement.objects.create(kpi=kpi, measured_on=dt.date(2026, 2, 1), value=1),
        "scenario": scenario,
        "scenario_change": change,
        "cmo": executive_marketing,
        "cio": executive_it,
        "own": own,
        "submitted": submitted,
        "approved": approved,
        "running": running,
        "other_draft": other_draft,
        "own_line": BudgetLineFactory(initiative=own, month=dt.date(2026, 5, 1)),
        "other_line": BudgetLineFactory(initiative=other_running, month=dt.date(2026, 5, 1)),
        "own_expense": ExpenseFactory(initiative=own, incurred_on=dt.date(2026, 5, 2)),
        "other_expense": ExpenseFactory(initiative=other_running, incurred_on=dt.date(2026, 5, 2)),
        "rate": FxRateFactory(currency="CHF", month=dt.date(2026, 5, 1), rate=Decimal("1.1")),
        "lock": PeriodLockFactory(month=dt.date(2025, 12, 1), locked_by=finance),
        "run": SplitRun.objects.create(trigger="command"),
        "settlement": settlement_create(months=[dt.date(2025, 11, 1)], reference="JE-1", by=finance),
    }


@pytest.fixture
def people(pm, executive_marketing, finance):
    return {
        "anonymous": None,
        "pm": pm,
        "executive": executive_marketing,
        "finance": finance,
        "admin": UserFactory(username="root", role="admin", side="", is_staff=True, is_superuser=True),
    }


def _expected(statuses: dict[str, int], role: str) -> int:
    if role == "anonymous":
        return 401
    return statuses.get(role, statuses.get("*"))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("endpoint", "method", "path", "body", "statuses"), TABLE, ids=[row[0] for row in TABLE])
def test_endpoint_by_role(api, world, people, endpoint, method, path, body, statuses, role):
    client = api(people[role])
    url = path.format(**{name: getattr(value, "code", None) or value.pk for name, value in world.items()})
    data = body(world) if callable(body) else body

    response = getattr(client, method)(url, data, format="json")

    assert response.status_code == _expected(statuses, role), response.content[:300]
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/json"
        assert "detail" in response.json()
    if role == "anonymous":
        assert response["WWW-Authenticate"] == "Token"  # not a redirect to the login page


def test_every_operation_of_the_schema_is_in_the_table():
    """A new endpoint or method fails here until the table says who may use it."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in schema["paths"].items()
        for method in item
        if path != "/api/auth/token/"  # the one public operation: tests/api/test_auth.py
    }
    tabled = {(method, re.sub(r"\{[^}]+\}", "{}", path.split("?")[0])) for _, method, path, _, _ in TABLE}
    tabled.discard(("get", "/api/schema/"))  # the schema does not describe itself

    assert operations - tabled == set()
    assert tabled - operations == set()
