from django.apps import AppConfig


class SplitConfig(AppConfig):
    name = "split"
    verbose_name = "Spend split"

    def ready(self) -> None:
        from budgets.selectors import AuditedModel, register_audited
        from portfolio import forecasts
        from portfolio.health import register_check

        from . import (
            receivers,  # noqa: F401 - connects the freeze and unfreeze to budgets' lock signals
            rules,
        )
        from .at_completion import estimates_at_completion
        from .health import check_recompute, recompute_warnings
        from .models import ClosedMonth, Settlement
        from .settlements import settlement_audit_title

        register_check("recompute", check_recompute, warning=recompute_warnings)
        rules.register()  # who may see, settle and reverse the true-up
        forecasts.register(estimates_at_completion)  # an initiative's estimate at completion, for initiatives
        # Freezes, unfreezes (with their reason), settlements and reversals, in the audit log.
        register_audited(
            AuditedModel("closed_month", "Closed month", ClosedMonth, ("month", "row_count", "actual_total", "true_up"))
        )
        register_audited(
            AuditedModel(
                "settlement",
                "Settlement",
                Settlement,
                ("reference", "months", "amount", "status", "note", "reversal_reason"),
                title=settlement_audit_title,
            )
        )
