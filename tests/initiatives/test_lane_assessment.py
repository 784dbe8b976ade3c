"""The lane assessment rule: a pure function, tested without a database."""

import itertools

import pytest

from initiatives.lane_assessment import QUESTIONS, assess_lane, clean_answers, justification_required

FAST = {
    "customer_facing": "yes",
    "maturity": "experiment",
    "quick_time_to_market": "yes",
    "systems_of_record": "no",
    "regulated_data": "no",
    "lifespan": "short",
}
CORE = {
    "customer_facing": "no",
    "maturity": "proven",
    "quick_time_to_market": "no",
    "systems_of_record": "yes",
    "regulated_data": "yes",
    "lifespan": "long",
}


def test_a_customer_facing_experiment_goes_to_the_fast_lane_with_its_reasons():
    result = assess_lane(FAST)
    assert result.recommended == "fast_lane"
    assert result.recommended_label == "Fast lane"
    assert "An experiment should be cheap to start and easy to stop." in result.reasons
    assert result.counter_reasons == []


def test_systems_of_record_and_regulated_data_go_to_the_core_stack():
    result = assess_lane(CORE)
    assert result.recommended == "core_stack"
    assert any("systems of record" in reason for reason in result.reasons)
    assert any("Regulated data" in reason for reason in result.reasons)


def test_touching_billing_with_regulated_data_outweighs_a_customer_facing_experiment():
    answers = {**FAST, "systems_of_record": "yes", "regulated_data": "yes"}
    result = assess_lane(answers)
    # fast: customer 1 + experiment 2 + quick 1 + short 1 = 5; core: 2 + 2 = 4 → still fast
    assert result.scores == {"fast_lane": 5, "core_stack": 4}
    assert result.recommended == "fast_lane"
    assert len(result.counter_reasons) == 2


def test_a_tie_goes_to_the_core_stack():
    answers = {
        "customer_facing": "yes",  # fast 1
        "maturity": "proven",  # core 1
        "quick_time_to_market": "yes",  # fast 1
        "systems_of_record": "yes",  # core 2
        "regulated_data": "no",  # fast 1
        "lifespan": "long",  # core 1
    }
    result = assess_lane(answers)
    assert result.scores == {"fast_lane": 3, "core_stack": 4}
    assert result.recommended == "core_stack"
    tie = {**answers, "lifespan": "medium"}
    assert assess_lane(tie).scores == {"fast_lane": 3, "core_stack": 3}
    assert assess_lane(tie).recommended == "core_stack"


def test_no_recommendation_until_every_question_is_answered():
    partial = {key: FAST[key] for key in list(FAST)[:3]}
    result = assess_lane(partial)
    assert result.recommended == ""
    assert not result.complete
    assert result.missing == ["systems_of_record", "regulated_data", "lifespan"]


def test_unknown_answers_and_questions_count_as_unanswered():
    answers = {**FAST, "maturity": "maybe", "favourite_colour": "blue", "lifespan": 3}
    assert clean_answers(answers) == {k: v for k, v in FAST.items() if k not in ("maturity", "lifespan")}
    assert assess_lane(answers).missing == ["maturity", "lifespan"]


def test_every_combination_of_answers_yields_a_lane_and_at_least_one_reason():
    choices = [[value for value, _ in question.choices] for question in QUESTIONS]
    for combination in itertools.product(*choices):
        answers = dict(zip([q.key for q in QUESTIONS], combination, strict=True))
        result = assess_lane(answers)
        assert result.recommended in ("fast_lane", "core_stack")
        assert result.reasons


@pytest.mark.parametrize(
    "chosen, recommended, required",
    [
        ("fast_lane", "fast_lane", False),
        ("core_stack", "fast_lane", True),
        ("fast_lane", "core_stack", True),
        ("fast_lane", "", False),
        ("", "fast_lane", False),  # no lane chosen yet: nothing to justify (issue 14)
        ("", "core_stack", False),
    ],
)
def test_choosing_the_other_lane_needs_a_justification(chosen, recommended, required):
    assert justification_required(chosen_lane=chosen, recommended=recommended) is required
