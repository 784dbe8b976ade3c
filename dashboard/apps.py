from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Joint dashboard"

    def ready(self) -> None:
        from dashboard.receivers import warm_cache_after_recompute
        from split.signals import split_recomputed

        split_recomputed.connect(warm_cache_after_recompute, dispatch_uid="dashboard.warm_cache_after_recompute")
