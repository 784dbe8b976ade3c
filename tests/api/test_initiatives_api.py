"""`/api/initiatives/`: filing, revising and the workflow go through the services and the policy."""

from __future__ import annotations

import pytest
from django.utils import timezone

from initiatives import services
from initiatives.models import Initiative, InitiativeTransition
from portfolio import fiscal
from tests.factories import FAST_LANE_ANSWERS, InitiativeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def filing(executive_marketing, executive_it):
    """A valid POST body: a fast-lane loyalty experiment, 60 % marketing."""
    return {
        "title": "Loyalty app relaunch",
        "summary": "Grow repeat purchases by 10 % with a rewards app.",
        "marketing_sponsor": executive_marketing.username,
        "it_sponsor": executive_it.username,
        "lane": "fast_lane",
        "start_date": "2026-02-01",
        "end_date": "2026-09-30",
        "marketing_share_pct": "60.00",
        "estimated_cost": "500000.00",
        "lane_assessment": dict(FAST_LANE_ANSWERS),
    }


def test_a_pm_files_a_draft_they_own(api, pm, filing):
    response = api(pm).post("/api/initiatives/", filing, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    initiative = Initiative.objects.get(code=body["code"])
    assert (initiative.owner, initiative.status, initiative.lane_recommended) == (pm, "draft", "fast_lane")
    assert body["marketing_share_pct"] == "60.00"  # money and shares are decimal strings
    assert body["it_share_pct"] == "40.00"
    assert body["owner"] == pm.username
    assert response["Location"] == body["url"]
    assert type(response.headers["Location"]) is str  # WSGI servers refuse str subclasses (DRF's Hyperlink)
    assert body["url"].endswith(f"/api/initiatives/{body['code']}/")
    assert InitiativeTransition.objects.filter(initiative=initiative, action="create", by=pm).exists()


def test_the_services_field_rules_come_back_as_field_messages(api, pm, filing, executive_it):
    filing.update(end_date="2026-01-01", marketing_sponsor=executive_it.username, marketing_share_pct="120.00")
    filing["lane_assessment"].pop("lifespan")
    del filing["lane_assessment"]["maturity"]

    response = api(pm).post("/api/initiatives/", filing, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert errors["lane_assessment"] == {
        "maturity": ["This field is required."],
        "lifespan": ["This field is required."],
    }
    assert not Initiative.objects.exists()

    filing["lane_assessment"] = dict(FAST_LANE_ANSWERS)
    response = api(pm).post("/api/initiatives/", filing, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "marketing_sponsor": ["The marketing sponsor must be an executive on the marketing side."],
        "end_date": ["The end date cannot be before the start date."],
        "marketing_share_pct": ["Marketing's share must be between 0 and 100 %."],
    }


def test_choosing_the_other_lane_needs_the_justification_the_form_asks_for(api, pm, filing):
    filing["lane"] = "core_stack"

    response = api(pm).post("/api/initiatives/", filing, format="json")

    assert response.status_code == 400
    assert response.json()["lane_justification"][0].startswith("The assessment recommends the fast lane")

    filing["lane_justification"] = "It replaces the billing engine's loyalty module."
    assert api(pm).post("/api/initiatives/", filing, format="json").status_code == 201


@pytest.mark.parametrize("role", ["executive_marketing", "finance"])
def test_only_pms_file_initiatives(api, filing, role, request):
    user = request.getfixturevalue(role)

    response = api(user).post("/api/initiatives/", filing, format="json")

    assert response.status_code == 403
    assert not Initiative.objects.exists()


def test_patch_revises_the_given_fields_of_a_draft(api, pm, filing):
    code = api(pm).post("/api/initiatives/", filing, format="json").json()["code"]

    response = api(pm).patch(
        f"/api/initiatives/{code}/",
        {"title": "Loyalty app 2.0", "lane_assessment": {"lifespan": "long"}},
        format="json",
    )

    assert response.status_code == 200, response.json()
    initiative = Initiative.objects.get(code=code)
    assert initiative.title == "Loyalty app 2.0"
    assert initiative.lane_assessment == {**FAST_LANE_ANSWERS, "lifespan": "long"}
    assert initiative.marketing_share_pct == 60


def test_a_submitted_initiative_cannot_be_edited(api, pm, filing):
    code = api(pm).post("/api/initiatives/", filing, format="json").json()["code"]
    assert api(pm).post(f"/api/initiatives/{code}/submit/", {}, format="json").status_code == 200

    response = api(pm).patch(f"/api/initiatives/{code}/", {"title": "Sneaky"}, format="json")

    assert response.status_code == 403
    assert "edit" in response.json()["detail"] and "submitted" in response.json()["detail"]
    assert Initiative.objects.get(code=code).title == "Loyalty app relaunch"


def test_dual_sign_off_through_the_api(api, pm, filing, executive_marketing, executive_it):
    code = api(pm).post("/api/initiatives/", filing, format="json").json()["code"]

    assert api(pm).post(f"/api/initiatives/{code}/submit/", {}, format="json").json()["status"] == "submitted"
    first = api(executive_marketing).post(f"/api/initiatives/{code}/approve/", {"reason": "Fits Q3"}, format="json")
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["it_approved_at"]) == ("submitted", None)
    again = api(executive_marketing).post(f"/api/initiatives/{code}/approve/", {}, format="json")
    assert again.status_code == 403  # each sponsor decides once
    second = api(executive_it).post(f"/api/initiatives/{code}/approve/", {}, format="json")

    assert second.json()["status"] == "approved"
    assert api(pm).post(f"/api/initiatives/{code}/start/", {}, format="json").json()["status"] == "in_progress"
    assert api(pm).post(f"/api/initiatives/{code}/complete/", {}, format="json").json()["status"] == "done"
    actions = list(Initiative.objects.get(code=code).transitions.order_by("at", "id").values_list("action", flat=True))
    assert actions == ["create", "submit", "approve", "approve", "start", "complete"]


def test_reject_and_cancel_need_a_reason(api, pm, filing, executive_it):
    code = api(pm).post("/api/initiatives/", filing, format="json").json()["code"]
    api(pm).post(f"/api/initiatives/{code}/submit/", {}, format="json")

    response = api(executive_it).post(f"/api/initiatives/{code}/reject/", {"reason": "  "}, format="json")
    assert response.status_code == 400
    assert response.json() == {"reason": ["Give a reason so the owner knows what to change."]}

    response = api(executive_it).post(f"/api/initiatives/{code}/reject/", {"reason": "Too vague"}, format="json")
    assert response.json()["status"] == "rejected"
    assert api(executive_it).post(f"/api/initiatives/{code}/cancel/", {}, format="json").status_code == 400
    response = api(executive_it).post(f"/api/initiatives/{code}/cancel/", {"reason": "Dropped"}, format="json")
    assert response.json()["status"] == "cancelled"


def test_another_pms_draft_is_not_found(api, pm, other_pm):
    draft = InitiativeFactory(owner=other_pm, status="draft")
    submitted = InitiativeFactory(owner=other_pm, status="submitted")

    assert api(pm).get(f"/api/initiatives/{draft.code}/").status_code == 404
    assert api(pm).post(f"/api/initiatives/{draft.code}/submit/", {}, format="json").status_code == 404
    assert api(pm).get(f"/api/initiatives/{submitted.code}/").status_code == 200
    codes = [row["code"] for row in api(pm).get("/api/initiatives/").json()["results"]]
    assert codes == [submitted.code]


def test_codes_are_looked_up_case_insensitively(api, finance):
    initiative = InitiativeFactory()

    assert api(finance).get(f"/api/initiatives/{initiative.code.lower()}/").json()["code"] == initiative.code


def test_choices_are_taken_by_value_or_label_in_any_case(api, pm, filing):
    filing.update(lane="Fast lane", health="AMBER")
    filing["lane_assessment"]["customer_facing"] = "Yes"

    response = api(pm).post("/api/initiatives/", filing, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["lane"], body["health"], body["lane_assessment"]["customer_facing"]) == ("fast_lane", "amber", "yes")


def test_an_unknown_choice_is_still_refused(api, pm, filing):
    filing.update(lane="fast lane please")
    response = api(pm).post("/api/initiatives/", filing, format="json")
    assert response.status_code == 400
    assert response.json() == {"lane": ['"fast lane please" is not a valid choice.']}


def test_the_list_uses_the_web_lists_filterset(api, finance):
    fast = InitiativeFactory(lane="fast_lane", status="approved", title="Chatbot")
    InitiativeFactory(lane="core_stack", status="approved", title="ERP upgrade")
    InitiativeFactory(lane="fast_lane", status="draft", title="Chat widget")

    def codes(**params):
        return [row["code"] for row in api(finance).get("/api/initiatives/", params).json()["results"]]

    assert codes(lane="fast_lane", status="approved") == [fast.code]
    assert codes(q="Chatbot") == [fast.code]
    assert len(codes(sort="title")) == 3
    assert codes(sort="title")[0] == Initiative.objects.get(title="Chat widget").code
    response = api(finance).get("/api/initiatives/", {"lane": "slow_lane"})
    assert response.status_code == 400
    assert "lane" in response.json()


def test_the_fiscal_year_filter_takes_the_split_apis_spelling_too(api, finance):
    this_year = fiscal.fiscal_year(timezone.localdate())
    first, last = fiscal.fiscal_year_bounds(this_year)
    InitiativeFactory(start_date=first, end_date=last)
    InitiativeFactory(start_date=first.replace(year=first.year - 2), end_date=last.replace(year=last.year - 2))

    def count(value: str) -> int:
        response = api(finance).get("/api/initiatives/", {"fiscal_year": value})
        assert response.status_code == 200, response.json()
        return response.json()["count"]

    assert count(str(this_year)) == count(f"FY{this_year}") == count(f"fy{this_year}") == 1
    bad = api(finance).get("/api/initiatives/", {"fiscal_year": "FY20x"})
    assert bad.status_code == 400
    assert "fiscal_year" in bad.json()


def test_the_list_costs_a_fixed_number_of_queries(api, finance, django_assert_num_queries):
    """The token, the caller's roles, the count, the page, its platforms: whatever the number of initiatives."""
    platform = InitiativeFactory(lane="core_stack")
    InitiativeFactory().platforms.add(platform)
    client = api(finance)
    with django_assert_num_queries(5):
        client.get("/api/initiatives/", {"page_size": 100})
    for _ in range(11):
        InitiativeFactory().platforms.add(platform)

    with django_assert_num_queries(5):
        response = client.get("/api/initiatives/", {"page_size": 100})

    assert response.json()["count"] == 13
    assert sum(len(row["platforms"]) for row in response.json()["results"]) == 12


def test_a_service_refusal_after_the_check_is_a_403(api, pm, filing, monkeypatch):
    """The state can change between the permission check and the service's own check (it locks the row)."""
    code = api(pm).post("/api/initiatives/", filing, format="json").json()["code"]

    def changed_meanwhile(**kwargs):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Only the owner may submit a draft or rejected initiative.")

    monkeypatch.setattr(services, "initiative_transition", changed_meanwhile)  # every workflow step goes through it
    response = api(pm).post(f"/api/initiatives/{code}/submit/", {}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": "Only the owner may submit a draft or rejected initiative."}
