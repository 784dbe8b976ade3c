"""URLs of the outcome pages, included at /outcomes/ with namespace `outcomes`."""

from django.urls import path

from initiatives import converters as _converters  # noqa: F401 - registers <initiative_code:…>

from . import views, views_import

app_name = "outcomes"

urlpatterns = [
    path("initiatives/<initiative_code:code>/", views.initiative_outcomes, name="initiative"),
    path("kpis/<int:pk>/edit/", views.kpi_edit, name="kpi_edit"),
    path("kpis/<int:pk>/delete/", views.kpi_delete, name="kpi_delete"),
    path("kpis/<int:pk>/measurements/", views.measurement_record, name="measurement_record"),
    path("measurements/<int:pk>/delete/", views.measurement_delete, name="measurement_delete"),
    path("import/", views_import.import_page, name="import"),
]
