"""`manage.py seed_demo`: demo logins for every role and a believable portfolio at any scale (PRODUCT.md §4).

    python manage.py seed_demo [--initiatives N] [--expenses M] [--months K] [--seed S] [--if-empty]

The demo users are ensured on every run (idempotent, `demo.people`); the portfolio
is generated from one `random.Random(seed)` and inserted by `demo.services`, so a
seed always gives the same portfolio on a fresh database. This command parses the
options, orchestrates and prints what was written.
"""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from demo.closing import OPEN_MONTHS
from demo.people import demo_logins_table, demo_users_ensure
from demo.services import DemoSeedError, SeedSummary, demo_portfolio_seed
from initiatives.models import Initiative

DEFAULT_SEED = 2026


class Command(BaseCommand):
    help = "Create demo logins for every role and generate a believable portfolio (any scale, reproducible by seed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--initiatives", type=int, default=120, help="Initiatives to create (default 120).")
        parser.add_argument("--expenses", type=int, default=3000, help="ERP actuals to create (default 3000).")
        parser.add_argument(
            "--months", type=int, default=18, help="Months of budgets and actuals, ending this month (default 18)."
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed: same seed, same data (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--open-months",
            type=int,
            default=OPEN_MONTHS,
            help=f"Months left open, the current one included; older ones are closed (default {OPEN_MONTHS}).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Only ensure the demo users when any initiative exists already (what `make run` uses).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        initiative_count, expense_count, month_count = options["initiatives"], options["expenses"], options["months"]
        if initiative_count < 0 or expense_count < 0:
            raise CommandError("--initiatives and --expenses cannot be negative.")
        if not 1 <= month_count <= 240:
            raise CommandError("--months must be between 1 and 240.")
        if not 1 <= options["open_months"] <= 240:
            raise CommandError("--open-months must be between 1 and 240 (the current month is always open).")

        users = demo_users_ensure()
        existing = Initiative.objects.count() if options["if_empty"] else 0
        if existing:
            self.stdout.write(f"{existing:,} initiatives exist already: no demo data added (--if-empty).")
        else:
            try:
                summary = demo_portfolio_seed(
                    rng=random.Random(options["seed"]),
                    users=users,
                    initiative_count=initiative_count,
                    expense_count=expense_count,
                    month_count=month_count,
                    now=timezone.now().replace(microsecond=0),
                    progress=options["verbosity"] >= 1,
                    open_months=options["open_months"],
                )
            except DemoSeedError as exc:
                raise CommandError(str(exc)) from exc
            self._summary_print(summary, seed=options["seed"], verbosity=options["verbosity"])
        self._logins_print()
        self.stdout.write(f"Done in {time.perf_counter() - started:.1f} s.")

    def _summary_print(self, summary: SeedSummary, *, seed: int, verbosity: int) -> None:
        months = summary.months
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data (seed {seed}, {months[0]:%Y-%m} to {months[-1]:%Y-%m}, {len(months)} months):"
            )
        )
        codes = f"  {summary.first_code} … {summary.last_code}" if summary.initiatives else ""
        for label, count, detail in (
            ("initiatives", summary.initiatives, codes),
            ("platform links", summary.platform_links, ""),
            ("agreements", summary.agreements, f"  ({summary.share_changes:,} later share changes)"),
            ("budget lines", summary.budget_lines, ""),
            ("expenses (ERP)", summary.expenses, ""),
            ("FX rates", summary.fx_rates, "  (new; existing rates were kept)"),
            ("outcome KPIs", summary.outcome_kpis, ""),
            ("measurements", summary.measurements, "  (of the outcome KPIs, from each initiative's start)"),
            ("history entries", summary.history_entries, "  (who changed what, when: the audit log)"),
        ):
            self.stdout.write(f"  {label:<16}{count:>12,}{detail}")
        if summary.closed_months:
            closed = summary.closed_months
            self.stdout.write(
                f"  {'closed months':<16}{len(closed):>12,}  {closed[0]:%Y-%m} … {closed[-1]:%Y-%m} (locked and frozen)"
            )
        if summary.history_runs:
            self.stdout.write(
                f"  {'past recomputes':<16}{summary.history_runs:>12,}  (history only, one a month: the share trend;"
                " run recompute_split for the current figures)"
            )
        if summary.settlements:
            references = ", ".join(settlement.reference for settlement in summary.settlements)
            self.stdout.write(f"  {'settlements':<16}{len(summary.settlements):>12,}  {references}")
        if summary.locked_months:
            locked = ", ".join(f"{month:%Y-%m}" for month in summary.locked_months)
            self.stdout.write(self.style.WARNING(f"  Locked months left untouched: {locked}"))
        if verbosity >= 2:
            for phase, seconds in summary.seconds.items():
                self.stdout.write(f"  {phase:<18}{seconds:>8.1f} s")

    def _logins_print(self) -> None:
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for line in demo_logins_table():
            self.stdout.write(line)
