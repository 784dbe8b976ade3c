"""Template helpers of the web UI: policy questions, badges, form widgets, sorting and paging links."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

from django import template
from django.conf import settings
from django.utils.html import format_html

from initiatives.choices import Health, Lane, Status
from initiatives.estimates import EstimateSplit, estimate_split
from portfolio import policy
from portfolio.fiscal import month_label

register = template.Library()

STATUS_CLASSES = {
    Status.DRAFT: "text-bg-secondary",
    Status.SUBMITTED: "text-bg-info",
    Status.APPROVED: "text-bg-primary",
    Status.IN_PROGRESS: "text-bg-warning",
    Status.DONE: "text-bg-success",
    Status.REJECTED: "text-bg-danger",
    Status.CANCELLED: "text-bg-dark",
}
LANE_CLASSES = {Lane.FAST_LANE: "lane-fast", Lane.CORE_STACK: "lane-core"}
HEALTH_CLASSES = {Health.GREEN: "health-green", Health.AMBER: "health-amber", Health.RED: "health-red"}


CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CHF": "CHF "}


@register.filter
def amount(value) -> str:
    """An amount of reporting currency as people read it: `$300,000`, `$1,250.50` (cents only when there
    are some), `−$20.00` when negative; "" for None."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    currency = settings.REPORTING_CURRENCY
    symbol = CURRENCY_SYMBOLS.get(currency, f"{currency} ")
    digits = f"{abs(value):,.0f}" if value == value.to_integral_value() else f"{abs(value):,.2f}"
    return f"{'−' if value < 0 else ''}{symbol}{digits}"


@register.simple_tag
def finance_amount(value, shown: bool = True) -> str:
    """A list cell's plan or actual: the amount; "—" when there is none yet, or when the user may not see
    the initiative's figures (`shown` false, with a hover saying who may)."""
    if not shown:
        return format_html('<span class="text-body-tertiary" title="{}">—</span>', NOT_SHOWN)
    if value is None:
        return format_html('<span class="text-body-tertiary" title="{}">—</span>', "None yet")
    return amount(value)


NOT_SHOWN = "Only its owner, the executives, finance and the administrators see its figures"


@register.simple_tag
def split_estimate(estimated_cost, marketing_share_pct) -> EstimateSplit | None:
    """`{% split_estimate initiative.estimated_cost share as money %}`: the estimate split by a (proposed)
    share, marketing rounded half up to cents and IT the rest (`initiatives.estimates`)."""
    return estimate_split(estimated_cost, marketing_share_pct)


@register.simple_tag
def policy_can(user, action: str, obj=None) -> bool:
    """`{% policy_can user "initiative.create" as may_create %}`: the one policy, asked from a template."""
    return policy.can(user, action, obj)


@register.filter
def has_role(user, role: str) -> bool:
    return role in policy.roles(user)


@register.simple_tag
def awaiting_count(user) -> int:
    from initiatives.selectors import awaiting_count as count

    return count(user=user)


@register.simple_tag
def status_badge(status: str) -> str:
    label = Status(status).label if status in Status.values else status
    return format_html('<span class="badge rounded-pill {}">{}</span>', STATUS_CLASSES.get(status, ""), label)


@register.simple_tag
def lane_badge(lane: str) -> str:
    label = Lane(lane).label if lane in Lane.values else lane
    return format_html('<span class="badge lane-badge {}">{}</span>', LANE_CLASSES.get(lane, ""), label)


@register.simple_tag
def health_dot(health: str, with_label: bool = True) -> str:
    label = Health(health).label if health in Health.values else health
    if with_label:
        return format_html(
            '<span class="health {}"><span class="health-dot" aria-hidden="true"></span>{}</span>',
            HEALTH_CLASSES.get(health, ""),
            label,
        )
    return format_html(
        '<span class="health {}" title="{}"><span class="health-dot"></span>'
        '<span class="visually-hidden">{}</span></span>',
        HEALTH_CLASSES.get(health, ""),
        label,
        label,
    )


@register.filter
def person(user) -> str:
    if user is None or user == "":
        return "—"
    if isinstance(user, str):
        return user
    return user.get_full_name() or user.get_username()


@register.filter
def month(day: dt.date | None) -> str:
    """`April 2026`: a month as every message names it (`portfolio.fiscal.month_label`)."""
    return month_label(day) if day else ""


def _months_later(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, or the last day of that month when it is shorter."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}{'' if number == 1 else 's'}"


@register.filter
def calendar_span(start: dt.date | None, end: dt.date | None) -> str:
    """How long `start` … `end` lasts, both days included, in calendar years, months and days (two units at most).

    Jan 1 – Dec 31 is "1 year" and Feb 1 – Sep 30 "8 months" (Django's timesince
    counts 30-day months and said "11 months, 4 weeks"); Mar 10 – Jun 24 is
    "3 months, 15 days". '' when a date is missing or the end is before the start.
    """
    if not start or not end or end < start:
        return ""
    after = end + dt.timedelta(days=1)  # the end day counts: measure up to the day after it
    months = (after.year - start.year) * 12 + after.month - start.month
    if _months_later(start, months) > after:
        months -= 1
    days = (after - _months_later(start, months)).days
    years, months = divmod(months, 12)
    parts = [_count(number, unit) for number, unit in ((years, "year"), (months, "month"), (days, "day")) if number]
    return ", ".join(parts[:2])


@register.filter
def initials(user) -> str:
    if user is None:
        return "?"
    first, last = (user.first_name or "")[:1], (user.last_name or "")[:1]
    return (first + last).upper() or user.get_username()[:2].upper()


@register.simple_tag
def field_widget(bound_field, **attrs) -> str:
    """Render a field's widget with Bootstrap's `is-invalid` when it has errors, plus any extra attributes."""
    css = bound_field.field.widget.attrs.get("class", "")
    if bound_field.errors:
        css = f"{css} is-invalid".strip()
        attrs.setdefault("aria-invalid", "true")
    if bound_field.help_text or bound_field.errors:
        attrs.setdefault("aria-describedby", f"{bound_field.auto_id}_help")
    return bound_field.as_widget(attrs={**attrs, "class": css})


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one); used by paging links."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.simple_tag(takes_context=True)
def sort_header(context, field: str, label: str, default_desc: bool = False) -> str:
    """A sortable column header: click to sort, click again to reverse; shows the arrow of the active sort."""
    params = context["request"].GET.copy()
    current = params.get("sort", "")
    if current == field:
        new, arrow, aria = f"-{field}", "▲", "ascending"
    elif current == f"-{field}":
        new, arrow, aria = field, "▼", "descending"
    else:
        new, arrow, aria = (f"-{field}" if default_desc else field), "", "none"
    params["sort"] = new
    params.pop("page", None)
    return format_html(
        '<a class="sort-link{}" href="?{}" aria-sort="{}">{}<span class="sort-arrow">{}</span></a>',
        " active" if arrow else "",
        params.urlencode(),
        aria,
        label,
        arrow,
    )


@register.simple_tag
def user_role_label(user) -> str:
    """The user's roles in words, e.g. 'Executive' or 'Product manager'."""
    from initiatives.choices import Role

    names = policy.roles(user)
    labels = [label for value, label in Role.choices if value in names]
    return ", ".join(labels) or "No role"


@register.inclusion_tag("initiatives/_home_panel.html", takes_context=True)
def initiatives_home(context) -> dict:
    """The initiatives part of the landing page, by role: what the user owns, or what waits for them."""
    from initiatives import selectors

    user = context["user"]
    data = {
        "user": user,
        "request": context.get("request"),
        "may_create": policy.can(user, "initiative.create"),
        "is_executive": policy.is_executive(user),
        "sees_everything": policy.sees_everything(user),
    }
    if data["may_create"]:
        mine = selectors.initiative_queryset(user=user).filter(owner=user)
        data["my_counts"] = selectors.status_counts(mine)
        data["my_total"] = sum(data["my_counts"].values())
        data["my_recent"] = list(mine.order_by("-updated_at", "-id")[:6])
    if data["is_executive"]:
        data["sign_offs"] = list(selectors.pending_sign_offs(user=user)[:6])
        data["proposals"] = list(selectors.pending_change_proposals(user=user)[:6])
        data["waiting_total"] = selectors.awaiting_count(user=user)
    if data["sees_everything"]:
        data["portfolio_counts"] = selectors.status_counts(selectors.initiative_queryset(user=user))
        data["portfolio_total"] = sum(data["portfolio_counts"].values())
    return data


@register.simple_tag
def password_reset_enabled() -> bool:
    """`{% password_reset_enabled as reset %}`: local passwords can be reset (not while OIDC_ONLY)."""
    from portfolio.password_reset import password_reset_enabled as enabled

    return enabled()
