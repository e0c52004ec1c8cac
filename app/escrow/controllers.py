"""Milestone actions on a contract's page, each posted from that milestone's card: Fund (one or all
pending milestones), cancel a payment in progress, Submit work, Approve and release, Ask for a
revision; and the delivered files, for the two parties only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_login_admins_mfa
from app.accounts.models import Role, User
from app.contracts.models import Contract, Milestone, MilestoneStatus
from app.contracts.pages import current_fee, detail_context
from app.contracts.services import contract_for, current_version
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.escrow import funding, lifecycle
from app.escrow.forms import MAX_FILES, FundingInput, read_funding, read_reason, read_submission
from app.escrow.models import Submission, SubmissionFile
from app.files.models import FilePurpose, StoredFile
from app.files.services import store_file
from app.files.storage import storage_for
from app.files.uploads import FORM_OVERHEAD_BYTES, MAX_FILE_BYTES
from app.web.forms import FormData, Multipart, text, whole_number
from app.web.htmx import see_other, toast_response
from app.web.templating import is_htmx, render

FUND_SCOPE = "escrow:fund"
APPROVE_SCOPE = "escrow:approve"


async def _party_contract(db: AsyncSession, contract_id: int, user: User) -> Contract:
    """Milestone actions and files are for the two parties: admins and everyone else get 404."""
    contract = await contract_for(db, contract_id, user)
    if user.role == Role.admin or not contract.party(user.id):
        raise NotFound(contract_id)
    return contract


async def _milestone_of(db: AsyncSession, contract: Contract, milestone_id: int) -> Milestone:
    m = await db.scalar(select(Milestone).where(Milestone.id == milestone_id, Milestone.contract_id == contract.id))
    if m is None or m.status == MilestoneStatus.removed:
        raise NotFound(milestone_id)
    return m


async def _milestone_for(
    db: AsyncSession, contract_id: int, milestone_id: int, user: User, side: str
) -> tuple[Contract, Milestone]:
    """A milestone action for one side only (`client` or `contractor`): 404 for everyone else."""
    contract = await _party_contract(db, contract_id, user)
    m = await _milestone_of(db, contract, milestone_id)
    if user.id != getattr(contract, f"{side}_id"):
        raise NotFound(milestone_id)
    return contract, m


def _contract_url(request: Request, contract_id: int, milestone_id: int | None = None) -> str:
    url = request.app.route_reverse("contracts:detail", contract_id=contract_id)
    return url + (f"#milestone-{milestone_id}" if milestone_id else "")


async def _page(
    request: Request,
    db: AsyncSession,
    user: User,
    contract_id: int,
    *,
    milestone_id: int | None,
    status_code: int,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, Any] | None = None,
    refused: str = "",
) -> Response:
    """The contract page again, with a form's errors or a refusal inside the card it came from
    (`milestone_id` None: the "Fund all" form above the cards)."""
    await db.rollback()
    contract = await contract_for(db, contract_id, user)
    context = await detail_context(db, contract, user, fee=current_fee(request))
    section = context["milestones"]
    if section is not None:
        if milestone_id is None:
            section.fund_all_errors, section.fund_all_refused = errors or {}, refused
        for card in section.cards:
            if card.id == milestone_id:
                card.errors, card.form, card.refused = errors or {}, form or {}, refused
    return render(request, "contracts/detail.html", context, status_code=status_code, block="live")


async def _refused(
    request: Request, db: AsyncSession, user: User, contract_id: int, milestone_id: int | None, exc: DomainError
) -> Response:
    """A verb said no: a toast for htmx, else the page with the message in the card (409)."""
    if is_htmx(request):
        await db.rollback()
        return toast_response(exc.message, status_code=exc.status_code)
    return await _page(request, db, user, contract_id, milestone_id=milestone_id, status_code=exc.status_code,
                       refused=exc.message)  # fmt: skip


async def _once(
    request: Request,
    user: User,
    data: dict[str, Any],
    scope: str,
    fingerprint: dict[str, str],
    work: Callable[[], Awaitable[Response]],
) -> Response:
    """Money-moving posts run at most once per idempotency key (decision 0032)."""
    from app.escrow.idempotency import once

    return await once(request, user_id=user.id, key=text(data, "idempotency_key") or None, scope=scope,
                      fingerprint=fingerprint, work=work)  # fmt: skip


async def _check_amount(db: AsyncSession, contract: Contract, wanted: FundingInput) -> dict[str, list[str]]:
    """The amount posted must be exactly what the page showed for these milestones, in the contract's
    currency; anything else is refused before a payment starts."""
    milestones = list(
        (
            await db.scalars(
                select(Milestone).where(Milestone.contract_id == contract.id, Milestone.id.in_(wanted.milestone_ids))
            )
        ).all()
    )
    if len(milestones) != len(wanted.milestone_ids):
        raise NotFound(contract.id)
    version = await current_version(db, contract)
    currency = version.terms.currency if version else milestones[0].currency
    if wanted.currency != currency or any(m.currency != currency for m in milestones):
        return {"currency": [f"This contract is paid in {currency}. Reload the page and fund again."]}
    if wanted.amount_minor != sum(m.amount_minor for m in milestones):
        return {"amount": ["This is not the amount of these milestones. Reload the page to see what to pay."]}
    return {}


class MilestoneController(Controller):
    """The actions in each milestone's card on the contract page."""

    path = "/contracts/{contract_id:int}/milestones"
    guards = [requires_login_admins_mfa]

    @post("/fund", name="escrow:fund")
    async def fund(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        """ "Fund" (one milestone) and "Fund all N milestones": a payment of exactly the amount shown,
        then the browser goes to the provider's checkout. Also "Continue to payment" (the same
        milestones again give back the checkout in progress)."""
        contract = await _party_contract(db, contract_id, user)
        if user.id != contract.client_id:
            raise NotFound(contract_id)
        # The card the form came from: one milestone's, or "Fund all" above the cards (None).
        single = whole_number(data["milestone"]) if isinstance(data.get("milestone"), str) else None
        try:
            wanted = read_funding(data)
        except FormError as exc:
            return await _page(request, db, user, contract_id, milestone_id=single, status_code=422, errors=exc.errors)
        fingerprint = {"contract": str(contract_id), "milestones": ",".join(map(str, wanted.milestone_ids)),
                       "amount": str(wanted.amount_minor), "currency": wanted.currency}  # fmt: skip

        async def work() -> Response:
            problems = await _check_amount(db, contract, wanted)
            if problems:
                return await _page(request, db, user, contract_id, milestone_id=single, status_code=422,
                                   errors=problems)  # fmt: skip
            from app.payments.providers import get_provider

            sessionmaker = request.app.state.sessionmaker
            provider = get_provider(request.app.state.settings, sessionmaker)
            try:
                opened = await funding.open_funding(db, contract_id, user, wanted.milestone_ids, provider=provider.name)
                await db.commit()
                url = await funding.start_checkout(sessionmaker, provider, opened.id)
            except DomainError as exc:
                return await _refused(request, db, user, contract_id, single, exc)
            return see_other(request, url)

        return await _once(request, user, data, FUND_SCOPE, fingerprint, work)

    @post("/payments/{funding_id:str}/cancel", name="escrow:cancel-payment")
    async def cancel_payment(
        self, request: Request, contract_id: FromPath[int], funding_id: FromPath[str], db: DB, user: CurrentUser
    ) -> Response:
        """ "Cancel this payment": the checkout in progress is closed; nothing was charged."""
        await _party_contract(db, contract_id, user)
        if len(funding_id) > 40:
            raise NotFound(funding_id)
        try:
            await funding.cancel_by_client(db, contract_id, funding_id, user)
        except DomainError as exc:
            return await _refused(request, db, user, contract_id, None, exc)
        await db.commit()
        flash(request, "Payment cancelled. Nothing was charged; you can fund the milestone again.", category="info")
        return see_other(request, _contract_url(request, contract_id))

    @post(
        "/{milestone_id:int}/submit",
        name="escrow:submit",
        request_max_body_size=MAX_FILES * MAX_FILE_BYTES + FORM_OVERHEAD_BYTES,
    )
    async def submit(
        self,
        request: Request,
        contract_id: FromPath[int],
        milestone_id: FromPath[int],
        data: Multipart,
        db: DB,
        user: CurrentUser,
    ) -> Response:
        """ "Submit work": what was delivered and its files; the review clock starts."""
        _, m = await _milestone_for(db, contract_id, milestone_id, user, "contractor")
        try:
            delivery = await read_submission(data)
        except FormError as exc:
            return await _page(request, db, user, contract_id, milestone_id=m.id, status_code=422,
                               errors=exc.errors, form={"message": text(data, "message")[:20000]})  # fmt: skip
        storage = storage_for(request.app.state.settings)
        try:
            stored = [
                await store_file(db, storage, user, FilePurpose.milestone_delivery, upload) for upload in delivery.files
            ]
            await lifecycle.submit(db, m.id, user, delivery.message, stored)
        except DomainError as exc:
            return await _refused(request, db, user, contract_id, m.id, exc)
        await db.commit()
        flash(request, "Work submitted. The client has until the end of the review window to answer.", "success")
        return see_other(request, _contract_url(request, contract_id, m.id))

    @post("/{milestone_id:int}/approve", name="escrow:approve")
    async def approve(
        self,
        request: Request,
        contract_id: FromPath[int],
        milestone_id: FromPath[int],
        data: FormData,
        db: DB,
        user: CurrentUser,
    ) -> Response:
        """ "Approve and release": the held amount goes to the contractor, less the signed fee."""
        _, m = await _milestone_for(db, contract_id, milestone_id, user, "client")

        async def work() -> Response:
            try:
                await lifecycle.approve(db, m.id, user)
            except DomainError as exc:
                return await _refused(request, db, user, contract_id, m.id, exc)
            await db.commit()
            flash(request, "Approved. The payment is released to the contractor.", category="success")
            return see_other(request, _contract_url(request, contract_id, m.id))

        fingerprint = {"contract": str(contract_id), "milestone": str(m.id)}
        return await _once(request, user, data, APPROVE_SCOPE, fingerprint, work)

    @post("/{milestone_id:int}/revision", name="escrow:revision")
    async def revision(
        self,
        request: Request,
        contract_id: FromPath[int],
        milestone_id: FromPath[int],
        data: FormData,
        db: DB,
        user: CurrentUser,
    ) -> Response:
        """ "Ask for a revision" with a reason; the money stays held."""
        _, m = await _milestone_for(db, contract_id, milestone_id, user, "client")
        try:
            reason = read_reason(data)
        except FormError as exc:
            return await _page(request, db, user, contract_id, milestone_id=m.id, status_code=422,
                               errors=exc.errors, form={"reason": text(data, "reason")[:20000]})  # fmt: skip
        try:
            await lifecycle.request_revision(db, m.id, user, reason)
        except DomainError as exc:
            return await _refused(request, db, user, contract_id, m.id, exc)
        await db.commit()
        flash(request, "Revision asked. The contractor sees your reason now.", category="success")
        return see_other(request, _contract_url(request, contract_id, m.id))

    @get("/{milestone_id:int}/files/{file_id:int}", name="escrow:file")
    async def file(
        self,
        request: Request,
        contract_id: FromPath[int],
        milestone_id: FromPath[int],
        file_id: FromPath[int],
        db: DB,
        user: CurrentUser,
    ) -> Response:
        """A delivered file, as an attachment, for the two parties only."""
        contract = await _party_contract(db, contract_id, user)
        m = await _milestone_of(db, contract, milestone_id)
        row = await db.scalar(
            select(StoredFile)
            .join(SubmissionFile, SubmissionFile.file_id == StoredFile.id)
            .join(Submission, Submission.id == SubmissionFile.submission_id)
            .where(StoredFile.id == file_id, Submission.milestone_id == m.id)
        )
        if row is None:
            raise NotFound(file_id)
        data = await storage_for(request.app.state.settings).get(row.storage_key)
        name = row.original_name or f"delivery-{row.id}"
        fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)[:100]
        return Response(
            data,
            media_type=row.content_type,
            headers={
                "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}",
                "Cache-Control": "private, no-store",
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )
