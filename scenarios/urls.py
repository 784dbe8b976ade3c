"""URLs of the scenario pages, included at /scenarios/ with namespace `scenarios`."""

from django.urls import path

from . import views, views_compare

app_name = "scenarios"

urlpatterns = [
    path("", views.scenario_list, name="list"),
    path("add/", views.scenario_add_many, name="add"),
    path("compare/", views_compare.scenario_compare, name="compare"),
    path("compare.csv", views_compare.scenario_compare_export, {"fmt": "csv"}, name="compare-csv"),
    path("compare.xlsx", views_compare.scenario_compare_export, {"fmt": "xlsx"}, name="compare-xlsx"),
    path("<int:pk>/", views.scenario_detail, name="detail"),
    path("<int:pk>/changes/", views.scenario_change_add, name="change-add"),
    path("<int:pk>/changes/<int:change_pk>/delete/", views.scenario_change_delete, name="change-delete"),
    path("<int:pk>/propose/", views.scenario_propose_view, name="propose"),
]
