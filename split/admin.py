"""The split's tables in the Django admin: read-only (the recompute writes them; PRODUCT.md §3)."""

from __future__ import annotations

from django.contrib import admin

from portfolio.admin_site import PolicyPermissionsMixin
from split.models import OverspendAlert, SplitHistory, SplitRow, SplitRun


@admin.register(SplitRow)
class SplitRowAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("initiative_code", "month", "lane", "status", "planned_total", "actual_total", "true_up")
    list_filter = ("fiscal_year", "fiscal_quarter", "lane", "status")
    search_fields = ("initiative_code", "initiative_title")
    show_full_result_count = False


@admin.register(SplitRun)
class SplitRunAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("queued_at", "status", "trigger", "requested_by", "finished_at", "duration_ms", "row_count")
    list_filter = ("status", "trigger")
    search_fields = ("error",)
    readonly_fields = [f.name for f in SplitRun._meta.fields]


@admin.register(SplitHistory)
class SplitHistoryAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("run", "lane", "month", "planned_total", "actual_total", "actual_marketing")
    list_filter = ("lane", "fiscal_year")
    search_fields = ("lane",)


@admin.register(OverspendAlert)
class OverspendAlertAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("initiative", "month", "fiscal_year", "planned_total", "actual_total", "sent_at")
    list_filter = ("fiscal_year", "month")
    search_fields = ("initiative__code", "initiative__title")
    list_select_related = ("initiative",)
    readonly_fields = [f.name for f in OverspendAlert._meta.fields]
