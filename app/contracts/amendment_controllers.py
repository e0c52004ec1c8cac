"""Amendment pages: propose a change to an active contract, read it, sign, withdraw or decline it."""

from __future__ import annotations

from datetime import date
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash

from app.accounts.guards import requires_login_admins_mfa
from app.accounts.models import Role, User
from app.contracts import amendments
from app.contracts.models import AmendmentStatus, Contract, ContractStatus
from app.contracts.services import SignContext, contract_for, signature_problems
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.money import Money
from app.web.forms import FormData, checkbox, text
from app.web.htmx import see_other
from app.web.ratelimit import request_ip
from app.web.templating import render

LOGIN = [requires_login_admins_mfa]


def _user(request: Request) -> User:
    return request.scope["user"]


async def _proposable(db, contract_id: int, user: User) -> Contract:
    """Only the two parties propose changes (admins and everyone else: 404)."""
    if user.role == Role.admin:
        raise NotFound(contract_id)
    contract = await contract_for(db, contract_id, user)
    if contract.status != ContractStatus.active:
        raise DomainError("Only an active contract can be changed this way.")
    return contract


async def _form_page(
    request: Request, db, contract: Contract, *, form: dict | None = None, errors: dict | None = None, status_code=200
) -> Response:
    rows = await amendments.amendable_milestones(db, contract)
    currency = amendments.currency_of(contract)
    total = sum(row["milestone"].amount_minor for row in rows)
    return render(
        request,
        "contracts/amendment_new.html",
        {
            "contract": contract,
            "milestones": rows,
            "is_milestone_contract": amendments.is_milestone_contract(contract),
            "currency": currency,
            "total": Money(total, currency),
            "form": form or {},
            "errors": errors or {},
            "contract_url": amendments.contract_url(contract.id),
            "today": date.today().isoformat(),
            "add_slots": ADD_SLOTS,
        },
        status_code=status_code,
    )


# The form's "add a milestone" groups: the first is always shown, the others behind "Add more".
ADD_SLOTS = ("add", "add2", "add3")
ADD_PARTS = ("title", "criteria", "amount", "due")


def read_changes(
    data: dict[str, Any], milestone_ids: list[int]
) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, list[str]]]:
    """The proposal form as typed (to re-render it), the change list the service checks, and
    what can be told from the form alone."""
    names = [f"{slot}_{part}" for slot in ADD_SLOTS for part in ADD_PARTS] + ["settlement_note", "reason"]
    form = {name: text(data, name) for name in names}
    form["terminate"] = "on" if checkbox(data, "terminate") else ""
    changes: list[dict[str, Any]] = []
    errors: dict[str, list[str]] = {}
    if form["terminate"]:
        changes.append({"op": "terminate", "settlement_note": form["settlement_note"]})
    for mid in milestone_ids:
        amount, due, remove = text(data, f"amount_{mid}"), text(data, f"due_{mid}"), checkbox(data, f"remove_{mid}")
        no_due = checkbox(data, f"nodue_{mid}")
        form |= {f"amount_{mid}": amount, f"due_{mid}": due, f"remove_{mid}": "on" if remove else ""}
        form[f"nodue_{mid}"] = "on" if no_due else ""
        if remove:
            changes.append({"op": "remove", "milestone_id": mid})
        if due and no_due:
            errors[f"nodue_{mid}"] = ["Choose a new due date or no due date, not both."]
        if amount or due or no_due:
            change: dict[str, Any] = {"op": "change", "milestone_id": mid}
            if amount:
                change["amount_minor"] = amount
            if due or no_due:
                change["due_date"] = None if no_due else due
            changes.append(change)
    for slot in ADD_SLOTS:
        if any(form[f"{slot}_{part}"] for part in ADD_PARTS):
            changes.append(
                {
                    "op": "add",
                    "slot": slot,
                    "title": form[f"{slot}_title"],
                    "acceptance_criteria": form[f"{slot}_criteria"],
                    "amount_minor": form[f"{slot}_amount"],
                    "due_date": form[f"{slot}_due"],
                }
            )
    if form["settlement_note"] and not form["terminate"]:
        errors["terminate"] = ["Tick this box to end the contract, or leave the settlement empty."]
    return form, changes, errors


@get("/contracts/{contract_id:int}/amendments", name="contracts:amendments", guards=LOGIN)
async def amendments_panel(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    """The contract page's "Changes to this contract" panel alone (parties and admins, like the
    page); the panel re-fetches it when the live event "contract-<id>-amendments" arrives."""
    user = _user(request)
    contract = await contract_for(db, contract_id, user)
    panel = await amendments.amendments_panel_context(db, contract, user)
    return render(request, "contracts/_amendments.html", {"amendments": panel})


@get("/contracts/{contract_id:int}/amendments/new", name="contracts:amend", guards=LOGIN)
async def new_amendment(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    user = _user(request)
    contract = await _proposable(db, contract_id, user)
    existing = await amendments.open_amendment(db, contract)
    if existing is not None:
        flash(request, amendments.ALREADY_OPEN, category="info")
        return see_other(request, amendments.amendment_url(contract.id, existing.id))
    return await _form_page(request, db, contract)


@post("/contracts/{contract_id:int}/amendments/new", name="contracts:amend-submit", guards=LOGIN)
async def create_amendment(request: Request, contract_id: FromPath[int], data: FormData, db: DB) -> Response:
    user = _user(request)
    contract = await _proposable(db, contract_id, user)
    rows = await amendments.amendable_milestones(db, contract)
    form, changes, errors = read_changes(data, [row["milestone"].id for row in rows])
    if errors:
        return await _form_page(request, db, contract, form=form, errors=errors, status_code=422)
    try:
        amendment = await amendments.propose(db, contract.id, user, changes, form["reason"])
    except FormError as exc:
        await db.rollback()
        contract = await contract_for(db, contract_id, user)
        return await _form_page(request, db, contract, form=form, errors=exc.errors, status_code=422)
    await db.commit()
    flash(
        request, "Change proposed. Sign it below; it takes effect once the other party signs too.", category="success"
    )
    return see_other(request, amendments.amendment_url(contract.id, amendment.id))


async def _amendment_page(
    request: Request,
    db,
    contract_id: int,
    amendment_id: int,
    *,
    sign_form: dict | None = None,
    sign_errors: dict | None = None,
    refused: str | None = None,
    status_code: int = 200,
) -> Response:
    user = _user(request)
    contract, amendment = await amendments.amendment_for(db, contract_id, amendment_id, user)
    return render(
        request,
        "contracts/amendment.html",
        {
            "contract": contract,
            "view": await amendments.amendment_view(db, contract, amendment, user),
            "contract_url": amendments.contract_url(contract.id),
            "sign_form": sign_form or {},
            "sign_errors": sign_errors or {},
            "refused": refused,
        },
        status_code=status_code,
    )


@get("/contracts/{contract_id:int}/amendments/{amendment_id:int}", name="contracts:amendment", guards=LOGIN)
async def amendment_detail(
    request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], db: DB
) -> Response:
    return await _amendment_page(request, db, contract_id, amendment_id)


async def _party_amendment(db, contract_id: int, amendment_id: int, user: User):
    """Actions are for the two parties only: admins and everyone else get 404."""
    if user.role == Role.admin:
        raise NotFound(amendment_id)
    return await amendments.amendment_for(db, contract_id, amendment_id, user)


@post("/contracts/{contract_id:int}/amendments/{amendment_id:int}/sign", name="contracts:amendment-sign", guards=LOGIN)
async def sign_amendment(
    request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], data: FormData, db: DB
) -> Response:
    user = _user(request)
    await _party_amendment(db, contract_id, amendment_id, user)
    typed, consent, seen_hash = text(data, "typed_name"), checkbox(data, "consent"), text(data, "version_hash")
    errors = signature_problems(user, typed, consent, agreeing_to="this change")
    if errors:
        sign_form = {"typed_name": typed, "consent": consent}
        return await _amendment_page(
            request, db, contract_id, amendment_id, sign_form=sign_form, sign_errors=errors, status_code=422
        )
    try:
        amendment = await amendments.sign_amendment(
            db,
            amendment_id,
            user,
            version_hash=seen_hash,
            typed_name=typed,
            consent=consent,
            context=SignContext(ip=request_ip(request), user_agent=request.headers.get("user-agent")),
        )
    except DomainError as exc:
        await db.rollback()
        return await _amendment_page(request, db, contract_id, amendment_id, refused=exc.message, status_code=409)
    applied = amendment.status == AmendmentStatus.applied
    await db.commit()
    if applied:
        flash(request, "Signed by both of you: the change is now part of the contract.", category="success")
    else:
        flash(request, "You signed. The change takes effect when the other party signs too.", category="success")
    return see_other(request, amendments.amendment_url(contract_id, amendment_id))


async def _close(
    request: Request, db, contract_id: FromPath[int], amendment_id: FromPath[int], verb, message: str
) -> Response:
    user = _user(request)
    await _party_amendment(db, contract_id, amendment_id, user)
    await verb(db, amendment_id, user)
    await db.commit()
    flash(request, message, category="success")
    return see_other(request, amendments.amendment_url(contract_id, amendment_id))


@post(
    "/contracts/{contract_id:int}/amendments/{amendment_id:int}/withdraw",
    name="contracts:amendment-withdraw",
    guards=LOGIN,
)
async def withdraw_amendment(
    request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], db: DB
) -> Response:
    message = "You withdrew the change. The contract stays as it was."
    return await _close(request, db, contract_id, amendment_id, amendments.withdraw, message)


@post(
    "/contracts/{contract_id:int}/amendments/{amendment_id:int}/decline",
    name="contracts:amendment-decline",
    guards=LOGIN,
)
async def decline_amendment(
    request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], db: DB
) -> Response:
    message = "You declined the change. The contract stays as it was."
    return await _close(request, db, contract_id, amendment_id, amendments.decline, message)


HANDLERS = [
    amendments_panel,
    new_amendment,
    create_amendment,
    amendment_detail,
    sign_amendment,
    withdraw_amendment,
    decline_amendment,
]
