"""Template helpers of the comparison page: one column's figures for a part (overall, a lane, a side)."""

from __future__ import annotations

from django import template

from scenarios.comparison import Figures

register = template.Library()

FIGURE_ROWS = (
    ("planned_total", "Planned"),
    ("planned_marketing", "Planned · marketing"),
    ("planned_it", "Planned · IT"),
    ("marketing_share_of_plan", "Marketing's share of plan"),
    ("forecast_marketing", "Forecast · marketing"),
    ("forecast_it", "Forecast · IT"),
)


@register.simple_tag
def figures_of(column, part: str, key: str = "") -> Figures:
    """`{% figures_of column "lane" "fast_lane" as figures %}`: the column's figures of that part (zero if none)."""
    if part == "lane":
        return column.by_lane.get(key, Figures())
    if part == "side":
        return column.by_side.get(key, Figures())
    return column.overall


@register.simple_tag
def figure(figures: Figures, name: str):
    return getattr(figures, name)
