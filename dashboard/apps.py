from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Joint dashboard"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from dashboard.receivers import outcomes_written, warm_cache_after_recompute
        from outcomes.models import OutcomeKpi, OutcomeMeasurement
        from outcomes.signals import kpis_changed
        from split.signals import split_recomputed

        split_recomputed.connect(warm_cache_after_recompute, dispatch_uid="dashboard.warm_cache_after_recompute")
        for model in (OutcomeKpi, OutcomeMeasurement):
            for signal in (post_save, post_delete):
                signal.connect(
                    outcomes_written, sender=model, dispatch_uid=f"dashboard.outcomes_written.{model.__name__}"
                )
        # A bulk write (the measurements import) sends no model signals; kpis_refresh announces it.
        kpis_changed.connect(outcomes_written, sender=OutcomeKpi, dispatch_uid="dashboard.outcomes_written.refresh")
