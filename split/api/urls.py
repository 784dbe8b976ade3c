"""Routes of the split's endpoints (included by portfolio/api_urls.py under the `api` namespace)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("split", views.SplitRowViewSet, basename="split")
router.register("recompute", views.RecomputeViewSet, basename="recompute")
router.register("settlements", views.SettlementViewSet, basename="settlement")

urlpatterns = [
    path("split/summary/", views.SplitSummaryView.as_view(), name="split-summary"),
    *router.urls,
]
