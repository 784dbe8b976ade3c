"""Background exports in the Django admin: read-only (the export task writes them)."""

from __future__ import annotations

from django.contrib import admin

from portfolio.admin_site import PolicyPermissionsMixin
from reports.models import EXPORT_STATUS_LABELS, EXPORT_STATUSES, ExportJob


class ExportStatusFilter(admin.SimpleListFilter):
    """The states an export can be in, in the reports pages' words."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [(status.value, EXPORT_STATUS_LABELS[status]) for status in EXPORT_STATUSES]

    def queryset(self, request, queryset):
        return queryset.filter(status=self.value()) if self.value() else queryset


@admin.register(ExportJob)
class ExportJobAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("created_at", "requested_by", "format", "status_shown", "progress", "row_count", "finished_at")
    list_filter = (ExportStatusFilter, "format")
    search_fields = ("requested_by__username", "file_name", "error")
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    @admin.display(description="status", ordering="status")
    def status_shown(self, job: ExportJob) -> str:
        return job.status_label  # "Ready", as the reports pages say
