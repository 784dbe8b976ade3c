"""Routes of `/api/initiatives/` (included by portfolio/api_urls.py under the `api` namespace)."""

from rest_framework.routers import SimpleRouter

from .views import InitiativeViewSet

router = SimpleRouter()
router.register("initiatives", InitiativeViewSet, basename="initiative")

urlpatterns = router.urls
