"""Versions and signing pages: the list of sent versions, one version's terms, a comparison of two;
signing the version on the table, asking for a change, and cancelling before both have signed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_login_admins_mfa
from app.accounts.models import User
from app.contracts.models import Contract, ContractStatus, ContractVersion, Signature
from app.contracts.pages import current_fee, detail_context
from app.contracts.services import contract_for
from app.contracts.signing import services as signing
from app.contracts.signing.diff import diff_terms, summary
from app.contracts.signing.forms import read_change_request, read_signature
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.web.forms import FormData, whole_number
from app.web.htmx import see_other
from app.web.ratelimit import request_ip
from app.web.templating import render


@dataclass
class SignedBy:
    name: str
    role: str  # "client" | "contractor": the party's side in this contract
    at: datetime


@dataclass
class VersionRow:
    version: ContractVersion
    sender: str
    current: bool
    signatures: list[SignedBy] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)  # parties yet to sign the current version


async def versions_of(db: AsyncSession, contract: Contract) -> list[ContractVersion]:
    query = select(ContractVersion).where(ContractVersion.contract_id == contract.id).order_by(ContractVersion.number)
    return list((await db.scalars(query)).all())


async def _rows(db: AsyncSession, contract: Contract, versions: list[ContractVersion]) -> list[VersionRow]:
    """Each version with who sent it and who signed it, newest first."""
    signatures = (
        await db.scalars(select(Signature).where(Signature.contract_id == contract.id).order_by(Signature.created_at))
    ).all()
    ids = {contract.client_id, contract.contractor_id} | {v.created_by for v in versions}
    names = dict((await db.execute(select(User.id, User.name).where(User.id.in_(ids)))).all())

    def side(user_id: int) -> str:
        return "client" if user_id == contract.client_id else "contractor"

    rows = []
    for v in reversed(versions):
        signed = [SignedBy(names.get(s.user_id, "Someone"), side(s.user_id), s.created_at) for s in signatures
                  if s.version_id == v.id]  # fmt: skip
        current = v.id == contract.current_version_id
        waiting = []
        if current and contract.status == "sent":
            signers = {s.user_id for s in signatures if s.version_id == v.id}
            waiting = [names.get(uid, "Someone") for uid in (contract.client_id, contract.contractor_id)
                       if uid not in signers]  # fmt: skip
        rows.append(VersionRow(v, names.get(v.created_by, "Someone"), current, signed, waiting))
    return rows


def _contract_url(request: Request, contract: Contract) -> str:
    return request.app.route_reverse("contracts:detail", contract_id=contract.id)


def _number(raw: str | None) -> int | None:
    """A version number from the query string; anything that is not one is an unknown version."""
    if raw is None or raw.strip() == "":
        return None
    number = whole_number(raw.strip())
    if number is None:
        raise NotFound(raw)
    return number


class VersionController(Controller):
    """A contract's sent versions: the list, one version, and two compared."""

    path = "/contracts/{contract_id:int}"
    guards = [requires_login_admins_mfa]

    @get("/versions", name="contracts:versions")
    async def versions(self, request: Request, db: DB, contract_id: FromPath[int], user: CurrentUser) -> Response:
        contract = await contract_for(db, contract_id, user)
        versions = await versions_of(db, contract)
        return render(
            request,
            "contracts/versions.html",
            {"contract": contract, "rows": await _rows(db, contract, versions),
             "contract_url": _contract_url(request, contract)},
        )  # fmt: skip

    @get("/versions/{number:int}", name="contracts:version")
    async def version(
        self, request: Request, db: DB, contract_id: FromPath[int], number: FromPath[int], user: CurrentUser
    ) -> Response:
        contract = await contract_for(db, contract_id, user)
        versions = await versions_of(db, contract)
        rows = [r for r in await _rows(db, contract, versions) if r.version.number == number]
        if not rows:
            raise NotFound(number)
        return render(
            request,
            "contracts/version.html",
            {"contract": contract, "row": rows[0], "version": rows[0].version, "latest": versions[-1].number,
             "contract_url": _contract_url(request, contract)},
        )  # fmt: skip

    @get("/compare", name="contracts:compare")
    async def compare(self, request: Request, db: DB, contract_id: FromPath[int], user: CurrentUser) -> Response:
        """?from=N&to=M (defaults: the latest version against the one before it)."""
        contract = await contract_for(db, contract_id, user)
        versions = await versions_of(db, contract)
        by_number = {v.number: v for v in versions}
        asked_from, asked_to = _number(request.query_params.get("from")), _number(request.query_params.get("to"))
        for asked in (asked_from, asked_to):
            if asked is not None and asked not in by_number:
                raise NotFound(asked)
        context: dict[str, Any] = {
            "contract": contract,
            "versions": versions,
            "contract_url": _contract_url(request, contract),
        }
        to_number = asked_to if asked_to is not None else (versions[-1].number if versions else None)
        from_number = asked_from if asked_from is not None else (to_number - 1 if to_number else None)
        if to_number is None or from_number not in by_number:
            # Not sent yet, or only one version so far: nothing to compare, and the page says so.
            return render(request, "contracts/compare.html", context | {"from_number": None, "to_number": to_number})
        changes = diff_terms(by_number[from_number].terms, by_number[to_number].terms)
        return render(
            request,
            "contracts/compare.html",
            context | {"from_number": from_number, "to_number": to_number, "changes": changes, "summary": summary(changes),
                       "old": by_number[from_number], "new": by_number[to_number]},
        )  # fmt: skip


class SigningController(Controller):
    """Answering the version on the table: sign it, ask for a change, or cancel before both have signed."""

    path = "/contracts/{contract_id:int}"
    guards = [requires_login_admins_mfa]

    @post("/cancel", name="contracts:cancel")
    async def cancel(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        contract = await signing.cancel(db, contract_id, user)
        await db.commit()
        flash(request, "The contract was cancelled. Nothing was signed and no money moved.", category="info")
        return see_other(request, request.app.route_reverse("contracts:detail", contract_id=contract.id))

    @post("/changes", name="contracts:request-change")
    async def request_change(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        message = read_change_request(data)
        try:
            await signing.request_change(db, contract_id, user, message)
        except FormError as exc:
            contract = await contract_for(db, contract_id, user)
            context = await detail_context(
                db, contract, user, fee=current_fee(request), change_form={"message": message}, change_errors=exc.errors
            )
            return render(request, "contracts/detail.html", context, status_code=422)
        await db.commit()
        flash(request, "Your request was sent. You’ll see the new version here when it comes.", category="success")
        return see_other(request, request.app.route_reverse("contracts:detail", contract_id=contract_id))

    @post("/sign", name="contracts:sign")
    async def sign(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        signature = read_signature(data)
        errors = signing.signature_problems(user, signature.typed_name, signature.consent)
        contract = await contract_for(db, contract_id, user)
        if errors:
            sign_form = {"typed_name": signature.typed_name, "consent": signature.consent}
            context = await detail_context(
                db, contract, user, fee=current_fee(request), sign_form=sign_form, sign_errors=errors
            )
            return render(request, "contracts/detail.html", context, status_code=422)
        try:
            contract = await signing.sign(
                db,
                contract_id,
                user,
                version_hash=signature.version_hash,
                typed_name=signature.typed_name,
                consent=signature.consent,
                context=signing.SignContext(ip=request_ip(request), user_agent=request.headers.get("user-agent")),
            )
        except DomainError as exc:
            await db.rollback()
            contract = await contract_for(db, contract_id, user)
            context = await detail_context(db, contract, user, fee=current_fee(request), sign_refused=exc.message)
            return render(request, "contracts/detail.html", context, status_code=409)
        await db.commit()
        if contract.status == ContractStatus.active:
            flash(request, "Signed by both of you: the contract is active.", category="success")
        else:
            flash(request, "You signed. We’ll let you know when the other side signs too.", category="success")
        return see_other(request, request.app.route_reverse("contracts:detail", contract_id=contract.id))
