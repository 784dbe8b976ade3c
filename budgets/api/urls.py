"""Routes of the finance endpoints (included by portfolio/api_urls.py under the `api` namespace)."""

from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("budget-lines", views.BudgetLineViewSet, basename="budget-line")
router.register("expenses", views.ExpenseViewSet, basename="expense")
router.register("fx-rates", views.FxRateViewSet, basename="fx-rate")
router.register("locks", views.PeriodLockViewSet, basename="lock")

urlpatterns = router.urls
