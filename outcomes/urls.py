"""URLs of the outcome pages, included at /outcomes/ with namespace `outcomes`."""

from django.urls import path

from . import views_import

app_name = "outcomes"

urlpatterns: list = [
    path("import/", views_import.import_page, name="import"),
]
