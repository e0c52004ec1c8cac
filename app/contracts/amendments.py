"""Amendments to an active contract: one party proposes, both sign the new version, it applies at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import ensure_verified
from app.accounts.models import Role, User
from app.audit.chain import append
from app.contracts.changes import (
    AddMilestone,
    Change,
    ChangeMilestone,
    EndContract,
    MilestoneRef,
    RemoveMilestone,
)
from app.contracts.diff import date_text
from app.contracts.models import (
    LOCKED_MILESTONE_STATES,
    Amendment,
    AmendmentStatus,
    Contract,
    ContractStatus,
    ContractVersion,
    Milestone,
    MilestoneStatus,
    Signature,
)
from app.contracts.services import (
    SignContext,
    check_signature_input,
    contract_for,
    notify_parties,
    record_signature,
    signed_by_both,
)
from app.contracts.terms import ContractKind, MilestoneTerms, Termination, Terms
from app.contracts.versions import terms_hash
from app.db import utcnow
from app.errors import DomainError, FormError, NotFound
from app.events import publish
from app.money import Money, MoneyError, format_minor
from app.web.forms import Errors

ALREADY_OPEN = (
    "There is already a change waiting for signatures. Sign, decline or withdraw it before proposing another."
)
STALE = "The terms changed since you opened this page. Read the new version before signing."
MAX_TEXT = 4000
MAX_AMOUNT_MINOR = 10**14
OPS = ("add", "remove", "change", "terminate")


def contract_url(contract_id: int) -> str:
    return f"/contracts/{contract_id}"


def new_amendment_url(contract_id: int) -> str:
    return f"/contracts/{contract_id}/amendments/new"


def amendment_url(contract_id: int, amendment_id: int) -> str:
    return f"/contracts/{contract_id}/amendments/{amendment_id}"


def panel_event(contract_id: int) -> str:
    return f"contract-{contract_id}-amendments"


def _audit(db: AsyncSession, contract: Contract, kind: str, actor_id: int | None, **data: Any):
    return append(db, kind, actor_id=actor_id, subject_type="contract", subject_id=contract.public_id, data=data)


# ---------------------------------------------------------------- reading


async def _all_milestones(db: AsyncSession, contract: Contract, *, lock: bool = False) -> list[Milestone]:
    """Every milestone row (removed ones too), in order; locked and re-read when asked."""
    query = select(Milestone).where(Milestone.contract_id == contract.id).order_by(Milestone.position, Milestone.id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list((await db.scalars(query)).all())


async def open_amendment(db: AsyncSession, contract: Contract) -> Amendment | None:
    return await db.scalar(
        select(Amendment).where(Amendment.contract_id == contract.id, Amendment.status == AmendmentStatus.proposed)
    )


async def amendment_for(
    db: AsyncSession, contract_id: int, amendment_id: int, user: User
) -> tuple[Contract, Amendment]:
    """The amendment and its contract, for the contract's parties and admins; 404 for anyone else."""
    contract = await contract_for(db, contract_id, user)
    amendment = await db.get(Amendment, amendment_id)
    if amendment is None or amendment.contract_id != contract.id:
        raise NotFound(amendment_id)
    return contract, amendment


def blocked_reason(milestone: Milestone) -> str | None:
    """Why a milestone can't be changed by an amendment, in plain words (None: it can)."""
    status = MilestoneStatus(milestone.status)
    if status == MilestoneStatus.pending:
        return None
    if status in LOCKED_MILESTONE_STATES:
        state = {
            MilestoneStatus.funded: "funded: its money is held in escrow",
            MilestoneStatus.submitted: "submitted: the work is being reviewed",
            MilestoneStatus.revision_requested: "being revised after review",
            MilestoneStatus.disputed: "in a dispute",
        }[status]
        return f"“{milestone.title}” is {state}, so only a dispute decision can change it."
    if status == MilestoneStatus.removed:
        return f"“{milestone.title}” was already removed."
    return f"“{milestone.title}” is {status.value.replace('_', ' ')}, so it can no longer change."


async def amendable_milestones(db: AsyncSession, contract: Contract) -> list[dict[str, Any]]:
    """The live milestones for the proposal form, each with the reason it is read-only (or None)."""
    return [
        {"milestone": m, "amount": Money(m.amount_minor, m.currency), "blocked": blocked_reason(m)}
        for m in await _all_milestones(db, contract)
        if m.status != MilestoneStatus.removed
    ]


# ---------------------------------------------------------------- the new terms


def _entry(m: Milestone) -> MilestoneTerms:
    return MilestoneTerms(m.title, m.amount_minor, m.acceptance_criteria or "", m.due_date)


def is_milestone_contract(contract: Contract) -> bool:
    return ContractKind(contract.kind) == ContractKind.milestone


def _termination(changes: list[Change]) -> EndContract | None:
    return next((c for c in changes if isinstance(c, EndContract)), None)


def new_terms(contract: Contract, base: Terms, rows: list[Milestone], changes: list[Change]) -> Terms:
    """The current terms with `changes` applied. The milestones follow the Milestone rows, so the
    same function checks at apply time that what both signed is still what would result."""
    removed = {c.milestone_id for c in changes if isinstance(c, RemoveMilestone)}
    changed = {c.milestone_id: c for c in changes if isinstance(c, ChangeMilestone)}
    termination = _termination(changes)
    milestones = []
    for m in rows:
        if m.status == MilestoneStatus.removed or m.id in removed:
            continue
        if termination is not None and m.status == MilestoneStatus.pending:
            continue
        entry = _entry(m)
        if (change := changed.get(m.id)) is not None:
            if change.amount_minor is not None:
                entry = replace(entry, amount_minor=change.amount_minor)
            if change.moves_due_date:
                entry = replace(entry, due_date=change.due_date)
        milestones.append(entry)
    milestones += [c.milestone() for c in changes if isinstance(c, AddMilestone)]
    terms = base
    if is_milestone_contract(contract):
        terms = terms.with_(milestones=tuple(milestones), stated_total_minor=sum(m.amount_minor for m in milestones))
    if termination is not None:
        terms = terms.with_(termination=Termination(termination.settlement_note, termination.escrow_held_minor))
    return terms


# ---------------------------------------------------------------- validating a proposal


def _amount(value: Any, currency: str) -> int:
    """Minor units from an int or from what a person typed ('1200.50')."""
    if isinstance(value, bool):
        raise MoneyError("Enter an amount like 1200 or 1200.50.")
    minor = value if isinstance(value, int) else Money.parse(str(value or ""), currency).amount_minor
    if minor <= 0:
        raise MoneyError("Enter an amount above zero.")
    if minor > MAX_AMOUNT_MINOR:
        raise MoneyError("That amount is too large.")
    return minor


def _due(value: Any) -> date | None:
    if value is None or value == "":
        return None
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ValueError("Enter a date like 2030-04-01.") from exc
    if day < date.today():
        raise ValueError("Choose a date from today on.")
    return day


def _milestone_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def normalize_changes(
    contract: Contract, rows: list[Milestone], changes: list[dict[str, Any]], reason: str
) -> tuple[list[Change], str]:
    """Checked, canonical changes (with the titles and amounts they replace, for plain-words
    summaries) and the reason. Problems raise FormError keyed by the proposal form's field names:
    <slot>_title, <slot>_criteria, <slot>_amount, <slot>_due (slot: add, add2, …), amount_<id>, due_<id>, remove_<id>,
    settlement_note, reason, form."""
    errors = Errors()
    currency = currency_of(contract)
    by_id = {m.id: m for m in rows}
    out: list[Change] = []
    touched: set[int] = set()
    if not changes:
        errors.add(
            "form",
            "Choose at least one change: a new amount or date, a milestone to add or remove, or ending the contract.",
        )
    if any(c.get("op") == "terminate" for c in changes) and len(changes) > 1:
        errors.add("form", "Ending the contract is a change on its own: leave the other changes empty.")
    for change in changes:
        op = change.get("op")
        if op not in OPS:
            errors.add("form", "That kind of change is not possible.")
            continue
        if op != "terminate" and not is_milestone_contract(contract):
            errors.add("form", "This contract is paid as a retainer: it has no milestones to change.")
            continue
        if op == "add":
            if (added := _check_add(change, currency, errors, str(change.get("slot") or "add"))) is not None:
                out.append(added)
            continue
        if op == "terminate":
            out.append(_check_terminate(change, rows, errors))
            continue
        mid = _milestone_id(change.get("milestone_id"))
        milestone = by_id.get(mid) if mid is not None else None
        key = f"remove_{mid}" if op == "remove" else f"amount_{mid}"
        if milestone is None:
            errors.add("form", "That milestone is not part of this contract.")
            continue
        if (why := blocked_reason(milestone)) is not None:
            errors.add(key, why)
            continue
        if milestone.id in touched:
            errors.add(key, f"Change “{milestone.title}” or remove it, not both.")
            continue
        touched.add(milestone.id)
        if op == "remove":
            out.append(RemoveMilestone(_ref(milestone)))
        else:
            checked = _check_change(change, milestone, currency, errors)
            if checked is not None:
                out.append(checked)
    reason = (reason or "").strip()
    if not reason:
        errors.add("reason", "Say why, so the other party understands the change.")
    elif len(reason) > MAX_TEXT:
        errors.add("reason", "Keep it under 4 000 characters.")
    if not errors and is_milestone_contract(contract) and _termination(out) is None:
        remaining = new_terms(contract, Terms(), rows, out).milestones
        if not remaining:
            errors.add("form", "A contract keeps at least one milestone. To stop the work, end the contract instead.")
    if errors:
        raise FormError(dict(errors))
    return out, reason


def currency_of(contract: Contract) -> str:
    return contract.draft_terms.currency


def _ref(m: Milestone) -> MilestoneRef:
    return MilestoneRef(m.id, m.title, m.amount_minor)


def _check_add(change: dict[str, Any], currency: str, errors: Errors, slot: str = "add") -> AddMilestone | None:
    """A new milestone; problems are keyed by the form group it came from (add_, add2_, …)."""
    title = str(change.get("title") or "").strip()
    criteria = str(change.get("acceptance_criteria") or "").strip()
    if not title:
        errors.add(f"{slot}_title", "Give the new milestone a title.")
    elif len(title) > 200:
        errors.add(f"{slot}_title", "Keep the title under 200 characters.")
    if not criteria:
        errors.add(f"{slot}_criteria", "Say how you will both know this milestone is done.")
    elif len(criteria) > MAX_TEXT:
        errors.add(f"{slot}_criteria", "Keep it under 4 000 characters.")
    amount = due = None
    try:
        amount = _amount(change.get("amount_minor"), currency)
    except MoneyError as exc:
        errors.add(f"{slot}_amount", str(exc))
    try:
        due = _due(change.get("due_date"))
    except ValueError as exc:
        errors.add(f"{slot}_due", str(exc))
    if amount is None:
        return None
    return AddMilestone(title, criteria, amount, due)


def _check_change(change: dict[str, Any], m: Milestone, currency: str, errors: Errors) -> ChangeMilestone | None:
    out = ChangeMilestone(m.id, m.title, m.amount_minor, m.due_date)
    if change.get("amount_minor") not in (None, ""):
        try:
            amount = _amount(change["amount_minor"], currency)
        except MoneyError as exc:
            errors.add(f"amount_{m.id}", str(exc))
        else:
            if amount != m.amount_minor:
                out = replace(out, amount_minor=amount)
    if "due_date" in change and change["due_date"] != "":  # None: no due date any more
        try:
            due = _due(change["due_date"])
        except ValueError as exc:
            errors.add(f"due_{m.id}", str(exc))
        else:
            if due != m.due_date:
                out = replace(out, due_date=due, moves_due_date=True)
    if out.amount_minor is None and not out.moves_due_date:
        if f"amount_{m.id}" not in errors and f"due_{m.id}" not in errors:
            errors.add(f"amount_{m.id}", f"The new amount and date for “{m.title}” are the same as now.")
        return None
    return out


def _check_terminate(change: dict[str, Any], rows: list[Milestone], errors: Errors) -> EndContract:
    note = str(change.get("settlement_note") or "").strip()
    if not note:
        errors.add("settlement_note", "Say how you are settling up, for example what is owed for work already done.")
    elif len(note) > MAX_TEXT:
        errors.add("settlement_note", "Keep it under 4 000 characters.")
    for m in rows:
        if m.status in LOCKED_MILESTONE_STATES:
            errors.add("settlement_note", f"{blocked_reason(m)} The contract can end once that is settled.")
    pending = [m for m in rows if m.status == MilestoneStatus.pending]
    # Escrow does not exist yet: no money is held for any contract, so nothing moves on ending.
    return EndContract(note, 0, tuple(_ref(m) for m in pending))


# ---------------------------------------------------------------- verbs


async def propose(
    db: AsyncSession, contract_id: int, user: User, changes: list[dict[str, Any]], reason: str
) -> Amendment:
    """Freeze the changed terms as the contract's next version, waiting for both signatures."""
    if user.role == Role.admin:
        raise NotFound(contract_id)  # admins oversee contracts; they never change them
    contract = await contract_for(db, contract_id, user, lock=True)
    await db.refresh(contract)
    ensure_verified(user)
    if contract.status != ContractStatus.active:
        raise DomainError("Only an active contract can be changed this way.")
    if await open_amendment(db, contract) is not None:
        raise DomainError(ALREADY_OPEN)
    current = await db.get(ContractVersion, contract.current_version_id)
    assert current is not None
    rows = await _all_milestones(db, contract, lock=True)
    normalized, reason = normalize_changes(contract, rows, changes, reason)
    terms = new_terms(contract, current.terms, rows, normalized)
    digest = terms_hash(terms)
    number = (
        await db.scalar(select(func.max(ContractVersion.number)).where(ContractVersion.contract_id == contract.id)) or 0
    ) + 1
    try:
        async with db.begin_nested():
            version = ContractVersion(
                contract_id=contract.id, number=number, terms=terms, terms_hash=digest, created_by=user.id
            )
            db.add(version)
            await db.flush()
            amendment = Amendment(
                contract_id=contract.id,
                version_id=version.id,
                proposed_by=user.id,
                changes=normalized,
                reason=reason,
                status=AmendmentStatus.proposed,
            )
            db.add(amendment)
            await db.flush()
    except IntegrityError as exc:  # the one-open-amendment index, if a check above was raced
        raise DomainError(ALREADY_OPEN) from exc
    # The chain carries what proves the change (its version hash), not the private terms themselves.
    ops = [c.op for c in normalized]
    await _audit(
        db,
        contract,
        "amendment_proposed",
        user.id,
        amendment_id=amendment.id,
        version=number,
        terms_hash=digest,
        ops=ops,
    )
    await _tell_other_party(db, contract, user, f"{user.name} proposed a change to “{contract.title}”.")
    return amendment


async def sign_amendment(
    db: AsyncSession,
    amendment_id: int,
    user: User,
    *,
    version_hash: str,
    typed_name: str,
    consent: bool,
    context: SignContext,
) -> Amendment:
    """Sign the amendment's version; the second signature applies it. The contract row is locked
    first, so two parties signing at the same moment apply it exactly once."""
    contract = await _locked_contract_of(db, amendment_id, user)
    await db.refresh(contract)
    ensure_verified(user)
    amendment = await _locked_amendment(db, amendment_id)
    if amendment.status != AmendmentStatus.proposed:
        raise DomainError(_closed(amendment))
    if contract.status != ContractStatus.active:
        raise DomainError("This contract is no longer active, so the change can't be signed.")
    version = await db.get(ContractVersion, amendment.version_id)
    assert version is not None
    if version.terms_hash != version_hash:
        raise DomainError(STALE)
    check_signature_input(user, typed_name, consent)
    new = await record_signature(db, contract, version, user, typed_name, context)
    if new:
        await _audit(db, contract, "amendment_signed", user.id,
                     amendment_id=amendment.id, version=version.number, terms_hash=version.terms_hash)  # fmt: skip
    if await signed_by_both(db, contract, version):
        await _apply(db, contract, amendment, version)
        from app.contracts.documents import render_final_later

        render_final_later(db, contract.id, version.id)
        message = f"The change to “{contract.title}” is signed by both of you and now part of the contract."
        if contract.status == ContractStatus.terminated:
            message = f"“{contract.title}” has ended: both of you signed."
        await _tell_other_party(db, contract, user, message)
    elif new:
        await _tell_other_party(db, contract, user, f"{user.name} signed the change to “{contract.title}”.")
    return amendment


async def _apply(db: AsyncSession, contract: Contract, amendment: Amendment, version: ContractVersion) -> None:
    """Under the contract's and milestones' row locks: re-check, then change the rows to match
    the signed version. Any refusal raises, and the caller's rollback leaves everything as it was."""
    if contract.status != ContractStatus.active:
        raise DomainError("This contract is no longer active, so the change can't be applied.")
    rows = await _all_milestones(db, contract, lock=True)
    by_id = {m.id: m for m in rows}
    changes = amendment.changes
    for change in changes:
        if isinstance(change, RemoveMilestone | ChangeMilestone):
            m = by_id.get(change.milestone_id)
            why = blocked_reason(m) if m is not None else "A milestone in this change no longer exists."
            if why is not None:
                raise DomainError(f"{why} This change can't be applied any more: withdraw it and propose a new one.")
        if isinstance(change, EndContract):
            for m in rows:
                if m.status in LOCKED_MILESTONE_STATES:
                    raise DomainError(f"{blocked_reason(m)} The contract can't end until that is settled.")
    current = await db.get(ContractVersion, contract.current_version_id)
    assert current is not None
    if terms_hash(new_terms(contract, current.terms, rows, changes)) != version.terms_hash:
        raise DomainError(
            "The contract changed since this change was proposed, so it no longer matches what you signed. "
            "Withdraw it and propose a new one."
        )
    now = utcnow()
    position = max((m.position for m in rows), default=-1)
    for change in changes:
        match change:
            case AddMilestone():
                position += 1
                db.add(Milestone(contract_id=contract.id, position=position, title=change.title,
                                 acceptance_criteria=change.acceptance_criteria, amount_minor=change.amount_minor,
                                 currency=currency_of(contract), status=MilestoneStatus.pending,
                                 due_date=change.due_date))  # fmt: skip
            case RemoveMilestone():
                by_id[change.milestone_id].status = MilestoneStatus.removed
            case ChangeMilestone():
                m = by_id[change.milestone_id]
                if change.amount_minor is not None:
                    m.amount_minor = change.amount_minor
                if change.moves_due_date:
                    m.due_date = change.due_date
            case EndContract():
                for m in rows:
                    if m.status == MilestoneStatus.pending:
                        m.status = MilestoneStatus.removed
    contract.current_version_id = version.id
    contract.draft_terms = version.terms  # the working copy of an active contract is its current version
    amendment.status, amendment.decided_at = AmendmentStatus.applied, now
    await db.flush()
    await _audit(db, contract, "amendment_applied", None,
                 amendment_id=amendment.id, version=version.number, terms_hash=version.terms_hash)  # fmt: skip
    termination = _termination(changes)
    if termination is not None:
        contract.status, contract.ended_at = ContractStatus.terminated, now
        await _audit(
            db, contract, "contract_terminated", None,
            amendment_id=amendment.id, version=version.number, terms_hash=version.terms_hash,
            escrow_held_minor=termination.escrow_held_minor,
            removed_milestones=[r.milestone_id for r in termination.removed],
        )  # fmt: skip
    # Both parties' open contract pages reload their terms and milestones.
    notify_parties(db, contract, None)


async def withdraw(db: AsyncSession, amendment_id: int, user: User) -> Amendment:
    """The proposer takes the change back before both have signed."""
    return await _close(db, amendment_id, user, AmendmentStatus.withdrawn)


async def decline(db: AsyncSession, amendment_id: int, user: User) -> Amendment:
    """The other party says no; the contract stays as it is."""
    return await _close(db, amendment_id, user, AmendmentStatus.declined)


async def _close(db: AsyncSession, amendment_id: int, user: User, status: AmendmentStatus) -> Amendment:
    contract = await _locked_contract_of(db, amendment_id, user)
    amendment = await _locked_amendment(db, amendment_id)
    if amendment.status != AmendmentStatus.proposed:
        raise DomainError(_closed(amendment))
    proposer = amendment.proposed_by == user.id
    if status == AmendmentStatus.withdrawn and not proposer:
        raise DomainError("Only the person who proposed this change can withdraw it. You can decline it instead.")
    if status == AmendmentStatus.declined and proposer:
        raise DomainError("You proposed this change: withdraw it instead.")
    amendment.status, amendment.decided_at = status, utcnow()
    await db.flush()
    await _audit(db, contract, f"amendment_{status.value}", user.id, amendment_id=amendment.id)
    verb = "withdrew" if status == AmendmentStatus.withdrawn else "declined"
    await _tell_other_party(db, contract, user, f"{user.name} {verb} the change to “{contract.title}”.")
    return amendment


async def _locked_contract_of(db: AsyncSession, amendment_id: int, user: User) -> Contract:
    """The amendment's contract, locked, for a party (admins oversee; they never act on one)."""
    if user.role == Role.admin:
        raise NotFound(amendment_id)
    contract_id = await db.scalar(select(Amendment.contract_id).where(Amendment.id == amendment_id))
    if contract_id is None:
        raise NotFound(amendment_id)
    return await contract_for(db, contract_id, user, lock=True)


async def _locked_amendment(db: AsyncSession, amendment_id: int) -> Amendment:
    query = select(Amendment).where(Amendment.id == amendment_id).with_for_update()
    amendment = await db.scalar(query.execution_options(populate_existing=True))
    assert amendment is not None
    return amendment


def _closed(amendment: Amendment) -> str:
    return {
        AmendmentStatus.applied: "This change was already signed by both of you and applied.",
        AmendmentStatus.withdrawn: "This change was withdrawn, so it can't be signed any more.",
        AmendmentStatus.declined: "This change was declined, so it can't be signed any more.",
    }.get(AmendmentStatus(amendment.status), "This change is no longer waiting for signatures.")


async def _tell_other_party(db: AsyncSession, contract: Contract, actor: User, message: str) -> None:
    """The other party's open contract page re-fetches its amendments panel (a signal), and a
    toast says why."""
    other = await db.get(User, contract.other_party(actor.id))
    assert other is not None
    publish(db, other.id, panel_event(contract.id), {"changed": True})
    publish(db, other.id, "toast", {"message": message, "level": "info"})


# ---------------------------------------------------------------- what people see


def _day(day: date | None) -> str:
    return date_text(day) if day else "no due date"


def _due_words(day: date | None) -> str:
    return f"due {_day(day)}" if day else "no due date"


def describe(change: Change, currency: str) -> dict[str, str]:
    """One change in plain words: {"text": …, "detail": …}."""

    def money(minor: int) -> str:
        return format_minor(minor, currency)

    match change:
        case AddMilestone():
            return {
                "text": f"Add a milestone “{change.title}”: {money(change.amount_minor)}, {_due_words(change.due_date)}.",
                "detail": f"Done when: {change.acceptance_criteria}",
            }
        case RemoveMilestone(milestone=m):
            return {"text": f"Remove the milestone “{m.title}” ({money(m.amount_minor)}).", "detail": ""}
        case ChangeMilestone():
            parts = []
            if change.amount_minor is not None:
                parts.append(f"amount {money(change.before_amount_minor)} → {money(change.amount_minor)}")
            if change.moves_due_date:
                parts.append(f"due date {_day(change.before_due_date)} → {_day(change.due_date)}")
            return {"text": f"Change “{change.title}”: {'; '.join(parts)}.", "detail": ""}
    removed = ", ".join(f"“{r.title}”" for r in change.removed)
    text = "End the contract."
    if removed:
        text += f" Milestones not yet funded are removed: {removed}."
    held = money(change.escrow_held_minor)
    return {
        "text": text + f" Money held in escrow for this contract: {held}, so nothing is paid out or refunded.",
        "detail": f"Settlement: {change.settlement_note}",
    }


def total_change(changes: list[Change]) -> int:
    """How much the milestone total moves with these changes (minor units)."""
    delta = 0
    for c in changes:
        match c:
            case AddMilestone():
                delta += c.amount_minor
            case RemoveMilestone():
                delta -= c.milestone.amount_minor
            case ChangeMilestone(amount_minor=int(amount)):
                delta += amount - c.before_amount_minor
            case EndContract():
                delta -= sum(r.amount_minor for r in c.removed)
    return delta


async def amendment_view(db: AsyncSession, contract: Contract, amendment: Amendment, user: User) -> dict[str, Any]:
    """Everything the amendment page and the panel show about one amendment, for `user`."""
    version = await db.get(ContractVersion, amendment.version_id)
    assert version is not None
    currency = currency_of(contract)
    names = await _party_names(db, contract)
    signatures = (
        await db.scalars(select(Signature).where(Signature.version_id == version.id).order_by(Signature.created_at))
    ).all()
    signed_ids = {s.user_id for s in signatures}

    def who(uid: int) -> str:
        return "you" if uid == user.id else names[uid]

    after = version.terms.stated_total_minor or 0
    is_open = amendment.status == AmendmentStatus.proposed
    party = contract.party(user.id) and user.role != Role.admin
    return {
        "id": amendment.id,
        "url": amendment_url(contract.id, amendment.id),
        "status": AmendmentStatus(amendment.status).value,
        "is_open": is_open,
        "proposed_by_name": names[amendment.proposed_by],
        "proposed_by_you": amendment.proposed_by == user.id,
        "proposed_at": amendment.created_at,
        "decided_at": amendment.decided_at,
        "reason": amendment.reason,
        "lines": [describe(c, currency) for c in amendment.changes],
        "terminates": _termination(amendment.changes) is not None,
        "shows_total": is_milestone_contract(contract),
        "total_before": Money(after - total_change(amendment.changes), currency),
        "total_after": Money(after, currency),
        "version_number": version.number,
        "version_hash": version.terms_hash,
        "signatures": [
            {
                "name": names.get(s.user_id, s.typed_name),
                "who": who(s.user_id),
                "typed_name": s.typed_name,
                "at": s.created_at,
            }
            for s in signatures
        ],
        "waiting_for": [who(uid) for uid in (contract.client_id, contract.contractor_id) if uid not in signed_ids],
        "you_signed": user.id in signed_ids,
        "can_sign": is_open and party and user.id not in signed_ids,
        "can_withdraw": is_open and party and amendment.proposed_by == user.id,
        "can_decline": is_open and party and amendment.proposed_by != user.id,
    }


async def _party_names(db: AsyncSession, contract: Contract) -> dict[int, str]:
    users = (await db.scalars(select(User).where(User.id.in_([contract.client_id, contract.contractor_id])))).all()
    return {u.id: u.name for u in users}


async def amendments_panel_context(db: AsyncSession, contract: Contract, user: User) -> dict[str, Any]:
    """The panel's data, for templates/contracts/_amendments.html as the variable `amendments`."""
    rows = (
        await db.scalars(select(Amendment).where(Amendment.contract_id == contract.id).order_by(Amendment.id.desc()))
    ).all()
    views = [await amendment_view(db, contract, a, user) for a in rows]
    current = next((v for v in views if v["is_open"]), None)
    can_propose = (
        contract.status == ContractStatus.active
        and current is None
        and contract.party(user.id)
        and user.role != Role.admin
    )
    return {
        "contract_id": contract.id,
        "event": panel_event(contract.id),
        "open": current,
        "history": [v for v in views if not v["is_open"]],
        "propose_url": new_amendment_url(contract.id) if can_propose else None,
        "contract_active": contract.status == ContractStatus.active,
    }
