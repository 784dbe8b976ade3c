"""The initiative workflow as one table (PRODUCT.md §2).

Each step an initiative, or a change proposal of a running initiative, can take is a row:
the states it leaves from, the state it reaches, who may take it, whether it needs a
reason, and the words people see. The rest of the app reads these rows instead of
spelling them out again:

- `initiatives.rules` turns them into the permission rules registered with `portfolio.policy`;
- `initiatives.services` sets the state, appends the timeline entry and checks the reason;
- the web views and templates show the buttons, confirmation pages and notices;
- `initiatives.api.views` serves one POST action per status step, documented from its rows.

Whether a reason is required is decided by `reason_required` alone: the web form fields, the
services (so the API too) ask `reason_error`, which asks it, and all three say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models

from .choices import Action, Health, ProposalStatus, Status

REASON_MAX = 2000

# Groups of states the table and the rules refer to.
EDITABLE = frozenset({Status.DRAFT, Status.REJECTED})  # its owner may edit it (and submit it)
RUNNING = frozenset({Status.APPROVED, Status.IN_PROGRESS})  # share, lane and sponsors change only by proposal
OPEN = frozenset({Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.IN_PROGRESS, Status.REJECTED})
CLOSED = frozenset({Status.DONE, Status.CANCELLED})  # reaching one withdraws the pending change proposal


class Who(models.TextChoices):
    """Who may take a step, relative to the object it acts on; `initiatives.rules` gives each its test."""

    OWNER = "owner", "the owner"  # the PM who owns the initiative
    OWNER_OR_SPONSOR = "owner_or_sponsor", "the owner or a sponsor"
    SPONSOR = "sponsor", "a sponsor"  # an executive sponsoring the initiative
    UNDECIDED_SPONSOR = "undecided_sponsor", "a sponsor who has not yet decided"  # of a submitted initiative
    UNDECIDED_CHANGE_SPONSOR = "undecided_change_sponsor", "a sponsor who has not yet approved the change"
    PROPOSER = "proposer", "the person who proposed the change"


@dataclass(frozen=True)
class Reason:
    """Whether a step asks why, how it asks, and what it says when the answer is missing."""

    required: bool = False
    prompt: str = "Comment (optional)"
    missing: str = ""
    optional_for: frozenset[str] = frozenset()  # choices of the step (a new health) that need no reason


OPTIONAL = Reason()


@dataclass(frozen=True)
class Step:
    """One row of the workflow table."""

    action: str  # the policy action deciding who may take it, e.g. "initiative.submit"
    record: str  # the timeline entry it appends (an Action)
    from_states: frozenset[str]  # statuses of the object it acts on: an initiative, or a change proposal
    to_state: str  # the status it reaches; "" leaves the status as it is
    who: Who
    button: str  # the label of the button that takes it
    done: str  # the notice once it is taken; {code} is the initiative's code
    refused: str  # what the service says when the policy refuses (the state changed under the caller's feet)
    reason: Reason = OPTIONAL
    title: str = ""  # heading of its confirmation page; the button's label when empty
    explain: str = ""  # what happens next, on the confirmation page
    tone: str = "primary"  # Bootstrap colour of its button
    quiet: bool = False  # among the other buttons of the initiative's page, a grey outline (it ends something)
    ask_comment: bool = False  # beside the one-click button, a link to take it with a comment
    dual_sign_off: bool = False  # to_state is reached when the second sponsor takes it
    done_when_reached: str = ""  # the notice when a dual sign-off step reaches to_state
    record_when_reached: str = ""  # the timeline entry then, when it differs from `record`
    initiative_states: frozenset[str] = frozenset()  # change proposal steps: the initiative must be in one

    @property
    def verb(self) -> str:
        """Its name in URLs, API actions and templates: `submit`, `approve`, `propose_change`…"""
        return self.action.partition(".")[2]

    @property
    def heading(self) -> str:
        return self.title or self.button

    def notice(self, *, reached: bool = False, **values: object) -> str:
        """The notice once taken; `reached`: a dual sign-off step reached its state (both sponsors took it)."""
        text = self.done_when_reached if reached and self.done_when_reached else self.done
        return text.format(**values)


# --- the status workflow: draft → submitted → approved → in_progress → done ----------------------------

SUBMIT = Step(
    action="initiative.submit",
    record=Action.SUBMIT,
    from_states=frozenset({Status.DRAFT}),
    to_state=Status.SUBMITTED,
    who=Who.OWNER,
    button="Submit for approval",
    done="{code} was submitted: both sponsors have been notified.",
    refused="Only the owner may submit a draft or rejected initiative.",
    explain="Both sponsors will be asked to approve it, its estimated cost in view (it needs one). "
    "You cannot edit it while it waits.",
)
RESUBMIT = Step(
    action="initiative.submit",
    record=Action.RESUBMIT,
    from_states=frozenset({Status.REJECTED}),
    to_state=Status.SUBMITTED,
    who=Who.OWNER,
    button="Resubmit for approval",
    done="{code} was resubmitted: both sponsors have been notified.",
    refused="Only the owner may submit a draft or rejected initiative.",
    explain="Both sponsors will be asked to approve it again, its estimated cost in view (it needs one). "
    "You cannot edit it while it waits.",
)
APPROVE = Step(
    action="initiative.approve",
    record=Action.APPROVE,
    from_states=frozenset({Status.SUBMITTED}),
    to_state=Status.APPROVED,
    dual_sign_off=True,
    who=Who.UNDECIDED_SPONSOR,
    button="Approve",
    done="You approved {code}.",
    done_when_reached="You approved {code}: both sponsors have signed off, it is approved.",
    refused="Only a sponsor who has not yet decided may approve.",
    explain="It becomes approved when both sponsors have approved it.",
    tone="success",
    ask_comment=True,
)
REJECT = Step(
    action="initiative.reject",
    record=Action.REJECT,
    from_states=frozenset({Status.SUBMITTED}),
    to_state=Status.REJECTED,
    who=Who.UNDECIDED_SPONSOR,
    reason=Reason(
        required=True,
        prompt="Why are you rejecting it? What should the owner change?",
        missing="Give a reason so the owner knows what to change.",
    ),
    button="Reject",
    done="You rejected {code}; the owner has been told why.",
    refused="Only a sponsor who has not yet decided may reject.",
    explain="The owner may revise it and submit it again.",
    tone="danger",
)
START = Step(
    action="initiative.start",
    record=Action.START,
    from_states=frozenset({Status.APPROVED}),
    to_state=Status.IN_PROGRESS,
    who=Who.OWNER_OR_SPONSOR,
    button="Start work",
    done="{code} is now in progress.",
    refused="You may not start this initiative in its current state.",
)
COMPLETE = Step(
    action="initiative.complete",
    record=Action.COMPLETE,
    from_states=frozenset({Status.IN_PROGRESS}),
    to_state=Status.DONE,
    who=Who.OWNER_OR_SPONSOR,
    button="Mark as done",
    done="{code} is done.",
    refused="You may not complete this initiative in its current state.",
    tone="success",
)
CANCEL = Step(
    action="initiative.cancel",
    record=Action.CANCEL,
    from_states=OPEN,
    to_state=Status.CANCELLED,
    who=Who.SPONSOR,
    reason=Reason(required=True, prompt="Why is it cancelled?", missing="Give a reason for cancelling."),
    button="Cancel the initiative",
    done="{code} was cancelled.",
    refused="You may not cancel this initiative in its current state.",
    explain="Cancelling cannot be undone.",
    tone="danger",
    quiet=True,
)

# --- steps on a running initiative that leave its status as it is --------------------------------------

PROPOSE_CHANGE = Step(
    action="initiative.propose_change",
    record=Action.PROPOSE_CHANGE,
    from_states=RUNNING,
    to_state="",
    who=Who.OWNER_OR_SPONSOR,
    reason=Reason(
        required=True,
        prompt="Why is this change needed?",
        missing="Explain why the change is needed: both sponsors will read it.",
    ),
    button="Propose a change",
    done="Your change waits for both sponsors; the initiative keeps its current values until then.",
    refused="Only the owner or a sponsor may propose a change.",
)
UPDATE_HEALTH = Step(
    action="initiative.update_health",
    record=Action.HEALTH,
    from_states=RUNNING,
    to_state="",
    who=Who.OWNER_OR_SPONSOR,
    reason=Reason(
        required=True,
        prompt="What is going on?",
        missing="Give a reason when health is amber or red.",
        optional_for=frozenset({Health.GREEN}),
    ),
    button="Update health",
    done="Health of {code} is now {health}.",
    refused="Only the owner or a sponsor updates health while it runs.",
)

# --- a change proposal: pending → applied (both sponsors) | rejected | withdrawn ------------------------

APPROVE_CHANGE = Step(
    action="change_proposal.approve",
    record=Action.APPROVE_CHANGE,
    from_states=frozenset({ProposalStatus.PENDING}),
    to_state=ProposalStatus.APPLIED,
    initiative_states=RUNNING,
    dual_sign_off=True,
    record_when_reached=Action.APPLY_CHANGE,
    who=Who.UNDECIDED_CHANGE_SPONSOR,
    button="Approve change",
    title="Approve the change",
    done="You approved the change.",
    done_when_reached="Both sponsors approved: the change is now applied.",
    refused="Only a sponsor who has not yet approved may approve this change.",
    explain="It is applied when both sponsors have approved it.",
    tone="success",
)
REJECT_CHANGE = Step(
    action="change_proposal.reject",
    record=Action.REJECT_CHANGE,
    from_states=frozenset({ProposalStatus.PENDING}),
    to_state=ProposalStatus.REJECTED,
    initiative_states=RUNNING,
    who=Who.UNDECIDED_CHANGE_SPONSOR,
    reason=Reason(
        required=True, prompt="Why do you reject this change?", missing="Give a reason for rejecting the change."
    ),
    button="Reject change",
    title="Reject the change",
    done="You rejected the change; the initiative keeps its values.",
    refused="Only a sponsor who has not yet approved may reject this change.",
    explain="The initiative keeps its current values.",
    tone="danger",
)
WITHDRAW_CHANGE = Step(
    action="change_proposal.withdraw",
    record=Action.WITHDRAW_CHANGE,
    from_states=frozenset({ProposalStatus.PENDING}),
    to_state=ProposalStatus.WITHDRAWN,
    who=Who.PROPOSER,
    button="Withdraw",
    title="Withdraw the change",
    done="You withdrew the change.",
    refused="Only the person who proposed a pending change may withdraw it.",
    quiet=True,
)

# --- the tables ---------------------------------------------------------------------------------------

STATUS_STEPS = (SUBMIT, RESUBMIT, APPROVE, REJECT, START, COMPLETE, CANCEL)  # each moves the status
INITIATIVE_STEPS = (*STATUS_STEPS, PROPOSE_CHANGE, UPDATE_HEALTH)  # each acts on an initiative
PROPOSAL_STEPS = (APPROVE_CHANGE, REJECT_CHANGE, WITHDRAW_CHANGE)  # each acts on a pending change proposal
ACTION_BAR = (SUBMIT, RESUBMIT, APPROVE, REJECT, START, COMPLETE, PROPOSE_CHANGE, CANCEL)  # initiative page order
STATUS_VERBS = tuple(dict.fromkeys(step.verb for step in STATUS_STEPS))  # submit, approve, reject, …


def status_step(verb: str, status: str) -> Step | None:
    """The status step `verb` names from `status` (`submit` from a draft, a resubmission from a rejection).

    When no step of that verb leaves from `status`, its first step (which the policy then refuses);
    None when no step has that verb.
    """
    steps = [step for step in STATUS_STEPS if step.verb == verb]
    return next((step for step in steps if status in step.from_states), steps[0] if steps else None)


def proposal_step(verb: str) -> Step | None:
    """The change proposal step `verb` names (`approve`, `reject`, `withdraw`), or None."""
    return next((step for step in PROPOSAL_STEPS if step.verb == verb), None)


# --- the reason rule ------------------------------------------------------------------------------------


def reason_required(step: Step, *, choice: str = "") -> bool:
    """The one rule: does taking `step` (with `choice`, e.g. the new health) need a reason?"""
    return step.reason.required and choice not in step.reason.optional_for


def reason_error(step: Step, reason: str | None, *, choice: str = "") -> str:
    """What is wrong with `reason` for `step`: missing though required, or too long ('' when nothing)."""
    text = (reason or "").strip()
    if not text and reason_required(step, choice=choice):
        return step.reason.missing
    if len(text) > REASON_MAX:
        return f"Keep the reason under {REASON_MAX:,} characters (it has {len(text):,})."
    return ""


def clean_reason(step: Step, reason: str | None, *, choice: str = "") -> str:
    """The reason as recorded (trimmed); ValidationError({'reason': …}) when `reason_error` objects."""
    error = reason_error(step, reason, choice=choice)
    if error:
        raise ValidationError({"reason": error})
    return (reason or "").strip()
