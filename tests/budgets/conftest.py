"""Fixtures of the finance tests (helpers that are not fixtures are in finance_helpers.py)."""

from __future__ import annotations

import pytest

from tests.budgets.finance_helpers import MARCH, eur_rate, initiative_with_code


@pytest.fixture
def ready(db):
    """INI-0001 exists and EUR has a rate (1.1) for March 2026: an actual of GOOD_ACTUAL can be recorded."""
    initiative = initiative_with_code("INI-0001")
    eur_rate(MARCH, "1.10000000")
    return initiative
