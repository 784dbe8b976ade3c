"""What the split engine tells the wings above it, without importing them (they import it).

`split_recomputed` is sent after a run's new table is committed; the dashboard listens to
warm its cache. Receivers only save time: the engine sends robustly and logs a failure.
"""

from django.dispatch import Signal

# Sent with `run=` (the SplitRun that just succeeded), after its commit.
split_recomputed = Signal()
