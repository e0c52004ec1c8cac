"""The contract page's context: drafting's detail page renders it, and signing re-renders it with a
form's errors (a signature or a change request that could not be taken)."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.contracts import services
from app.contracts.models import Contract, ContractStatus, Signature
from app.contracts.terms import PlatformFee

STATUS_WORDS = {
    ContractStatus.draft: "Draft",
    ContractStatus.sent: "Waiting for signatures",
    ContractStatus.active: "Active",
    ContractStatus.completed: "Completed",
    ContractStatus.cancelled: "Cancelled",
    ContractStatus.terminated: "Ended early",
}


def current_fee(request: Request) -> PlatformFee:
    """The fee a version sent now carries (PLATFORM_FEE_PERCENT): what a draft shows before it is sent."""
    return PlatformFee.current(request.app.state.settings)


async def detail_context(
    db: AsyncSession, contract: Contract, user: User, *, fee: PlatformFee, **extra: Any
) -> dict[str, Any]:
    """For templates/contracts/detail.html, as `user` sees it; `extra` fills in a form's values and errors.
    A draft not sent yet shows its terms with `fee`, the fee sending would write into them."""
    from app.contracts.amendments.views import amendments_panel_context
    from app.contracts.documents.services import document_panel_context
    from app.contracts.drafting.services import has_unsent_changes
    from app.contracts.signing.diff import changes_context
    from app.contracts.signing.services import open_change_requests
    from app.escrow.views import milestone_section

    version = await services.current_version(db, contract)
    signatures = (
        list((await db.scalars(select(Signature).where(Signature.version_id == version.id))).all()) if version else []
    )
    signed_by = {s.user_id: s for s in signatures}
    people = await services.parties_of(db, contract)
    live = contract.status in (ContractStatus.active, ContractStatus.completed, ContractStatus.terminated)
    context = {
        "contract": contract,
        "version": version,
        "terms": version.terms if version else contract.draft_terms.with_(platform_fee=fee),
        "client": people[contract.client_id],
        "contractor": people[contract.contractor_id],
        "people": people,
        "signed_by": signed_by,
        "me": user,
        "is_party": contract.party(user.id),
        "can_edit": services.can_edit(contract, user),
        "may_sign": contract.status == ContractStatus.sent
        and contract.party(user.id)
        and user.id not in signed_by
        and user.role != Role.admin,
        "unsent": version is not None
        and contract.status == ContractStatus.sent
        and has_unsent_changes(contract, version),
        "change_requests": await open_change_requests(db, contract),
        # One card per milestone with its state, delivery and this person's actions (app/escrow/views.py).
        "milestones": await milestone_section(db, contract, user, await services.milestones_of(db, contract))
        if live
        else None,
        "changes": await changes_context(db, contract) if version else None,
        "document": await document_panel_context(db, contract) if version else None,
        "amendments": await amendments_panel_context(db, contract, user) if live else None,
        "words": STATUS_WORDS,
        "sign_form": {},
        "sign_errors": {},
        "change_form": {},
        "change_errors": {},
    }
    return context | extra
