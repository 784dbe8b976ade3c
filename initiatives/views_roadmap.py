"""The roadmap page: the initiative list's initiatives (same visibility, same FilterSet) as bars by lane.

Thin, as every view: `initiatives.roadmap` places the bars and reads a page in two queries.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portfolio.fiscal import fiscal_year_label
from portfolio.pagination import web_page_number

from . import platforms, selectors
from . import roadmap as roadmaps
from .choices import Health, Status
from .filtersets import InitiativeFilterSet


@require_GET
def roadmap(request):
    """The list's initiatives (same visibility, same filters) as bars on a month axis by lane, a page at a time."""
    base = selectors.initiative_queryset(user=request.user).select_related(None)
    data = request.GET.copy()
    if not data.get("sort"):
        data["sort"] = roadmaps.DEFAULT_SORT
    filterset = InitiativeFilterSet(data, queryset=base, request=request)
    paginator = Paginator(roadmaps.page_rows(filterset.qs, user=request.user), roadmaps.ROADMAP_PAGE_SIZE)
    page = paginator.page(web_page_number(request, last=paginator.num_pages))
    initiatives = list(page.object_list)
    platforms.mark_risky_platforms((i, getattr(i, "shown_platforms", [])) for i in initiatives)
    filterset.is_valid()  # a filter that is not valid is left out, as on the list, and says why
    chosen = {name: value for name, value in filterset.form.cleaned_data.items() if value and name != "sort"}
    year = int(chosen["fiscal_year"]) if "fiscal_year" in chosen else None
    today = timezone.localdate()
    window = roadmaps.fiscal_year_window(year) if year else roadmaps.span_window(initiatives, today=today)
    ticks = window.ticks()
    today_left = window.offset(today) if window.first <= today <= window.last else None
    return render(
        request,
        "initiatives/roadmap.html",
        {
            "filterset": filterset,
            "filter_fields": [field for field in filterset.form if field.name != "sort"],
            "active_filter_count": len(chosen),
            "page": page,
            "paginator": paginator,
            "window": window,
            "ticks": ticks,
            "today_left": today_left,
            "track_lines": roadmaps.track_lines(ticks, today_left),
            "swim_lanes": roadmaps.swim_lanes(initiatives, window),
            "fiscal_year_label": fiscal_year_label(year) if year else "",
            "status_legend": Status.choices,
            "health_legend": Health.choices,
        },
    )
