"""What budgets announces to the apps above it (the split freezes and unfreezes closed months).

Sent inside the locking or unlocking transaction, so a receiver's writes commit or roll back with
the lock itself; a receiver that raises (ValidationError) refuses the change.
"""

from django.dispatch import Signal

# kwargs: lock (the new PeriodLock), by (the user). Sent after the lock row is saved.
month_locked = Signal()
# kwargs: lock (the PeriodLock about to be deleted), by, reason. Sent before the lock row is deleted;
# a receiver may refuse the unlock by raising ValidationError (a settled month).
month_unlocking = Signal()
