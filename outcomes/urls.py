"""URLs of the outcome pages, included at /outcomes/ with namespace `outcomes`."""

from django.urls import path  # noqa: F401 - the pages below add their paths

app_name = "outcomes"

urlpatterns: list = []
