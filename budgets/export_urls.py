"""URLs of the finance exports, included at /reports/ with namespace `reports` (PRODUCT.md §4)."""

from django.urls import path

from . import export_views

app_name = "reports"

urlpatterns = [
    path("", export_views.reports_index, name="index"),
    path("split.csv", export_views.split_csv, name="split_csv"),
    path("split.xlsx", export_views.split_xlsx, name="split_xlsx"),
    path("true-up-journal.csv", export_views.true_up_journal_csv, name="true_up_journal_csv"),
    path("exports/", export_views.export_list, name="exports"),
    path("exports/panel/", export_views.export_list_panel, name="exports_panel"),
    path("exports/new/", export_views.export_create, name="export_create"),
    path("exports/<uuid:job_id>/", export_views.export_detail, name="export_detail"),
    path("exports/<uuid:job_id>/panel/", export_views.export_panel, name="export_panel"),
    path("exports/<uuid:job_id>/download/", export_views.export_download, name="export_download"),
    path("exports/<uuid:job_id>/retry/", export_views.export_retry, name="export_retry"),
]
