"""URLs of the settlement pages, included at /finance/settlements/ with namespace `settlements`."""

from django.urls import path

from split import views_settlements as views

app_name = "settlements"

urlpatterns = [
    path("", views.settlement_list, name="list"),
    path("new/", views.settlement_new, name="new"),
    path("<int:pk>/", views.settlement_detail, name="detail"),
    path("<int:pk>/reverse/", views.settlement_reverse_view, name="reverse"),
]
