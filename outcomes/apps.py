from django.apps import AppConfig


class OutcomesConfig(AppConfig):
    name = "outcomes"
    verbose_name = "Shared outcomes"

    def ready(self) -> None:
        from outcomes import rules

        rules.register()
