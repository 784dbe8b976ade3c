"""Numbers people read on the dashboard: money in the reporting currency, percentages, signs.

Money keeps every cent (the figures tie out to the split export), groups
thousands with commas and marks negative amounts with a true minus sign and the
`amount-negative` class. The same functions format chart tooltips in the view,
so the page and its charts never disagree.

    {% load dashboard_format %}
    {{ rollup.totals.actual_total|money }}     → $14,598,934.25
    {{ -350924.86|money }}                     → −$350,924.86
    {{ variance|money_signed }}                → +$2,151,665.75
    {{ rollup.totals.actual_total|money_short }} → <span title="$14,598,934.25">$14.6 M</span>
    {{ share|percent }}                        → 48.4 %
    {{ amount|amount_class }}                  → amount-negative (below zero)
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.conf import settings
from django.utils.html import format_html

register = template.Library()

MINUS = "\u2212"
NBSP = "\u00a0"
# Currencies whose symbol is unambiguous in a room of English readers; any other
# reporting currency is shown by its ISO code ("CHF 1,234.00").
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "KRW": "₩", "ILS": "₪", "NGN": "₦"}


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError, TypeError):
        return None


def currency_code() -> str:
    return settings.REPORTING_CURRENCY


def currency_prefix(code: str | None = None) -> str:
    code = code or currency_code()
    return SYMBOLS.get(code, f"{code}{NBSP}")


def format_money(value, *, signed: bool = False, code: str | None = None) -> str:
    """`Decimal("-1234.5")` → `−$1,234.50`; with `signed`, positives get a `+`. None → `—`."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    cents = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = MINUS if cents < 0 else ("+" if signed and cents > 0 else "")
    return f"{sign}{currency_prefix(code)}{abs(cents):,.2f}"


# Headline units (issue 18): a meeting reads "$14.9 M", the exact figure is on hover and in the drill-down.
SHORT_UNITS = ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k"))


def format_money_short(value, *, signed: bool = False, code: str | None = None) -> str:
    """`Decimal("14908553.87")` → `$14.9 M`; `-350924.86` → `−$350.9 k`; under a thousand, whole units (`$950`).

    One decimal of the largest unit the amount reaches (billions, millions, thousands), rounded half away
    from zero; an amount that rounds up to the next unit is shown in it (`999,960` → `$1.0 M`). None → `—`.
    """
    amount = _decimal(value)
    if amount is None:
        return "—"
    size = abs(amount)
    text = f"{size.quantize(Decimal(1), rounding=ROUND_HALF_UP)}"  # under a thousand: whole units
    # The largest unit the amount reaches once rounded: 999.50 is "1.0 k" (not "1000"), 999,960 is
    # "1.0 M" (not "1,000.0 k"): a unit starts where the next smaller one would round up to a thousand.
    for unit, suffix in SHORT_UNITS:
        starts_at = Decimal("999.5") if suffix == "k" else unit * Decimal("0.99995")
        if size >= starts_at:
            text = f"{(size / unit).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP):,}{NBSP}{suffix}"
            break
    sign = "" if text == "0" else (MINUS if amount < 0 else ("+" if signed else ""))
    return f"{sign}{currency_prefix(code)}{text}"


def format_percent(value, places: int = 1) -> str:
    """`Decimal("48.36")` → `48.4 %` (half away from zero, one decimal). None → `—`."""
    number = _decimal(value)
    if number is None:
        return "—"
    rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = MINUS if rounded < 0 else ""
    return f"{sign}{abs(rounded):,}{NBSP}%"


@register.filter
def money(value) -> str:
    """Money in the reporting currency, to the cent, negatives with a minus sign."""
    return format_money(value)


@register.filter
def money_signed(value) -> str:
    """As `money`, with `+` before positive amounts (variances, deltas)."""
    return format_money(value, signed=True)


@register.filter
def money_short(value) -> str:
    """A headline amount rounded to a sensible unit (`$14.9 M`), the exact amount to the cent on hover."""
    return format_html('<span class="money-short" title="{}">{}</span>', format_money(value), format_money_short(value))


@register.filter
def money_short_signed(value) -> str:
    """As `money_short`, with `+` before positive amounts (variances)."""
    return format_html(
        '<span class="money-short" title="{}">{}</span>',
        format_money(value, signed=True),
        format_money_short(value, signed=True),
    )


@register.filter
def money_abs(value) -> str:
    """The amount without its sign (for sentences that say the direction in words)."""
    amount = _decimal(value)
    return format_money(abs(amount) if amount is not None else None)


@register.filter
def percent(value) -> str:
    """A percentage with one decimal: `48.4 %`."""
    return format_percent(value)


@register.filter
def percent_abs(value) -> str:
    """The percentage without its sign (for sentences that say the direction in words): `50.0 %`."""
    number = _decimal(value)
    return format_percent(abs(number) if number is not None else None)


@register.filter
def amount_class(value) -> str:
    """`amount-negative` for amounts below zero (shown in red), else nothing."""
    amount = _decimal(value)
    return "amount-negative" if amount is not None and amount < 0 else ""


@register.simple_tag
def reporting_currency() -> str:
    return currency_code()


@register.filter
def lane_pct(rollup, lane: str) -> str:
    """A lane's part of actual spend in a `dashboard.figures.Rollup`: `38.2 %`."""
    return format_percent(rollup.lane_share(lane))


@register.filter
def lane_width(rollup, lane: str) -> str:
    """The same part as a CSS width (`38.2`), 0 when nothing was spent."""
    share = rollup.lane_share(lane)
    return f"{share:.1f}" if share is not None else "0"


@register.filter
def bar_width(value) -> str:
    """A percentage as a CSS width, held within 0–100 (an overspent plan fills its bar, no more)."""
    number = _decimal(value)
    if number is None:
        return "0"
    return f"{min(max(number, Decimal(0)), Decimal(100)):.1f}"
