"""Routes of `/api/outcomes/` (included by portfolio/api_urls.py under the `api` namespace)."""

from rest_framework.routers import SimpleRouter

from .views import KpiViewSet

router = SimpleRouter()
router.register("outcomes", KpiViewSet, basename="outcome")

urlpatterns = router.urls
