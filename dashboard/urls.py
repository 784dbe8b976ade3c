"""URLs of the joint executive dashboard, included at /dashboard/ with namespace `dashboard`."""

from django.urls import path

from dashboard import views, views_funding

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("funding/", views_funding.funding_view, name="funding"),
]
