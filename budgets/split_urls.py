"""URLs of the spend-split pages, included at /split/ with namespace `split`."""

from django.urls import path

from . import split_views

app_name = "split"

urlpatterns = [
    path("runs/", split_views.split_runs, name="runs"),
    path("runs/panel/", split_views.split_runs_panel, name="runs_panel"),
    path("runs/recompute/", split_views.split_recompute_now, name="recompute"),
]
