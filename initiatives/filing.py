"""The filing form's field rules (PRODUCT.md §2): one validation of an initiative's fields.

`validated_fields` checks every rule at once (title, summary, sponsors of the right side, lane,
dates that strand no budget line, share, estimate, health, platforms, the lane assessment and its
justification) and returns the values to save. The services call it when they create or update an
initiative, the filing form through `initiative_field_errors` to show every problem at once, and the
change proposals reuse its share and sponsor rules (`clean_share`, `check_sponsors`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Required, TypedDict

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError

from portfolio import plan_months, policy

from . import estimates
from .choices import Health, Lane, Side
from .lane_assessment import QUESTION_KEYS, assess_lane, justification_required
from .models import Initiative
from .workflow import REASON_MAX

TITLE_MAX = 200
SUMMARY_MAX = 5000


class InitiativeFields(TypedDict, total=False):
    """What the filing form asks: the keyword arguments of `initiative_create` and `initiative_update`."""

    title: Required[str]
    summary: Required[str]
    marketing_sponsor: Required[Any]
    it_sponsor: Required[Any]
    lane: Required[str]
    start_date: Required[dt.date | None]
    end_date: Required[dt.date | None]
    marketing_share_pct: Required[object]
    health: str  # required by `initiative_update`; a new initiative starts green
    platforms: Iterable[Initiative]
    lane_assessment: Required[Mapping[str, object]]
    lane_justification: str
    estimated_cost: object  # optional on a draft (None), required to submit (`estimates.submission_errors`)


def is_executive_of(user: AbstractBaseUser | None, side: str) -> bool:
    return user is not None and policy.is_executive(user) and policy.side(user) == side


def clean_share(value: object, errors: dict[str, str], field: str = "marketing_share_pct") -> Decimal | None:
    try:
        share = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        errors[field] = "Enter marketing's share as a number between 0 and 100, for example 60 or 62.5."
        return None
    if not share.is_finite():
        errors[field] = "Enter marketing's share as a number between 0 and 100, for example 60 or 62.5."
        return None
    if not Decimal(0) <= share <= Decimal(100):
        errors[field] = "Marketing's share must be between 0 and 100 %."
        return None
    if share != share.quantize(Decimal("0.01")):
        errors[field] = "Use at most two decimal places, for example 62.55."
        return None
    return share.quantize(Decimal("0.01"))


def check_sponsors(marketing_sponsor, it_sponsor, errors: dict[str, str]) -> None:
    if marketing_sponsor is not None and not is_executive_of(marketing_sponsor, Side.MARKETING):
        errors["marketing_sponsor"] = "The marketing sponsor must be an executive on the marketing side."
    if it_sponsor is not None and not is_executive_of(it_sponsor, Side.IT):
        errors["it_sponsor"] = "The IT sponsor must be an executive on the IT side."


def lane_move_error(initiative: Initiative, lane: str) -> str:
    """Why a running `initiative` cannot move to `lane` ('' when it can): one that builds on platforms
    cannot move to the core stack, a platform others build on cannot move to the fast lane. Change
    proposals and scenarios both ask it."""
    if lane == Lane.CORE_STACK and initiative.platforms.exists():
        return "This initiative builds on platforms; a core-stack initiative cannot."
    if lane == Lane.FAST_LANE and initiative.dependents.exists():
        return "Other initiatives build on this one as a platform; a platform must stay core-stack."
    return ""


def check_platforms(
    *, initiative: Initiative | None, lane: str, platforms: list[Initiative], errors: dict[str, str]
) -> None:
    if not platforms:
        return
    if lane != Lane.FAST_LANE:
        errors["platforms"] = "Only a fast-lane initiative builds on platforms: remove them or choose the fast lane."
        return
    if initiative is not None and initiative.pk and any(p.pk == initiative.pk for p in platforms):
        errors["platforms"] = "An initiative cannot be its own platform."
        return
    not_core = [p.code for p in platforms if p.lane != Lane.CORE_STACK]
    if not_core:
        errors["platforms"] = f"Platforms must be core-stack initiatives; {', '.join(not_core)} is not."


def validated_fields(
    *,
    initiative: Initiative | None,
    by: AbstractBaseUser,
    title: str,
    summary: str,
    marketing_sponsor,
    it_sponsor,
    lane: str,
    start_date: dt.date | None,
    end_date: dt.date | None,
    marketing_share_pct: object,
    health: str,
    platforms: Iterable[Initiative] = (),
    lane_assessment: Mapping[str, object],
    lane_justification: str = "",
    estimated_cost: object = None,
) -> tuple[dict[str, object], list[Initiative]]:
    """Check every field rule of the filing form at once; raise ValidationError listing them all."""
    errors: dict[str, str] = {}
    title = (title or "").strip()
    summary = (summary or "").strip()
    lane_justification = (lane_justification or "").strip()
    platforms = list(platforms)

    if not title:
        errors["title"] = "Give the initiative a title."
    elif len(title) > TITLE_MAX:
        errors["title"] = f"Keep the title under {TITLE_MAX} characters (it has {len(title)})."
    if not summary:
        errors["summary"] = "Describe the business outcome this initiative serves."
    elif len(summary) > SUMMARY_MAX:
        errors["summary"] = f"Keep the summary under {SUMMARY_MAX} characters (it has {len(summary)})."
    if not policy.is_pm(by):
        errors["owner"] = "The owner of an initiative must be a product manager."
    if marketing_sponsor is None:
        errors["marketing_sponsor"] = "Choose the marketing executive who sponsors this initiative."
    if it_sponsor is None:
        errors["it_sponsor"] = "Choose the IT executive who sponsors this initiative."
    check_sponsors(marketing_sponsor, it_sponsor, errors)
    if lane not in Lane.values:
        errors["lane"] = "Choose the fast lane or the core stack."
    if start_date is None:
        errors["start_date"] = "Enter the start date."
    if end_date is None:
        errors["end_date"] = "Enter the end date."
    if start_date and end_date and end_date < start_date:
        errors["end_date"] = "The end date cannot be before the start date."
    elif initiative is not None and initiative.pk and start_date and end_date:
        # Budget lines lie in months the initiative runs (PRODUCT.md §2): new dates may not strand
        # any. initiative_update asks with the row locked, and budget writes lock the same row.
        for field, message in plan_months.dates_change_errors(initiative.pk, start_date, end_date).items():
            errors.setdefault(field, message)
    share = clean_share(marketing_share_pct, errors)
    estimate = estimates.clean_estimated_cost(estimated_cost, errors)
    if health not in Health.values:
        errors["health"] = "Choose green, amber or red."
    check_platforms(initiative=initiative, lane=lane, platforms=platforms, errors=errors)

    assessment = assess_lane(lane_assessment)
    for key in assessment.missing:
        errors[f"assessment_{key}"] = "Answer this question."
    if len(lane_justification) > REASON_MAX:
        errors["lane_justification"] = f"Keep the justification under {REASON_MAX} characters."
    elif (
        assessment.complete
        and lane in Lane.values
        and justification_required(chosen_lane=lane, recommended=assessment.recommended)
        and not lane_justification
    ):
        errors["lane_justification"] = (
            f"The assessment recommends the {assessment.recommended_label.lower()}: "
            "explain why this initiative belongs in the other lane."
        )
    if errors:
        raise ValidationError(errors)

    return {
        "title": title,
        "summary": summary,
        "marketing_sponsor": marketing_sponsor,
        "it_sponsor": it_sponsor,
        "lane": lane,
        "start_date": start_date,
        "end_date": end_date,
        "marketing_share_pct": share,
        "estimated_cost": estimate,
        "health": health,
        "lane_assessment": {key: lane_assessment[key] for key in QUESTION_KEYS},
        "lane_recommended": assessment.recommended,
        "lane_justification": lane_justification if lane != assessment.recommended else "",
    }, platforms


def initiative_field_errors(**fields) -> dict[str, str]:
    """The field rules' complaint per field about a filing ({} when valid), without saving anything.

    Forms call it so that every problem (end before start, a sponsor of the
    wrong side…) shows at once next to its field; the services apply the
    same rules again when they save.
    """
    try:
        validated_fields(**fields)
    except ValidationError as error:
        return {field: messages[0] for field, messages in error.message_dict.items()}
    return {}


def initiative_submission_errors(*, initiative: Initiative) -> dict[str, str]:
    """What `initiative` lacks before it may be submitted ({} when nothing): the filing form shows it
    next to its field, the submit step refuses with it (web and API alike)."""
    return estimates.submission_errors(estimated_cost=initiative.estimated_cost)
