"""New dates may not strand budget lines (PRODUCT.md §2: a budget line lies in a month its initiative runs)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from initiatives import services
from tests.factories import BudgetLineFactory
from tests.initiatives.test_views import _form_data

pytestmark = pytest.mark.django_db
STRANDED_MARCH_APRIL = (
    "This initiative has budget lines in March 2026 and April 2026, outside the new dates: "
    "finance must move or remove them before the dates can change."
)


@pytest.fixture
def planned_draft(draft):
    """The draft (February – September 2026) with budget lines in March, April and August."""
    for month in (3, 4, 8):
        BudgetLineFactory(initiative=draft, month=dt.date(2026, month, 1), amount=Decimal("1000.00"))
    return draft


def test_a_later_start_that_would_strand_lines_is_refused_naming_the_months(pm, planned_draft, filing):
    with pytest.raises(ValidationError) as refused:
        services.initiative_update(initiative=planned_draft, by=pm, **{**filing, "start_date": dt.date(2026, 5, 15)})

    assert refused.value.message_dict == {"start_date": [STRANDED_MARCH_APRIL]}
    planned_draft.refresh_from_db()
    assert planned_draft.start_date == dt.date(2026, 2, 1)


def test_an_earlier_end_names_the_months_after_it(pm, planned_draft, filing):
    with pytest.raises(ValidationError) as refused:
        services.initiative_update(initiative=planned_draft, by=pm, **{**filing, "end_date": dt.date(2026, 7, 31)})

    assert refused.value.message_dict == {
        "end_date": [
            "This initiative has budget lines in August 2026, outside the new dates: "
            "finance must move or remove them before the dates can change."
        ]
    }


def test_dates_that_keep_every_line_inside_are_saved(pm, planned_draft, filing):
    # Starting mid-March keeps the March line: a line lies in a month the initiative runs.
    updated = services.initiative_update(
        initiative=planned_draft,
        by=pm,
        **{**filing, "start_date": dt.date(2026, 3, 15), "end_date": dt.date(2026, 8, 1)},
    )

    assert (updated.start_date, updated.end_date) == (dt.date(2026, 3, 15), dt.date(2026, 8, 1))


def test_the_form_shows_the_refusal_next_to_the_start_date(
    client, pm, planned_draft, executive_marketing, executive_it
):
    client.force_login(pm)
    data = _form_data(executive_marketing, executive_it, start_date="2026-05-01", estimated_cost="500000")

    response = client.post(reverse("initiatives:edit", args=[planned_draft.code]), data)

    assert response.status_code == 400
    assert response.context["form"].errors["start_date"] == [STRANDED_MARCH_APRIL]
    assert STRANDED_MARCH_APRIL in response.content.decode()
    planned_draft.refresh_from_db()
    assert planned_draft.start_date == dt.date(2026, 2, 1)
