from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import BudgetLine, Expense, FxRate, PeriodLock, SplitHistory, SplitRow, SplitRun


@admin.register(BudgetLine)
class BudgetLineAdmin(SimpleHistoryAdmin):
    list_display = ("initiative", "month", "category", "amount")
    list_filter = ("category", "month")
    search_fields = ("initiative__code", "initiative__title")
    list_select_related = ("initiative",)
    raw_id_fields = ("initiative",)
    show_full_result_count = False


@admin.register(Expense)
class ExpenseAdmin(SimpleHistoryAdmin):
    list_display = (
        "incurred_on",
        "initiative",
        "amount",
        "currency",
        "amount_reporting",
        "paid_by",
        "category",
        "vendor",
        "source",
    )
    list_filter = ("paid_by", "category", "currency", "source")
    search_fields = ("initiative__code", "vendor", "description", "external_ref")
    list_select_related = ("initiative",)
    raw_id_fields = ("initiative",)
    date_hierarchy = "incurred_on"
    show_full_result_count = False


@admin.register(FxRate)
class FxRateAdmin(SimpleHistoryAdmin):
    list_display = ("currency", "month", "rate")
    list_filter = ("currency",)
    search_fields = ("currency",)


@admin.register(PeriodLock)
class PeriodLockAdmin(SimpleHistoryAdmin):
    list_display = ("month", "reason", "locked_by", "locked_at")
    search_fields = ("reason",)
    list_filter = ("locked_at",)
    raw_id_fields = ("locked_by",)


@admin.register(SplitRow)
class SplitRowAdmin(admin.ModelAdmin):
    list_display = ("initiative_code", "month", "lane", "status", "planned_total", "actual_total", "true_up")
    list_filter = ("fiscal_year", "fiscal_quarter", "lane", "status")
    search_fields = ("initiative_code", "initiative_title")
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False  # written only by the recompute

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SplitRun)
class SplitRunAdmin(admin.ModelAdmin):
    list_display = ("queued_at", "status", "trigger", "requested_by", "finished_at", "duration_ms", "row_count")
    list_filter = ("status", "trigger")
    search_fields = ("error",)
    readonly_fields = [f.name for f in SplitRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SplitHistory)
class SplitHistoryAdmin(admin.ModelAdmin):
    list_display = ("run", "lane", "month", "planned_total", "actual_total", "actual_marketing")
    list_filter = ("lane", "fiscal_year")
    search_fields = ("lane",)

    def has_add_permission(self, request) -> bool:
        return False
