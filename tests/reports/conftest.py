"""Fixtures of the export tests."""

from __future__ import annotations

import pytest

from tests.reports.export_helpers import build_export_portfolio


@pytest.fixture
def export_portfolio(settings):
    """Initiatives with awkward titles across a July fiscal-year boundary, the split recomputed."""
    return build_export_portfolio(settings)
