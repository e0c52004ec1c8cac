"""Contract version pages: the list of sent versions, one version's terms, and a comparison of two."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NoRouteMatchFoundException
from litestar.params import FromPath
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import requires_login_admins_mfa
from app.accounts.models import User
from app.contracts.models import Contract, ContractVersion, Signature
from app.contracts.services import contract_for
from app.contracts.signing.diff import diff_terms, summary
from app.db import DB
from app.errors import NotFound
from app.web.forms import whole_number
from app.web.templating import render

LOGIN = [requires_login_admins_mfa]


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


def _contract_url(request: Request, contract: Contract) -> str | None:
    """The contract page, once its route exists (it is built separately from these pages)."""
    try:
        return request.app.route_reverse("contracts:detail", contract_id=contract.id)
    except NoRouteMatchFoundException:
        return None


def _number(raw: str | None) -> int | None:
    """A version number from the query string; anything that is not one is an unknown version."""
    if raw is None or raw.strip() == "":
        return None
    number = whole_number(raw.strip())
    if number is None:
        raise NotFound(raw)
    return number


@get("/contracts/{contract_id:int}/versions", name="contracts:versions", guards=LOGIN)
async def versions_page(request: Request, db: DB, contract_id: FromPath[int]) -> Response:
    contract = await contract_for(db, contract_id, request.scope["user"])
    versions = await versions_of(db, contract)
    return render(
        request,
        "contracts/versions.html",
        {"contract": contract, "rows": await _rows(db, contract, versions),
         "contract_url": _contract_url(request, contract)},
    )  # fmt: skip


@get("/contracts/{contract_id:int}/versions/{number:int}", name="contracts:version", guards=LOGIN)
async def version_page(request: Request, db: DB, contract_id: FromPath[int], number: FromPath[int]) -> Response:
    contract = await contract_for(db, contract_id, request.scope["user"])
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


@get("/contracts/{contract_id:int}/compare", name="contracts:compare", guards=LOGIN)
async def compare_page(request: Request, db: DB, contract_id: FromPath[int]) -> Response:
    """?from=N&to=M (defaults: the latest version against the one before it)."""
    contract = await contract_for(db, contract_id, request.scope["user"])
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


HANDLERS = [versions_page, version_page, compare_page]
