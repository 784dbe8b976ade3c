"""The lane assessment (PRODUCT.md §2): six answers in, a recommended lane and its reasons out.

A pure module — no database, no web — so the rule reads in one screen and is
tested on its own. Each answer adds weight to the fast lane (high speed:
customer-facing, experimental, quick, short-lived work) or to the core stack
(high torque: systems of record, regulated data, long-lived, proven work).
The heavier lane wins; a tie goes to the core stack, the safer default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .choices import Lane

YES, NO = "yes", "no"
YES_NO = ((YES, "Yes"), (NO, "No"))


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    choices: tuple[tuple[str, str], ...]
    help_text: str = ""


QUESTIONS: tuple[Question, ...] = (
    Question("customer_facing", "Is it customer-facing?", YES_NO, "Customers see or use it directly."),
    Question(
        "maturity",
        "Is it an experiment or a proven capability?",
        (("experiment", "An experiment"), ("proven", "Proven")),
        "An experiment tests an idea that may be dropped.",
    ),
    Question(
        "quick_time_to_market",
        "Must it reach the market in under a quarter?",
        YES_NO,
        "Live within three months of approval.",
    ),
    Question(
        "systems_of_record",
        "Does it touch systems of record such as ERP, CRM or billing?",
        YES_NO,
        "Writes to or changes the enterprise systems the business runs on.",
    ),
    Question(
        "regulated_data",
        "Does it handle regulated data?",
        YES_NO,
        "Personal, payment, health or financial data under regulation.",
    ),
    Question(
        "lifespan",
        "What is its expected lifespan?",
        (("short", "Under a year"), ("medium", "One to three years"), ("long", "More than three years")),
    ),
)
QUESTION_KEYS = tuple(q.key for q in QUESTIONS)

# (question, answer) → (lane it argues for, weight, the reason in plain words)
_RULES: dict[tuple[str, str], tuple[str, int, str]] = {
    ("customer_facing", YES): (Lane.FAST_LANE, 1, "Customer-facing work benefits from quick iterations."),
    ("customer_facing", NO): (Lane.CORE_STACK, 1, "Internal work fits the enterprise release process."),
    ("maturity", "experiment"): (Lane.FAST_LANE, 2, "An experiment should be cheap to start and easy to stop."),
    ("maturity", "proven"): (Lane.CORE_STACK, 1, "A proven capability is worth industrialising."),
    ("quick_time_to_market", YES): (Lane.FAST_LANE, 1, "A time-to-market under a quarter needs a short path."),
    ("quick_time_to_market", NO): (
        Lane.CORE_STACK,
        1,
        "A longer time-to-market leaves room for full release controls.",
    ),
    ("systems_of_record", YES): (
        Lane.CORE_STACK,
        2,
        "Changes to systems of record (ERP, CRM, billing) need the core stack's controls.",
    ),
    ("systems_of_record", NO): (Lane.FAST_LANE, 1, "It stays clear of the systems of record."),
    ("regulated_data", YES): (Lane.CORE_STACK, 2, "Regulated data needs the core stack's compliance controls."),
    ("regulated_data", NO): (Lane.FAST_LANE, 1, "No regulated data is involved."),
    ("lifespan", "short"): (Lane.FAST_LANE, 1, "A short lifespan does not justify heavy engineering."),
    ("lifespan", "long"): (Lane.CORE_STACK, 1, "A long lifespan calls for a maintainable, supported platform."),
    ("lifespan", "medium"): ("", 0, "A medium lifespan fits either lane."),
}


@dataclass(frozen=True)
class Assessment:
    """What the answers recommend; `recommended` is '' until every question is answered."""

    recommended: str
    reasons: list[str] = field(default_factory=list)  # the answers that argue for the recommendation
    counter_reasons: list[str] = field(default_factory=list)  # the answers that argue for the other lane
    scores: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def recommended_label(self) -> str:
        return Lane(self.recommended).label if self.recommended else ""


def clean_answers(answers: Mapping[str, object]) -> dict[str, str]:
    """Keep only known questions with allowed answers (anything else is treated as unanswered)."""
    allowed = {q.key: {value for value, _ in q.choices} for q in QUESTIONS}
    cleaned = {}
    for key in QUESTION_KEYS:
        value = answers.get(key)
        if isinstance(value, str) and value in allowed[key]:
            cleaned[key] = value
    return cleaned


def assess_lane(answers: Mapping[str, object]) -> Assessment:
    """Recommend a lane from the questionnaire answers, with the reasons for and against."""
    cleaned = clean_answers(answers)
    scores = {Lane.FAST_LANE.value: 0, Lane.CORE_STACK.value: 0}
    argued: list[tuple[str, str]] = []
    for key in QUESTION_KEYS:
        if key not in cleaned:
            continue
        lane, weight, reason = _RULES[(key, cleaned[key])]
        if lane:
            scores[lane] += weight
            argued.append((lane, reason))
    missing = [key for key in QUESTION_KEYS if key not in cleaned]
    if missing:
        return Assessment(recommended="", scores=scores, missing=missing)
    recommended = Lane.FAST_LANE.value if scores[Lane.FAST_LANE] > scores[Lane.CORE_STACK] else Lane.CORE_STACK.value
    return Assessment(
        recommended=recommended,
        reasons=[reason for lane, reason in argued if lane == recommended],
        counter_reasons=[reason for lane, reason in argued if lane != recommended],
        scores=scores,
    )


def justification_required(*, chosen_lane: str, recommended: str) -> bool:
    """Choosing the lane the assessment did not recommend needs a written justification.

    No lane chosen yet is not a choice against the recommendation.
    """
    return bool(recommended) and bool(chosen_lane) and chosen_lane != recommended
