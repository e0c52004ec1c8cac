"""Drafting pages: the contract list, a new draft, the contract page and the editor (save, autosave, send)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, Parameter
from litestar.plugins.flash import flash
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_login_admins_mfa, requires_role
from app.accounts.models import Role, User
from app.contracts import services
from app.contracts.drafting import clauses, forms
from app.contracts.drafting import services as drafting
from app.contracts.models import Contract, ContractStatus
from app.contracts.pages import STATUS_WORDS, current_fee, detail_context
from app.contracts.signing import services as signing
from app.contracts.terms import PlatformFee, Terms
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.web.forms import FormData, text
from app.web.htmx import see_other, toast_headers
from app.web.templating import is_htmx, render


def contracts_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Signed-in people (an admin after two-step sign-in); a handler with opt `clients_only`:
    clients only, everyone else signed in gets 404."""
    if handler.opt.get("clients_only"):
        requires_role(Role.client)(connection, handler)
    else:
        requires_login_admins_mfa(connection, handler)


CLIENTS_ONLY = {"clients_only": True}


async def _new_page(
    request: Request,
    db: AsyncSession,
    user: CurrentUser,
    form: dict[str, Any],
    errors: dict | None = None,
    status_code: int = 200,
) -> Response:
    known = await drafting.known_contractors(db, user)
    return render(
        request,
        "contracts/new.html",
        {"known": known, "options": [(str(u.id), u.name) for u in known], "form": form, "errors": errors or {}},
        status_code=status_code,
    )


def fee_context(fee: PlatformFee, terms: Terms) -> dict[str, Any]:
    """For contracts/_total.html: the fee sending would write, and what the contractor receives of
    the milestones with it taken on each release."""
    return {"fee": fee, "share": sum(fee.share_minor(m.amount_minor) for m in terms.milestones)}


async def _editor_context(
    request: Request,
    db: AsyncSession,
    contract: Contract,
    user: CurrentUser,
    *,
    parsed: forms.Parsed | None = None,
    errors=None,
) -> dict[str, Any]:
    from app.contracts.templates.services import available_templates

    terms = parsed.terms if parsed else contract.draft_terms
    form = forms.form_from_terms(terms)
    if parsed:
        form |= {f"tv_{k}": v for k, v in parsed.values.items()}
    rows = parsed.rows if parsed else forms.rows_from_terms(terms)
    templates = await available_templates(db, contract.company_id)
    chosen = [t for t in templates if terms.template and t.key == terms.template.key] + [
        t for t in templates if t.key in set(form["riders"])
    ]
    people = await services.parties_of(db, contract)
    version = await services.current_version(db, contract)
    review = contract.review if contract.review and contract.review.get("rev") == contract.draft_rev else None
    return {
        "contract": contract,
        "form": form,
        "rows": rows,
        "errors": errors if errors is not None else (parsed.errors if parsed else {}),
        "total": terms.milestone_total,
        "currency": terms.currency,
        **fee_context(current_fee(request), terms),
        "template_options": [(t.key, t.title) for t in templates if t.kind != "rider"],
        "riders": [t for t in templates if t.kind == "rider"],
        "extra_fields": [(t, clauses.extra_placeholders(t)) for t in chosen if clauses.extra_placeholders(t)],
        "client": people[contract.client_id],
        "contractor": people[contract.contractor_id],
        "other": people[contract.other_party(user.id)],
        "version": version,
        "edited_by": people.get(contract.draft_edited_by) if contract.draft_edited_by else None,
        "review": review,
        "periods": forms.PERIODS,
        "min_days": forms.MIN_REVIEW_DAYS,
        "max_days": forms.MAX_REVIEW_DAYS,
        "max_milestones": forms.MAX_MILESTONES,
    }


class ContractController(Controller):
    """Contracts: the list, a new draft, one contract's page and its editor."""

    path = "/contracts"
    guards = [contracts_guard]

    @get("/", name="contracts:list")
    async def index(self, request: Request, db: DB, user: CurrentUser) -> Response:
        contracts = await services.listed_for(db, user, limit=200)
        ids = {c.client_id for c in contracts} | {c.contractor_id for c in contracts}
        people = {u.id: u for u in (await db.scalars(select(User).where(User.id.in_(ids)))).all()} if ids else {}
        groups = {
            "Needs your attention": [c for c in contracts if c.status in (ContractStatus.draft, ContractStatus.sent)],
            "Active": [c for c in contracts if c.status == ContractStatus.active],
            "Finished": [
                c
                for c in contracts
                if c.status in (ContractStatus.completed, ContractStatus.cancelled, ContractStatus.terminated)
            ],
        }
        context = {"groups": groups, "people": people, "words": STATUS_WORDS}
        return render(request, "contracts/list.html", context)

    @get("/new", name="contracts:new", opt=CLIENTS_ONLY)
    async def new(
        self, request: Request, db: DB, user: CurrentUser, contractor: int | None = Parameter(default=None)
    ) -> Response:
        return await _new_page(request, db, user, {"contractor_id": str(contractor or ""), "title": ""})

    @post("/", name="contracts:create", opt=CLIENTS_ONLY)
    async def create(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        form = {"contractor_id": text(data, "contractor_id"), "title": text(data, "title")}
        try:
            new = forms.read_new_contract(data)
        except FormError as exc:
            return await _new_page(request, db, user, form, exc.errors, 422)
        try:
            contract = await drafting.draft_for_contractor(db, user, new.contractor_id, title=new.title)
        except NotFound:
            return await _new_page(request, db, user, form, {"contractor_id": ["Choose someone from the list."]}, 422)
        await db.commit()
        return see_other(request, request.app.route_reverse("contracts:edit", contract_id=contract.id))

    @get("/{contract_id:int}", name="contracts:detail")
    async def detail(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        contract = await services.contract_for(db, contract_id, user)
        if contract.status == ContractStatus.draft and user.id == contract.client_id and not is_htmx(request):
            return see_other(request, request.app.route_reverse("contracts:edit", contract_id=contract.id))
        context = await detail_context(db, contract, user, fee=current_fee(request))
        document = context["document"]
        if document and document["state"] == "preparing" and not is_htmx(request):
            # Normally queued at signing; asking again is harmless (the task does nothing when the
            # PDF is stored) and covers a rendering whose job was lost or gave up.
            from app.contracts.documents.services import render_final_later

            render_final_later(db, contract.id, contract.current_version_id)
            await db.commit()
        return render(request, "contracts/detail.html", context, block="live")

    @get("/{contract_id:int}/edit", name="contracts:edit")
    async def edit(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        contract = await drafting.editable(db, contract_id, user)
        if not contract.review or contract.review.get("rev") != contract.draft_rev:
            services.review_if_stale(db, contract)
            await db.commit()
        return render(request, "contracts/edit.html", await _editor_context(request, db, contract, user))

    @get("/{contract_id:int}/review", name="contracts:review")
    async def review(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        """The review block next to the editor, for whoever may edit the draft; the editor re-fetches it
        when the live event "contract-<id>-review" arrives. A review of an older revision shows as pending."""
        contract = await drafting.editable(db, contract_id, user)
        review = contract.review if contract.review and contract.review.get("rev") == contract.draft_rev else None
        context = {"contract": contract, "review": review, "pending": review is None}
        return render(request, "contracts/_review.html", context)

    @post("/{contract_id:int}/edit", name="contracts:save")
    async def save(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        """The editor's Save button and its milestone row buttons (add, remove, move)."""
        parsed = forms.read_draft(data, row_buttons=True)
        op = parsed.op
        contract, saved = await drafting.save_draft(db, contract_id, user, parsed)
        if not saved and not op:
            context = await _editor_context(request, db, contract, user, parsed=parsed)
            return render(request, "contracts/edit.html", context, status_code=422, block="editor")
        if saved:
            await db.commit()
        if is_htmx(request):
            # Row buttons keep what was typed even where it is not valid yet; messages wait for Save.
            context = await _editor_context(request, db, contract, user, parsed=parsed, errors={} if op else None)
            headers = {} if op else toast_headers("Draft saved.", "success")
            return render(request, "contracts/edit.html", context, block="editor", headers=headers)
        if op and not saved:
            context = await _editor_context(request, db, contract, user, parsed=parsed, errors={})
            return render(request, "contracts/edit.html", context)
        flash(request, "Draft saved.", category="success")
        target = request.app.route_reverse("contracts:edit", contract_id=contract.id)
        return see_other(request, target + ("#milestones" if op else ""))

    @post("/{contract_id:int}/autosave", name="contracts:autosave")
    async def autosave(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        """htmx autosave while typing: answers with the save status, the new revision and the total."""
        try:
            parsed = forms.read_draft(data)
            contract, saved = await drafting.save_draft(db, contract_id, user, parsed)
        except DomainError as exc:
            return render(request, "contracts/_save_status.html", {"conflict": exc.message}, status_code=409)
        if saved:
            await db.commit()
        context = {
            "answer": True,
            "contract": contract,
            "saved": saved,
            "problems": [m for msgs in parsed.errors.values() for m in msgs],
            "total": parsed.terms.milestone_total,
            "currency": parsed.terms.currency,
            "stated": parsed.terms.stated_total_minor,
            **fee_context(current_fee(request), parsed.terms),
        }
        return render(request, "contracts/_save_status.html", context)

    @post("/{contract_id:int}/send", name="contracts:send")
    async def send(
        self, request: Request, contract_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        """Save what is on screen, then freeze it as the next version for the other party to sign."""
        parsed = forms.read_draft(data)
        contract, saved = await drafting.save_draft(db, contract_id, user, parsed)
        if not saved:
            context = await _editor_context(request, db, contract, user, parsed=parsed)
            return render(request, "contracts/edit.html", context, status_code=422, block="editor")
        problems = signing.sendable_problems(contract.draft_terms)
        if problems:
            await db.commit()  # keep what they typed
            context = await _editor_context(request, db, contract, user, errors={"form": problems})
            return render(request, "contracts/edit.html", context, status_code=422, block="editor")
        version = await signing.send(db, contract.id, user, fee=current_fee(request))
        await db.commit()
        people = await services.parties_of(db, contract)
        other = people[contract.other_party(user.id)]
        flash(
            request,
            f"Version {version.number} sent to {other.name}. You’ll see here when they sign.",
            category="success",
        )
        target = request.app.route_reverse("contracts:detail", contract_id=contract.id)
        if is_htmx(request):
            return Response(content="", status_code=200, headers={"HX-Redirect": target})
        return see_other(request, target)
