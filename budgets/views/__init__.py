"""Finance pages: budget grid, expenses, imports, FX rates, period locks, audit log.

Views parse the request, ask the policy, call a service or a selector and
render; no rule is decided here. One module per page group (`grid`: the finance
landing page and the budget grid; `expenses`, `imports`, `fx`, `locks`, `audit`),
on the helpers of `common`; budgets/urls.py maps them.
"""
