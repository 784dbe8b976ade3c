"""What the outcomes announce to the wings above them, which `outcomes` may not import (PRODUCT.md §3b).

`kpis_changed` is sent once the transaction commits, after `outcomes.services.kpis_refresh` rewrote KPIs'
measured figures — after every measurement written through a service and after a bulk import, which sends
no model signals. The dashboard connects to it (its outcomes panel is read again on the next view).
"""

from django.dispatch import Signal

kpis_changed = Signal()  # sender: OutcomeKpi; kwargs: kpi_ids (the KPIs refreshed)
