"""Notifications of the initiative workflow (PRODUCT.md §2: every transition notifies the people concerned).

Called by the services through `transaction.on_commit`, so nobody is told of
a change that was rolled back. A mail server that is down never undoes or
hides a transition that already happened: the failure is logged.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage, mailers
from django.template.loader import render_to_string
from django.urls import reverse

from .choices import Action, Status
from .models import InitiativeTransition

logger = logging.getLogger(__name__)

# Who hears about what, besides the person who did it.
_OWNER_AND_SPONSORS = ("owner", "marketing_sponsor", "it_sponsor")
RECIPIENTS: dict[str, tuple[str, ...]] = {
    Action.SUBMIT: ("marketing_sponsor", "it_sponsor"),
    Action.RESUBMIT: ("marketing_sponsor", "it_sponsor"),
    Action.APPROVE: _OWNER_AND_SPONSORS,
    Action.REJECT: _OWNER_AND_SPONSORS,
    Action.START: _OWNER_AND_SPONSORS,
    Action.COMPLETE: _OWNER_AND_SPONSORS,
    Action.CANCEL: _OWNER_AND_SPONSORS,
    Action.HEALTH: _OWNER_AND_SPONSORS,
    Action.PROPOSE_CHANGE: _OWNER_AND_SPONSORS,
    Action.APPROVE_CHANGE: _OWNER_AND_SPONSORS,
    Action.APPLY_CHANGE: _OWNER_AND_SPONSORS,
    Action.REJECT_CHANGE: _OWNER_AND_SPONSORS,
    Action.WITHDRAW_CHANGE: _OWNER_AND_SPONSORS,
}


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def headline(entry: InitiativeTransition) -> str:
    """One line saying what happened, e.g. 'approved by Carla Diaz — now waiting for the IT sponsor'."""
    who = display_name(entry.by)
    if entry.action == Action.APPROVE:
        if entry.to_status == Status.APPROVED:
            return f"approved by {who}: both sponsors have signed off"
        waiting = "IT sponsor" if entry.by_id == entry.initiative.marketing_sponsor_id else "marketing sponsor"
        return f"approved by {who}, waiting for the {waiting}"
    return f"{entry.get_action_display().lower()} by {who}"


def transition_notify(*, transition_id: int) -> int:
    """E-mail the people concerned by one timeline entry; returns how many messages were sent."""
    entry = (
        InitiativeTransition.objects.select_related(
            "by", "initiative", "initiative__owner", "initiative__marketing_sponsor", "initiative__it_sponsor"
        )
        .filter(pk=transition_id)
        .first()
    )
    if entry is None:
        return 0
    initiative = entry.initiative
    recipients = []
    for role in RECIPIENTS.get(entry.action, ()):
        person = getattr(initiative, role)
        if person.pk != entry.by_id and person.email and person not in recipients:
            recipients.append(person)
    if entry.proposal_id and entry.action != Action.PROPOSE_CHANGE:
        proposer = entry.proposal.proposed_by
        if proposer.pk != entry.by_id and proposer.email and proposer not in recipients:
            recipients.append(proposer)
    if not recipients:
        return 0

    link = settings.SITE_URL.rstrip("/") + reverse("initiatives:detail", args=[initiative.code])
    summary = headline(entry)
    messages = []
    for person in recipients:
        context = {
            "recipient": person,
            "recipient_name": display_name(person),
            "entry": entry,
            "initiative": initiative,
            "headline": summary,
            "actor_name": display_name(entry.by),
            "link": link,
            "proposal": entry.proposal,
        }
        subject = " ".join(render_to_string("initiatives/emails/transition_subject.txt", context).split())
        body = render_to_string("initiatives/emails/transition_body.txt", context)
        messages.append(EmailMessage(subject=subject, body=body, to=[person.email]))
    try:
        return mailers.default.send_messages(messages) or 0
    except Exception:  # the transition stands; a mail outage must not turn it into an error page
        logger.exception("could not send the notification of %s", entry)
        return 0
