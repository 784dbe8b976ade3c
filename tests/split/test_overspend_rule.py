"""The overspend rule has one home (`split.arithmetic.is_overspent`); its ORM and SQL twins agree on the edges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Value

from initiatives.models import Initiative
from split.arithmetic import is_overspent, overspend_factor
from split.selectors import MONEY, overspent_q, overspent_sql
from tests.factories import InitiativeFactory

pytestmark = pytest.mark.django_db
D = Decimal

# (actual, planned, threshold %, overspent?)
EDGES = [
    (D("0.00"), D("0.00"), 10, False),  # nothing spent, nothing planned
    (D("0.00"), D("-5.00"), 10, False),  # nothing spent is never overspent
    (D("0.01"), D("0.00"), 10, True),  # spent without a plan
    (D("-5.00"), D("-10.00"), 10, False),  # above a negative plan, but not positive
    (D("110.00"), D("100.00"), 10, False),  # exactly at the threshold
    (D("110.01"), D("100.00"), 10, True),  # just above it
    (D("100.00"), D("100.00"), 0, False),  # no threshold: exactly the plan
    (D("100.01"), D("100.00"), 0, True),
    (D("125.00"), D("100.00"), 25, False),
    (D("125.01"), D("100.00"), 25, True),
]


def _orm(actual: Decimal, planned: Decimal, threshold: int) -> bool:
    return (
        Initiative.objects.annotate(
            actual=Value(actual, output_field=MONEY), planned=Value(planned, output_field=MONEY)
        )
        .filter(overspent_q("actual", "planned", threshold))
        .exists()
    )


def _sql(actual: Decimal, planned: Decimal, threshold: int) -> bool:
    query = (
        f"SELECT CASE WHEN {overspent_sql('t.actual', 't.planned')} THEN 1 ELSE 0 END "  # nosec B608
        "FROM (SELECT CAST(%s AS NUMERIC(18, 2)) AS actual, CAST(%s AS NUMERIC(18, 2)) AS planned) t"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [overspend_factor(threshold), str(actual), str(planned)])
        return bool(cursor.fetchone()[0])


@pytest.mark.parametrize(("actual", "planned", "threshold", "expected"), EDGES)
def test_python_orm_and_sql_agree_on_the_edges(actual, planned, threshold, expected):
    InitiativeFactory()
    assert is_overspent(actual, planned, threshold) is expected
    assert _orm(actual, planned, threshold) is expected
    assert _sql(actual, planned, threshold) is expected
