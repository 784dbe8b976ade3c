"""The split's answers to what budgets announces (budgets.signals): a locked month's split is closed.

Connected in SplitConfig.ready(). Both run inside the locking or unlocking transaction, so the
freeze commits or rolls back with the lock; an unfreeze that raises ValidationError (a settled
month) refuses the unlock. The rules themselves live in split.closing.
"""

from __future__ import annotations

from django.dispatch import receiver

from budgets.models import PeriodLock
from budgets.signals import month_locked, month_unlocking
from split.closing import month_unfreeze, months_freeze


@receiver(month_locked, sender=PeriodLock, dispatch_uid="split.freeze_locked_month")
def freeze_locked_month(sender, *, lock: PeriodLock, by, **kwargs) -> None:
    months_freeze(locks=[lock], by=by)


@receiver(month_unlocking, sender=PeriodLock, dispatch_uid="split.unfreeze_unlocking_month")
def unfreeze_unlocking_month(sender, *, lock: PeriodLock, by, reason: str, **kwargs) -> None:
    month_unfreeze(lock=lock, by=by, reason=reason)
