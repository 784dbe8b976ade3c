"""A stand-in for `scenarios.comparison` (the engine, written and tested on its own): the API's tests of the
comparison endpoint check its permissions, parameters and shape, not the figures."""

from __future__ import annotations

import datetime as dt
import types
from decimal import Decimal


def fake_engine(calls: list) -> types.ModuleType:
    """A stand-in for `scenarios.comparison` (written and tested by the engine's side): records its call."""
    from types import SimpleNamespace as NS

    def figures(total):
        return NS(planned_total=total, planned_marketing=Decimal("0.60") * total, planned_it=Decimal("0.40") * total,
                  marketing_share_of_plan=Decimal("60.00"), forecast_total=total,
                  forecast_marketing=Decimal("0.60") * total, forecast_it=Decimal("0.40") * total)  # fmt: skip

    def comparison(*, fiscal_year, scenarios):
        calls.append((fiscal_year, list(scenarios)))
        columns = [
            NS(
                label="Live plan",
                scenario=None,
                overall=figures(Decimal("100.00")),
                by_lane={"fast_lane": figures(Decimal("100.00"))},
                by_side={"marketing": figures(Decimal("100"))},
            )
        ]
        columns += [NS(label=s.name, scenario=s, overall=figures(Decimal("90.00")), by_lane={}, by_side={})
                    for s in scenarios]  # fmt: skip
        delta = {"planned_total": Decimal("-10.00"), "planned_marketing": Decimal("-6.00"),
                 "forecast_marketing": Decimal("-6.00"), "forecast_it": Decimal("-4.00"), "lane": ""}  # fmt: skip
        diff = NS(code="INI-0001", title="Loyalty", live_lane="fast_lane", deltas=[delta])
        return NS(fiscal_year=fiscal_year, as_of_month=dt.date(2026, 12, 1), columns=columns, differences=[diff])

    module = types.ModuleType("scenarios.comparison")
    module.comparison = comparison
    return module
