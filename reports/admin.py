"""Background exports in the Django admin: read-only (the export task writes them)."""

from __future__ import annotations

from django.contrib import admin

from portfolio.admin_site import PolicyPermissionsMixin
from reports.models import ExportJob


@admin.register(ExportJob)
class ExportJobAdmin(PolicyPermissionsMixin, admin.ModelAdmin):
    list_display = ("created_at", "requested_by", "format", "status", "progress", "row_count", "finished_at")
    list_filter = ("status", "format")
    search_fields = ("requested_by__username", "file_name", "error")
    readonly_fields = [f.name for f in ExportJob._meta.fields]
