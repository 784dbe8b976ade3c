"""URLs of the finance exports, included at /reports/ with namespace `reports` (PRODUCT.md §4)."""

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.reports_index, name="index"),
    path("split.csv", views.split_csv, name="split_csv"),
    path("split.xlsx", views.split_xlsx, name="split_xlsx"),
    path("forecast.csv", views.forecast_csv, name="forecast_csv"),
    path("forecast.xlsx", views.forecast_xlsx, name="forecast_xlsx"),
    path("outcomes.csv", views.outcomes_csv, name="outcomes_csv"),
    path("outcomes.xlsx", views.outcomes_xlsx, name="outcomes_xlsx"),
    path("true-up-journal.csv", views.true_up_journal_csv, name="true_up_journal_csv"),
    path("exports/", views.export_list, name="exports"),
    path("exports/panel/", views.export_list_panel, name="exports_panel"),
    path("exports/new/", views.export_create, name="export_create"),
    path("exports/<uuid:job_id>/", views.export_detail, name="export_detail"),
    path("exports/<uuid:job_id>/panel/", views.export_panel, name="export_panel"),
    path("exports/<uuid:job_id>/download/", views.export_download, name="export_download"),
    path("exports/<uuid:job_id>/retry/", views.export_retry, name="export_retry"),
]
