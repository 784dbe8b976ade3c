""" "Add to scenario…" from the initiative list (PRODUCT.md §3a): tick several, one change to all, all or nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from initiatives.models import Initiative
from scenarios.models import Scenario, ScenarioChange

from .conftest import month

pytestmark = pytest.mark.django_db


def _share(codes, **extra):
    return {"initiatives": codes, "kind": "share", "from_month": month(1).strftime("%Y-%m"),
            "marketing_share_pct": "70", **extra}  # fmt: skip


def test_the_list_offers_it_to_executives_and_finance_only(client, pm, finance, executive_it, loyalty):
    for user, offered in ((pm, False), (finance, True), (executive_it, True)):
        client.force_login(user)
        page = client.get("/initiatives/").content.decode()
        assert ('action="/scenarios/add/"' in page) is offered
        assert (f'form="add-to-scenario" name="initiative" value="{loyalty.code}"' in page) is offered
    client.force_login(pm)
    assert client.get("/scenarios/add/", {"initiative": loyalty.code}).status_code == 403
    assert client.post("/scenarios/add/", _share([loyalty.code], new_name="Mine")).status_code == 403
    assert not Scenario.objects.exists()


def test_the_page_lists_the_ticked_initiatives_and_preselects_the_latest_scenario(
    client, executive_marketing, scenario, loyalty, cdp
):
    client.force_login(executive_marketing)
    page = client.get("/scenarios/add/", {"initiative": [cdp.code, loyalty.code, "INI-9999"]}).content.decode()
    assert "for 2 initiatives" in page
    assert f"{loyalty.code}</a> Loyalty app" in page and f"{cdp.code}</a> Customer data platform" in page
    assert "Not found, left out: INI-9999." in page
    assert f'<option value="{scenario.pk}" selected>' in page
    assert f'name="initiatives" value="{cdp.code}"' in page
    empty = client.get("/scenarios/add/").content.decode()
    assert "No initiative is selected." in empty


def test_one_change_to_several_initiatives_in_an_existing_scenario(client, executive_marketing, scenario, loyalty, cdp):
    client.force_login(executive_marketing)
    response = client.post("/scenarios/add/", _share([loyalty.code, cdp.code], scenario=scenario.pk))
    assert response.status_code == 302 and response["Location"] == f"/scenarios/{scenario.pk}/"
    changes = ScenarioChange.objects.filter(scenario=scenario)
    assert sorted((c.initiative_id, c.kind, c.marketing_share_pct, c.from_month) for c in changes) == sorted(
        [(loyalty.pk, "share", Decimal("70.00"), month(1)), (cdp.pk, "share", Decimal("70.00"), month(1))]
    )


def test_a_new_scenario_is_created_with_the_changes(client, finance, loyalty, cdp):
    client.force_login(finance)
    response = client.post(
        "/scenarios/add/", {"initiatives": [loyalty.code, cdp.code], "kind": "scale",
                            "from_month": month(2).strftime("%Y-%m"), "plan_scale_pct": "80", "new_name": "Leaner"},
    )  # fmt: skip
    scenario = Scenario.objects.get()
    assert response["Location"] == f"/scenarios/{scenario.pk}/"
    assert (scenario.name, scenario.author) == ("Leaner", finance)
    assert sorted(scenario.changes.values_list("plan_scale_pct", flat=True)) == [Decimal("80.00")] * 2


def test_all_or_nothing_the_error_names_the_initiative_and_no_new_scenario_is_kept(
    client, executive_marketing, loyalty, draft
):
    Initiative.objects.filter(pk=draft.pk).update(start_date=month(2))  # month(1) is before it starts
    client.force_login(executive_marketing)
    response = client.post("/scenarios/add/", _share([loyalty.code, draft.code], new_name="B"))
    assert response.status_code == 400
    assert f"{draft.code} runs from" in response.content.decode()
    assert not Scenario.objects.exists() and not ScenarioChange.objects.exists()


def test_refusals_are_shown_next_to_the_field(client, executive_marketing, scenario, other_executive, loyalty):
    client.force_login(executive_marketing)
    no_name = client.post("/scenarios/add/", _share([loyalty.code]))
    assert no_name.status_code == 400
    assert "Name the new scenario, or choose one of yours above." in no_name.content.decode()
    taken = client.post("/scenarios/add/", _share([loyalty.code], new_name=scenario.name))
    assert "You already have a scenario with this name." in taken.content.decode()
    bad_share = client.post("/scenarios/add/", _share([loyalty.code], scenario=scenario.pk, marketing_share_pct="101"))
    assert f"{loyalty.code}: Marketing&#x27;s share must be between 0 and 100 %." in bad_share.content.decode()
    none = client.post("/scenarios/add/", _share([], scenario=scenario.pk))
    assert none.status_code == 400 and "No initiative is selected." in none.content.decode()
    unknown = client.post("/scenarios/add/", _share([loyalty.code, "INI-9999"], scenario=scenario.pk))
    assert unknown.status_code == 400 and "INI-9999 is not an initiative." in unknown.content.decode()
    assert not ScenarioChange.objects.exists()
    # Another executive's scenario is not among the choices, so it cannot be written to.
    theirs = Scenario.objects.create(author=other_executive, name="Theirs")
    refused = client.post("/scenarios/add/", _share([loyalty.code], scenario=theirs.pk))
    assert refused.status_code == 400 and not theirs.changes.exists()
