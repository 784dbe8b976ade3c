"""The audit log page."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render

from budgets.forms import (
    AuditFilterForm,
)
from budgets.selectors import (
    audit_log,
)
from budgets.views.common import require
from initiatives.models import Initiative
from portfolio.pagination import web_page_number
from portfolio.text import canonical_code

# --- audit log -------------------------------------------------------------------------------------


def audit_log_view(request):
    require(request, "audit.view")
    form = AuditFilterForm(request.GET or None)
    filters: dict = {}
    if form.is_valid():
        data = form.cleaned_data
        if data.get("model"):
            filters["models"] = [data["model"]]
        if data.get("user"):
            filters["user_id"] = data["user"].pk
        if data.get("date_from"):
            filters["date_from"] = data["date_from"]
        if data.get("date_to"):
            filters["date_to"] = data["date_to"]
        if data.get("initiative"):
            initiative = Initiative.objects.filter(code=canonical_code(data["initiative"])).first()
            filters["initiative_id"] = initiative.pk if initiative else -1
    page_number = web_page_number(request)  # the log is not counted: a page past its end comes back empty
    page = audit_log(**filters, page=page_number)
    if not page.entries and page_number > 1:
        messages.warning(request, f"There is no page {page_number}: the log ends before it. Showing the first page.")
        page = audit_log(**filters, page=1)
    query = request.GET.copy()
    query.pop("page", None)
    context = {"tab": "audit", "form": form, "page": page, "query": query.urlencode()}
    return render(request, "budgets/audit_log.html", context)
