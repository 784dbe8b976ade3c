"""Routes of `/api/scenarios/` (included by portfolio/api_urls.py under the `api` namespace)."""

from rest_framework.routers import SimpleRouter

from .views import ScenarioViewSet

router = SimpleRouter()
router.register("scenarios", ScenarioViewSet, basename="scenario")

urlpatterns = router.urls
