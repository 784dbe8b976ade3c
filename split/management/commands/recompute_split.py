"""`manage.py recompute_split`: recompute the spend split now, synchronously (PRODUCT.md §3).

Runs the same service as the nightly task and prints the row count, the totals
of the new split and the duration. If another recompute is running (a worker's, or
another `recompute_split`), it waits for that one to finish, then runs, so its figures
include everything committed before it started; `--skip-if-running` skips instead.
Exit status 0 on success, 1 on failure (or after waiting ten minutes in vain), 2 when
skipped. `--json` prints one JSON object instead (used by the benchmark).
"""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from split.choices import RunStatus
from split.models import SplitRun
from split.selectors import split_summary
from split.services import split_recompute


class Command(BaseCommand):
    help = "Recompute the marketing-versus-IT spend split now and print what it did."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object (machine-readable).")
        parser.add_argument(
            "--skip-if-running",
            action="store_true",
            help="If another recompute is running, skip (exit status 2) instead of waiting for it to finish.",
        )

    def handle(self, *args, **options) -> None:
        started = time.perf_counter()

        def say_waiting() -> None:
            running = SplitRun.objects.filter(status=RunStatus.RUNNING).order_by("-started_at").first()
            since = f" (started {timezone.localtime(running.started_at):%H:%M:%S})" if running else ""
            self.stderr.write(
                f"Another recompute is running{since}; waiting for it to finish. Use --skip-if-running to skip instead."
            )

        try:
            run = split_recompute(trigger="command", wait=not options["skip_if_running"], on_wait=say_waiting)
        except Exception as exc:
            raise CommandError(f"Recompute failed: {exc}") from exc
        wall_ms = round((time.perf_counter() - started) * 1000)
        if run.status == RunStatus.SKIPPED:
            raise CommandError(run.error, returncode=2)

        totals = split_summary(group_by=())[0]
        if options["json"]:
            payload = {
                "run_id": str(run.pk),
                "status": run.status,
                "rows": run.row_count,
                "duration_ms": run.duration_ms,
                "wall_ms": wall_ms,
                "as_of": run.finished_at.isoformat(),
                "note": run.error,  # e.g. the locked months it closed itself
                "totals": {key: str(value) for key, value in totals.items() if value is not None},
            }
            self.stdout.write(json.dumps(payload))
            return

        currency = settings.REPORTING_CURRENCY
        share = totals["marketing_share_of_actual"]
        lines = [
            f"Recomputed the spend split: {run.row_count:,} row{'' if run.row_count == 1 else 's'} "
            f"in {run.duration_ms / 1000:.2f} s "
            f"(as of {run.finished_at:%Y-%m-%d %H:%M:%S %Z}, run {run.pk}).",
            "",
            f"{'':<12}{'total':>20}{'marketing':>20}{'IT':>20}",
            f"{'Planned':<12}{totals['planned_total']:>20,.2f}{totals['planned_marketing']:>20,.2f}"
            f"{totals['planned_it']:>20,.2f}",
            f"{'Actual':<12}{totals['actual_total']:>20,.2f}{totals['actual_marketing']:>20,.2f}"
            f"{totals['actual_it']:>20,.2f}",
            f"{'Paid':<12}{'':>20}{totals['paid_marketing']:>20,.2f}{totals['paid_it']:>20,.2f}",
            "",
            f"True-up (marketing owes IT when positive): {totals['true_up']:,.2f} {currency}",
            f"Variance (planned − actual): {totals['variance']:,.2f} {currency}",
            f"Marketing's share of joint spend: {'—' if share is None else f'{share} %'}",
        ]
        if run.error:  # a succeeded run's note: the locked months it closed itself
            lines += ["", run.error]
        self.stdout.write("\n".join(lines))
