"""Every kind of notification the product sends: who may get it, what it says, its e-mail, and
whether the bell and e-mail are on until the person changes them (ADR 0046).

A kind's `title` is a format string over the `data` its caller passes to `notify()`; values are
plain text (the page escapes them, the e-mail's text part is text). `title_many` is used for a
grouped row standing for several events (`{count}` is then available too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

CLIENT, CONTRACTOR, ADMIN = "client", "contractor", "admin"
PARTIES = frozenset({CLIENT, CONTRACTOR})


@dataclass(frozen=True)
class Group:
    key: str
    label: str


GROUPS: tuple[Group, ...] = (
    Group("proposals", "Jobs and proposals"),
    Group("contracts", "Contracts"),
    Group("money", "Escrow and payments"),
    Group("messages", "Messages"),
    Group("account", "Account and company"),
    Group("operations", "Marketplace operations"),
)
GROUP_KEYS = frozenset(g.key for g in GROUPS)


@dataclass(frozen=True)
class Kind:
    name: str
    group: str
    # What the preferences page calls it ("Work submitted for your review").
    label: str
    title: str
    # E-mail: templates/emails/<email_template>.{txt,html}; subject is a format string like title.
    email_template: str
    subject: str
    roles: frozenset[str] = PARTIES
    in_app: bool = True
    email: bool = True
    title_many: str | None = None
    # Wait this long before e-mailing, and send nothing if the person read it meanwhile.
    email_after: timedelta | None = None
    # Toast level on an open page.
    level: str = "info"

    def render(self, text: str, data: dict[str, Any], count: int = 1) -> str:
        values = _Defaults(data)
        values["count"] = count
        return text.format_map(values)

    def title_for(self, data: dict[str, Any], count: int = 1) -> str:
        text = self.title_many if count > 1 and self.title_many else self.title
        return self.render(text, data, count)

    def subject_for(self, data: dict[str, Any], count: int = 1) -> str:
        return self.render(self.subject, data, count)


class _Defaults(dict):
    """A missing value reads as an empty string instead of failing a notification."""

    def __missing__(self, key: str) -> str:
        return ""


KINDS: dict[str, Kind] = {}


def kind(**fields: Any) -> Kind:
    k = Kind(**fields)
    if k.group not in GROUP_KEYS:
        raise ValueError(f"kind {k.name!r}: unknown group {k.group!r}")
    if k.name in KINDS:
        raise ValueError(f"kind {k.name!r} is declared twice")
    KINDS[k.name] = k
    return k


def get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise LookupError(f"no notification kind {name!r}; declare it in app/notifications/kinds.py") from None


def words_of(kind_name: str, data: dict[str, Any] | None, count: int, said: str) -> str:
    """What a notification says now: its kind's words over its values (a grouped row says how
    many), else `said`, the words stored when it was made (a kind retired since)."""
    kind = KINDS.get(kind_name)
    return (kind.title_for(data or {}, count) if kind is not None else "") or said


def kinds_for(role: str) -> list[Kind]:
    """The kinds a person with `role` can receive, in the order of GROUPS."""
    order = {g.key: i for i, g in enumerate(GROUPS)}
    return sorted((k for k in KINDS.values() if role in k.roles), key=lambda k: order[k.group])


# ---------------------------------------------------------------- jobs and proposals --
kind(
    name="proposal.received",
    group="proposals",
    roles=frozenset({CLIENT}),
    label="A contractor sends a proposal for your job",
    title="{contractor} sent a proposal for “{job}”.",
    subject="New proposal for “{job}”",
    email_template="notify_proposal_received",
)
kind(
    name="proposal.shortlisted",
    group="proposals",
    roles=frozenset({CONTRACTOR}),
    label="Your proposal is shortlisted",
    title="Your proposal for “{job}” is shortlisted.",
    subject="Shortlisted: “{job}”",
    email_template="notify_proposal_decided",
)
kind(
    name="proposal.accepted",
    group="proposals",
    roles=frozenset({CONTRACTOR}),
    label="Your proposal is accepted",
    title="{client} accepted your proposal for “{job}”.",
    subject="Accepted: your proposal for “{job}”",
    email_template="notify_proposal_decided",
)
kind(
    name="proposal.declined",
    group="proposals",
    roles=frozenset({CONTRACTOR}),
    label="Your proposal is declined",
    title="Your proposal for “{job}” was declined.",
    subject="Declined: your proposal for “{job}”",
    email_template="notify_proposal_decided",
)
kind(
    name="job.invited",
    group="proposals",
    roles=frozenset({CONTRACTOR}),
    label="A client invites you to a job",
    title="{client} of {company} invited you to apply to “{job}”.",
    subject="Invitation to apply: “{job}”",
    email_template="notify_job_invited",
)

# ------------------------------------------------------------------------- contracts --
kind(
    name="contract.sent",
    group="contracts",
    label="A contract is sent to you to sign",
    # `sent`: "sent you", or "sent you version 2 of" when the terms changed after the first one.
    title="{sender} {sent} “{contract}” to read and sign.",
    subject="Contract to sign: {contract}",
    email_template="contract_sent",
)
kind(
    name="contract.change_requested",
    group="contracts",
    label="The other party asks for a change",
    title="{actor} asked for a change to “{contract}”.",
    subject="Change asked for: {contract}",
    email_template="contract_change_requested",
)
kind(
    name="contract.signed",
    group="contracts",
    label="The other party signs",
    title="{actor} signed “{contract}”.",
    subject="Signed by {actor}: {contract}",
    email_template="notify_contract_signed",
)
kind(
    name="contract.active",
    group="contracts",
    label="A contract is signed by both of you",
    title="“{contract}” is signed by both of you and now active.",
    subject="Signed: {contract}",
    email_template="contract_active",
)
kind(
    name="contract.cancelled",
    group="contracts",
    label="A contract is cancelled",
    title="{actor} cancelled “{contract}”.",
    subject="Cancelled: {contract}",
    email_template="notify_contract_cancelled",
)
kind(
    name="amendment.proposed",
    group="contracts",
    label="The other party proposes a change to a signed contract",
    title="{actor} proposed a change to “{contract}”.",
    subject="Change proposed: {contract}",
    email_template="notify_amendment",
)
kind(
    name="amendment.decided",
    group="contracts",
    label="The other party signs, declines or withdraws a proposed change",
    # `decision`: signed | declined | withdrew.
    title="{actor} {decision} the change to “{contract}”.",
    subject="{actor} {decision} the change to {contract}",
    email_template="notify_amendment",
)
kind(
    name="amendment.applied",
    group="contracts",
    label="A change is signed by both of you",
    # `result`: "it is now part of the contract" | "the contract has ended".
    title="Both of you signed the change to “{contract}”: {result}.",
    subject="Change signed by both of you: {contract}",
    email_template="notify_amendment_applied",
)
kind(
    name="company.invitation",
    group="account",
    roles=PARTIES,
    label="You are invited to join a company",
    title="{inviter} invited you to work with {company}.",
    subject="{inviter} invites you to work with {company}",
    email_template="notify_company_invitation",
)
kind(
    name="company.invitation_accepted",
    group="account",
    roles=frozenset({CLIENT}),
    label="Someone accepts your invitation to your company",
    title="{member} accepted your invitation to {company}.",
    subject="{member} accepted your invitation to {company}",
    email_template="notify_invitation_accepted",
)
kind(
    name="company.invitation_renewal",
    group="account",
    roles=frozenset({CLIENT}),
    label="Someone asks you for a new invitation to your company",
    title="{email} asks for a new invitation to {company}: theirs can no longer be used.",
    subject="{email} asks for a new invitation to {company}",
    email_template="invitation_ask_again",
)

# ------------------------------------------------------------------- escrow and money --
# Every money kind links to the contract page (`#milestone-<id>` for one milestone), payouts to
# /earnings. `contract` is the contract's title, `milestone` the milestone's or period's.
kind(
    name="milestone.funded",
    group="money",
    roles=frozenset({CONTRACTOR}),
    label="A milestone you work on is funded",
    title="“{milestone}” is funded: {amount} is held in escrow.",
    subject="Funded: {milestone}",
    email_template="notify_milestone_funded",
)
kind(
    name="funding.failed",
    group="money",
    roles=frozenset({CLIENT}),
    level="error",
    label="Your payment does not go through",
    title="The payment for “{milestone}” did not go through: {reason}",
    subject="Payment not completed: {milestone}",
    email_template="notify_funding_failed",
)
kind(
    name="funding.refunded",
    group="money",
    roles=frozenset({CLIENT}),
    label="A payment that could fund nothing is refunded",
    title="Your payment of {amount} for “{milestone}” arrived too late to fund it, so it is refunded in full.",
    subject="Refunded in full: {amount} for {milestone}",
    email_template="notify_funding_refunded",
)
kind(
    name="milestone.submitted",
    group="money",
    roles=frozenset({CLIENT}),
    label="Work is submitted for your review",
    title="{contractor} submitted work for “{milestone}”.",
    subject="Work submitted: {milestone}",
    email_template="milestone_submitted",
)
kind(
    name="milestone.revision",
    group="money",
    roles=frozenset({CONTRACTOR}),
    label="The client asks for a revision",
    title="{client} asked for a revision of “{milestone}”.",
    subject="Revision asked: {milestone}",
    email_template="milestone_revision",
)
kind(
    name="milestone.review_reminder",
    group="money",
    roles=frozenset({CLIENT}),
    label="Submitted work will approve itself soon",
    title="“{milestone}” approves itself in {hours} hours unless you answer.",
    subject="Review “{milestone}” within {hours} hours",
    email_template="milestone_review_reminder",
)
kind(
    name="milestone.released",
    group="money",
    roles=frozenset({CONTRACTOR}),
    label="A payment is released to you",
    title="“{milestone}” was approved {how}: {amount} is released to your balance.",
    subject="Payment released: {milestone}",
    email_template="milestone_released",
)
kind(
    name="milestone.auto_approved",
    group="money",
    roles=frozenset({CLIENT}),
    label="A payment is released without your click",
    title="“{milestone}” was approved {how}: {amount} is released to {contractor}.",
    subject="Released automatically: {milestone}",
    email_template="notify_milestone_auto_approved",
)
kind(
    name="milestone.disputed",
    group="money",
    label="Money is frozen by a dispute",
    title="The money for “{milestone}” is frozen until the dispute is decided.",
    subject="Dispute opened: {milestone}",
    email_template="notify_dispute",
)
kind(
    name="dispute.settled",
    group="money",
    label="A dispute is settled",
    title="The dispute about “{milestone}” is settled: {refund} back to the client, {release} released.",
    subject="Dispute settled: {milestone}",
    email_template="notify_dispute",
)
kind(
    name="contract.completed",
    group="money",
    label="A contract is complete and all its money is settled",
    title="“{contract}” {outcome}",
    subject="Complete: {contract}",
    email_template="notify_contract_completed",
)
kind(
    name="retainer.funding_due",
    group="money",
    roles=frozenset({CLIENT}),
    label="A retainer period needs funding",
    title="Fund “{milestone}” {when}: {amount} for your retainer “{contract}”.",
    subject="Fund “{milestone}” {when}",
    email_template="retainer_funding_reminder",
)
kind(
    name="retainer.overdue",
    group="money",
    label="A retainer period is overdue",
    title="“{milestone}” is overdue: it started on {starts} and is not funded yet.",
    subject="Overdue: “{milestone}” is not funded",
    email_template="retainer_overdue",
)
kind(
    name="payout.sent",
    group="money",
    roles=frozenset({CONTRACTOR}),
    label="A payout is on its way",
    title="Your payout of {amount} is on its way to your bank.",
    subject="Payout sent: {amount}",
    email_template="notify_payout",
)
kind(
    name="payout.paid",
    group="money",
    roles=frozenset({CONTRACTOR}),
    label="A payout arrives",
    title="Your payout of {amount} has arrived at your bank.",
    subject="Payout arrived: {amount}",
    email_template="notify_payout",
)
kind(
    name="payout.failed",
    group="money",
    roles=frozenset({CONTRACTOR}),
    level="error",
    label="A payout fails",
    title="Your payout of {amount} did not arrive: it is back in your balance.",
    subject="Payout failed: {amount}",
    email_template="notify_payout",
)

# -------------------------------------------------------------------------- messages --
kind(
    name="message.new",
    group="messages",
    label="New messages",
    title="{sender} sent you a message about “{about}”.",
    title_many="{sender} sent you {count} messages about “{about}”.",
    subject="New message from {sender} about “{about}”",
    email_template="notify_message",
    email_after=timedelta(minutes=10),
)

# ------------------------------------------------------------ account and company --
kind(
    name="kyc.decided",
    group="account",
    roles=frozenset({CONTRACTOR}),
    label="Your identity check is decided",
    title="Your identity check is {decision}.",
    subject="Identity check {decision}",
    email_template="notify_kyc_decided",
)
kind(
    name="company.decided",
    group="account",
    roles=frozenset({CLIENT}),
    label="Your company's verification is decided",
    title="{company} is {decision}.",
    subject="{company} is {decision}",
    email_template="notify_company_decided",
)

# ---------------------------------------------------------------------- operations --
kind(
    name="lead.dead_letter",
    group="operations",
    roles=frozenset({ADMIN}),
    label="A lead could not be processed",
    title="Lead #{lead_id} (“{lead}”) could not be processed and waits for you.",
    subject="Lead #{lead_id} needs a look",
    email_template="notify_lead_dead_letter",
    level="error",
)
kind(
    name="reconciliation.mismatch",
    group="operations",
    roles=frozenset({ADMIN}),
    level="error",
    label="The daily reconciliation finds differences",
    # `differences`: "1 row" | "3 rows".
    title="The books and the payment provider differ in {differences} for {day}.",
    subject="Pactline's books and the payment provider differ for {day}",
    email_template="reconciliation_mismatch",
)
