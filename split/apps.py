from django.apps import AppConfig


class SplitConfig(AppConfig):
    name = "split"
    verbose_name = "Spend split"

    def ready(self) -> None:
        from portfolio.health import register_check

        from .health import check_recompute, recompute_warnings

        register_check("recompute", check_recompute, warning=recompute_warnings)
