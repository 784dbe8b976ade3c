"""URL of the joint executive dashboard, included at /dashboard/ with namespace `dashboard`."""

from django.urls import path

from . import dashboard_views

app_name = "dashboard"

urlpatterns = [
    path("", dashboard_views.dashboard_view, name="dashboard"),
]
