"""URLs of the scenario pages, included at /scenarios/ with namespace `scenarios`."""

from django.urls import path

from . import views

app_name = "scenarios"

urlpatterns = [
    path("", views.scenario_list, name="list"),
    path("<int:pk>/", views.scenario_detail, name="detail"),
    path("<int:pk>/changes/", views.scenario_change_add, name="change-add"),
    path("<int:pk>/changes/<int:change_pk>/delete/", views.scenario_change_delete, name="change-delete"),
    path("<int:pk>/propose/", views.scenario_propose_view, name="propose"),
]
