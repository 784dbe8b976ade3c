from django.apps import AppConfig


class SplitConfig(AppConfig):
    name = "split"
    verbose_name = "Spend split"

    def ready(self) -> None:
        from portfolio.health import register_check

        from . import receivers  # noqa: F401 - connects the freeze and unfreeze to budgets' lock signals
        from .health import check_recompute, recompute_warnings

        register_check("recompute", check_recompute, warning=recompute_warnings)
