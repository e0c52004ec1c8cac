"""Amendment pages: propose a change to an active contract, read it, sign, withdraw or decline it."""

from __future__ import annotations

from datetime import date

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_login_admins_mfa
from app.accounts.models import Role
from app.contracts.amendments import rules, views
from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ADD_SLOTS, read_changes
from app.contracts.models import AmendmentStatus, Contract, ContractStatus
from app.contracts.services import contract_for
from app.contracts.signing.forms import read_signature
from app.contracts.signing.services import SignContext, signature_problems
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.money import Money
from app.web.forms import FormData
from app.web.htmx import see_other
from app.web.ratelimit import request_ip
from app.web.templating import render


def _amendment_path(request: Request, contract_id: int, amendment_id: int) -> str:
    return request.app.route_reverse("contracts:amendment", contract_id=contract_id, amendment_id=amendment_id)


async def _proposable(db: AsyncSession, contract_id: int, user: CurrentUser) -> Contract:
    """Only the two parties propose changes (admins and everyone else: 404)."""
    if user.role == Role.admin:
        raise NotFound(contract_id)
    contract = await contract_for(db, contract_id, user)
    if contract.status != ContractStatus.active:
        raise DomainError("Only an active contract can be changed this way.")
    return contract


async def _form_page(
    request: Request,
    db: AsyncSession,
    contract: Contract,
    *,
    form: dict | None = None,
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    rows = await amendments.amendable_milestones(db, contract)
    currency = rules.currency_of(contract)
    total = sum(row["milestone"].amount_minor for row in rows)
    if form is None:
        form = rules.default_splits(row["milestone"] for row in rows if row["held"])
    return render(
        request,
        "contracts/amendment_new.html",
        {
            "contract": contract,
            "milestones": rows,
            "is_milestone_contract": rules.is_milestone_contract(contract),
            "currency": currency,
            "total": Money(total, currency),
            "escrow": await views.escrow_now(db, contract),
            "form": form,
            "errors": errors or {},
            "contract_url": request.app.route_reverse("contracts:detail", contract_id=contract.id),
            "today": date.today().isoformat(),
            "add_slots": ADD_SLOTS,
        },
        status_code=status_code,
    )


async def _amendment_page(
    request: Request,
    db: AsyncSession,
    user: CurrentUser,
    contract_id: int,
    amendment_id: int,
    *,
    sign_form: dict | None = None,
    sign_errors: dict | None = None,
    refused: str | None = None,
    status_code: int = 200,
) -> Response:
    contract, amendment = await amendments.amendment_for(db, contract_id, amendment_id, user)
    return render(
        request,
        "contracts/amendment.html",
        {
            "contract": contract,
            "view": await views.amendment_view(db, contract, amendment, user),
            "escrow": await views.escrow_now(db, contract),
            "contract_url": request.app.route_reverse("contracts:detail", contract_id=contract.id),
            "sign_form": sign_form or {},
            "sign_errors": sign_errors or {},
            "refused": refused,
        },
        status_code=status_code,
    )


async def _party_amendment(db: AsyncSession, contract_id: int, amendment_id: int, user: CurrentUser):
    """Actions are for the two parties only: admins and everyone else get 404."""
    if user.role == Role.admin:
        raise NotFound(amendment_id)
    return await amendments.amendment_for(db, contract_id, amendment_id, user)


async def _close(
    request: Request, db: AsyncSession, user: CurrentUser, contract_id: int, amendment_id: int, verb, message: str
) -> Response:
    await _party_amendment(db, contract_id, amendment_id, user)
    await verb(db, amendment_id, user)
    await db.commit()
    flash(request, message, category="success")
    return see_other(request, _amendment_path(request, contract_id, amendment_id))


class AmendmentController(Controller):
    """Changes to an active contract: the contract page's panel, proposing one, and answering it."""

    path = "/contracts/{contract_id:int}/amendments"
    guards = [requires_login_admins_mfa]

    @get("/", name="contracts:amendments")
    async def panel(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        """The contract page's "Changes to this contract" panel alone (parties and admins, like the
        page); the panel re-fetches it when the live event "contract-<id>-amendments" arrives."""
        contract = await contract_for(db, contract_id, user)
        panel = await views.amendments_panel_context(db, contract, user)
        return render(request, "contracts/_amendments.html", {"amendments": panel})

    @get("/new", name="contracts:amend")
    async def new(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        contract = await _proposable(db, contract_id, user)
        existing = await amendments.open_amendment(db, contract)
        if existing is not None:
            flash(request, amendments.ALREADY_OPEN, category="info")
            return see_other(request, _amendment_path(request, contract.id, existing.id))
        return await _form_page(request, db, contract)

    @post("/new", name="contracts:amend-submit")
    async def create(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
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
            request,
            "Change proposed. Sign it below; it takes effect once the other party signs too.",
            category="success",
        )
        return see_other(request, _amendment_path(request, contract.id, amendment.id))

    @get("/{amendment_id:int}", name="contracts:amendment")
    async def detail(
        self, request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], db: DB, user: CurrentUser
    ) -> Response:
        return await _amendment_page(request, db, user, contract_id, amendment_id)

    @post("/{amendment_id:int}/sign", name="contracts:amendment-sign")
    async def sign(
        self,
        request: Request,
        contract_id: FromPath[int],
        amendment_id: FromPath[int],
        data: FormData,
        db: DB,
        user: CurrentUser,
    ) -> Response:
        await _party_amendment(db, contract_id, amendment_id, user)
        signature = read_signature(data)
        errors = signature_problems(user, signature.typed_name, signature.consent, agreeing_to="this change")
        if errors:
            sign_form = {"typed_name": signature.typed_name, "consent": signature.consent}
            return await _amendment_page(
                request, db, user, contract_id, amendment_id, sign_form=sign_form, sign_errors=errors, status_code=422
            )
        try:
            amendment = await amendments.sign_amendment(
                db,
                amendment_id,
                user,
                version_hash=signature.version_hash,
                typed_name=signature.typed_name,
                consent=signature.consent,
                context=SignContext(ip=request_ip(request), user_agent=request.headers.get("user-agent")),
            )
        except DomainError as exc:
            await db.rollback()
            return await _amendment_page(
                request, db, user, contract_id, amendment_id, refused=exc.message, status_code=409
            )
        applied = amendment.status == AmendmentStatus.applied
        await db.commit()
        if applied:
            flash(request, "Signed by both of you: the change is now part of the contract.", category="success")
        else:
            flash(request, "You signed. The change takes effect when the other party signs too.", category="success")
        return see_other(request, _amendment_path(request, contract_id, amendment_id))

    @post("/{amendment_id:int}/withdraw", name="contracts:amendment-withdraw")
    async def withdraw(
        self, request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], db: DB, user: CurrentUser
    ) -> Response:
        message = "You withdrew the change. The contract stays as it was."
        return await _close(request, db, user, contract_id, amendment_id, amendments.withdraw, message)

    @post("/{amendment_id:int}/decline", name="contracts:amendment-decline")
    async def decline(
        self, request: Request, contract_id: FromPath[int], amendment_id: FromPath[int], db: DB, user: CurrentUser
    ) -> Response:
        message = "You declined the change. The contract stays as it was."
        return await _close(request, db, user, contract_id, amendment_id, amendments.decline, message)
