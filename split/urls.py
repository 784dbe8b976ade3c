"""URLs of the spend-split pages, included at /split/ with namespace `split`."""

from django.urls import path

from split import views

app_name = "split"

urlpatterns = [
    path("runs/", views.split_runs, name="runs"),
    path("runs/panel/", views.split_runs_panel, name="runs_panel"),
    path("runs/recompute/", views.split_recompute_now, name="recompute"),
]
