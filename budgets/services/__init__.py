"""Writes of the budgets app, one module per entity (HackSoft style: keyword-only, atomic, `by=` the user).

- budgets.py  the budget grid (optimistic version check, spread helper) and single lines
- actuals.py  expenses: create, update, delete
- imports.py  CSV imports of actuals, budget lines and FX rates (web upload and commands)
- locks.py    period locks and `period_lock_check`, the one lock rule every write goes through
- fx.py       FX rates, `amount_in_reporting` (the one conversion rule) and the recomputation
"""
