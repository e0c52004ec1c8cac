"""Contract pages: the list, drafting, the editor, sending versions, asking for changes, signing."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.plugins.flash import flash
from sqlalchemy import select

from app.accounts.guards import requires_login_admins_mfa, requires_role
from app.accounts.models import Role, User
from app.contracts import services
from app.contracts.drafting import clauses, forms
from app.contracts.drafting import services as drafting
from app.contracts.models import Contract, ContractStatus, Signature
from app.contracts.signing import services as signing
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.web.forms import FormData, checkbox, text, whole_number
from app.web.htmx import see_other, toast_headers
from app.web.ratelimit import request_ip
from app.web.templating import is_htmx, render

CLIENT = [requires_role(Role.client)]
STATUS_WORDS = {
    ContractStatus.draft: "Draft",
    ContractStatus.sent: "Waiting for signatures",
    ContractStatus.active: "Active",
    ContractStatus.completed: "Completed",
    ContractStatus.cancelled: "Cancelled",
    ContractStatus.terminated: "Ended early",
}


def _user(request: Request) -> User:
    return request.scope["user"]


def _url(request: Request, name: str, contract: Contract) -> str:
    return request.app.route_reverse(name, contract_id=contract.id)


async def _names(db, contract: Contract) -> dict[int, User]:
    users = (await db.scalars(select(User).where(User.id.in_([contract.client_id, contract.contractor_id])))).all()
    return {u.id: u for u in users}


# ---------------------------------------------------------------------------------- list + new --


@get("/contracts", name="contracts:list", guards=[requires_login_admins_mfa])
async def contract_list(request: Request, db: DB) -> Response:
    user = _user(request)
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


async def _new_page(request: Request, db, form: dict[str, Any], errors: dict | None = None, status_code: int = 200):
    known = await drafting.known_contractors(db, _user(request))
    return render(
        request,
        "contracts/new.html",
        {"known": known, "options": [(str(u.id), u.name) for u in known], "form": form, "errors": errors or {}},
        status_code=status_code,
    )


@get("/contracts/new", name="contracts:new", guards=CLIENT)
async def new_contract(request: Request, db: DB, contractor: int | None = Parameter(default=None)) -> Response:
    return await _new_page(request, db, {"contractor_id": str(contractor or ""), "title": ""})


@post("/contracts", name="contracts:create", guards=CLIENT)
async def create_contract(request: Request, data: FormData, db: DB) -> Response:
    form = {"contractor_id": text(data, "contractor_id"), "title": text(data, "title")}
    contractor_id = whole_number(form["contractor_id"])
    errors: dict[str, list[str]] = {}
    if contractor_id is None:
        errors["contractor_id"] = ["Choose who the contract is with."]
    if not form["title"]:
        errors["title"] = ["Give the contract a title, for example “Website redesign”."]
    if errors:
        return await _new_page(request, db, form, errors, 422)
    try:
        contract = await drafting.draft_for_contractor(db, _user(request), contractor_id, title=form["title"])
    except NotFound:
        return await _new_page(request, db, form, {"contractor_id": ["Choose someone from the list."]}, 422)
    await db.commit()
    return see_other(request, _url(request, "contracts:edit", contract))


# -------------------------------------------------------------------------------------- detail --


async def _detail_context(request: Request, db, contract: Contract, **extra: Any) -> dict[str, Any]:
    from app.contracts.amendments.views import amendments_panel_context
    from app.contracts.documents.services import document_panel_context
    from app.contracts.signing.diff import changes_context

    user = _user(request)
    version = await services.current_version(db, contract)
    signatures = (
        list((await db.scalars(select(Signature).where(Signature.version_id == version.id))).all()) if version else []
    )
    signed_by = {s.user_id: s for s in signatures}
    people = await _names(db, contract)
    live = contract.status in (ContractStatus.active, ContractStatus.completed, ContractStatus.terminated)
    context = {
        "contract": contract,
        "version": version,
        "terms": version.terms if version else contract.draft_terms,
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
        and drafting.has_unsent_changes(contract, version),
        "change_requests": await signing.open_change_requests(db, contract),
        "milestones": await services.milestones_of(db, contract) if live else [],
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


@get("/contracts/{contract_id:int}", name="contracts:detail", guards=[requires_login_admins_mfa])
async def contract_detail(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    contract = await services.contract_for(db, contract_id, _user(request))
    user = _user(request)
    if contract.status == ContractStatus.draft and user.id == contract.client_id and not is_htmx(request):
        return see_other(request, _url(request, "contracts:edit", contract))
    context = await _detail_context(request, db, contract)
    document = context["document"]
    if document and document["state"] == "preparing" and not is_htmx(request):
        # Normally queued at signing; asking again is harmless (the task does nothing when the
        # PDF is stored) and covers a rendering whose job was lost or gave up.
        from app.contracts.documents.services import render_final_later

        render_final_later(db, contract.id, contract.current_version_id)
        await db.commit()
    return render(request, "contracts/detail.html", context, block="live")


@get("/contracts/{contract_id:int}/document", name="contracts:document", guards=[requires_login_admins_mfa])
async def contract_document(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    """The contract page's PDF panel alone (parties and admins, like the page); the panel re-fetches
    it when the live event "contract-<id>-document" says the signed PDF is stored."""
    from app.contracts.documents.services import document_panel_context

    contract = await services.contract_for(db, contract_id, _user(request))
    document = await document_panel_context(db, contract)
    return render(request, "contracts/_document.html", {"document": document})


# -------------------------------------------------------------------------------------- editor --


async def _editable(db, contract_id: int, user: User, *, lock: bool = False) -> Contract:
    contract = await services.contract_for(db, contract_id, user, lock=lock)
    if not services.can_edit(contract, user):
        raise NotFound()
    return contract


async def _editor_context(
    request: Request, db, contract: Contract, *, parsed: forms.Parsed | None = None, errors=None
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
    people = await _names(db, contract)
    version = await services.current_version(db, contract)
    review = contract.review if contract.review and contract.review.get("rev") == contract.draft_rev else None
    return {
        "contract": contract,
        "form": form,
        "rows": rows,
        "errors": errors if errors is not None else (parsed.errors if parsed else {}),
        "total": terms.milestone_total,
        "currency": terms.currency,
        "template_options": [(t.key, t.title) for t in templates if t.kind != "rider"],
        "riders": [t for t in templates if t.kind == "rider"],
        "extra_fields": [(t, clauses.extra_placeholders(t)) for t in chosen if clauses.extra_placeholders(t)],
        "client": people[contract.client_id],
        "contractor": people[contract.contractor_id],
        "other": people[contract.other_party(_user(request).id)],
        "version": version,
        "edited_by": people.get(contract.draft_edited_by) if contract.draft_edited_by else None,
        "review": review,
        "periods": forms.PERIODS,
        "min_days": forms.MIN_REVIEW_DAYS,
        "max_days": forms.MAX_REVIEW_DAYS,
        "max_milestones": forms.MAX_MILESTONES,
    }


@get("/contracts/{contract_id:int}/edit", name="contracts:edit", guards=[requires_login_admins_mfa])
async def edit_contract(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    contract = await _editable(db, contract_id, _user(request))
    if not contract.review or contract.review.get("rev") != contract.draft_rev:
        services.review_if_stale(db, contract)
        await db.commit()
    return render(request, "contracts/edit.html", await _editor_context(request, db, contract))


@get("/contracts/{contract_id:int}/review", name="contracts:review", guards=[requires_login_admins_mfa])
async def contract_review(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    """The review block next to the editor, for whoever may edit the draft; the editor re-fetches it
    when the live event "contract-<id>-review" arrives. A review of an older revision shows as pending."""
    contract = await _editable(db, contract_id, _user(request))
    review = contract.review if contract.review and contract.review.get("rev") == contract.draft_rev else None
    context = {"contract": contract, "review": review, "pending": review is None}
    return render(request, "contracts/_review.html", context)


async def _parse_and_save(request: Request, db, contract_id: FromPath[int], data: dict[str, Any], *, op: str = ""):
    """Parse the posted editor, render the template clauses and save when it is valid.
    Returns (contract, parsed, saved)."""
    from app.contracts.templates.services import get_template

    user = _user(request)
    # Filling the templates in may take up to the sandbox's deadline: not while holding the row.
    contract = await _editable(db, contract_id, user)
    parsed = forms.parse(data, op=op)
    refs = [parsed.terms.template] if parsed.terms.template else []
    keys = [ref.key for ref in (*refs, *parsed.terms.riders)]
    chosen = [t for t in [await get_template(db, key, contract.company_id) for key in keys] if t is not None]
    people = await _names(db, contract)
    await clauses.with_clauses(parsed, chosen, people[contract.client_id].name, people[contract.contractor_id].name)
    if parsed.errors:
        return contract, parsed, False
    await db.refresh(contract, with_for_update=True)  # fresh and locked for update_draft's checks
    await drafting.update_draft(db, contract.id, user, parsed.terms, expected_rev=whole_number(text(data, "rev")))
    return contract, parsed, True


@post("/contracts/{contract_id:int}/edit", name="contracts:save", guards=[requires_login_admins_mfa])
async def save_contract(request: Request, contract_id: FromPath[int], data: FormData, db: DB) -> Response:
    """The editor's Save button and its milestone row buttons (add, remove, move)."""
    op = text(data, "op")
    contract, parsed, saved = await _parse_and_save(request, db, contract_id, data, op=op)
    if not saved and not op:
        context = await _editor_context(request, db, contract, parsed=parsed)
        return render(request, "contracts/edit.html", context, status_code=422, block="editor")
    if saved:
        await db.commit()
    if is_htmx(request):
        # Row buttons keep what was typed even where it is not valid yet; messages wait for Save.
        context = await _editor_context(request, db, contract, parsed=parsed, errors={} if op else None)
        headers = {} if op else toast_headers("Draft saved.", "success")
        return render(request, "contracts/edit.html", context, block="editor", headers=headers)
    if op and not saved:
        context = await _editor_context(request, db, contract, parsed=parsed, errors={})
        return render(request, "contracts/edit.html", context)
    flash(request, "Draft saved.", category="success")
    return see_other(request, _url(request, "contracts:edit", contract) + ("#milestones" if op else ""))


@post("/contracts/{contract_id:int}/autosave", name="contracts:autosave", guards=[requires_login_admins_mfa])
async def autosave_contract(request: Request, contract_id: FromPath[int], data: FormData, db: DB) -> Response:
    """htmx autosave while typing: answers with the save status, the new revision and the total."""
    try:
        contract, parsed, saved = await _parse_and_save(request, db, contract_id, data)
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
    }
    return render(request, "contracts/_save_status.html", context)


@post("/contracts/{contract_id:int}/send", name="contracts:send", guards=[requires_login_admins_mfa])
async def send_contract(request: Request, contract_id: FromPath[int], data: FormData, db: DB) -> Response:
    """Save what is on screen, then freeze it as the next version for the other party to sign."""
    contract, parsed, saved = await _parse_and_save(request, db, contract_id, data)
    if not saved:
        context = await _editor_context(request, db, contract, parsed=parsed)
        return render(request, "contracts/edit.html", context, status_code=422, block="editor")
    problems = signing.sendable_problems(contract.draft_terms)
    if problems:
        await db.commit()  # keep what they typed
        context = await _editor_context(request, db, contract, errors={"form": problems})
        return render(request, "contracts/edit.html", context, status_code=422, block="editor")
    version = await signing.send(db, contract.id, _user(request))
    await db.commit()
    people = await _names(db, contract)
    other = people[contract.other_party(_user(request).id)]
    flash(
        request, f"Version {version.number} sent to {other.name}. You’ll see here when they sign.", category="success"
    )
    target = _url(request, "contracts:detail", contract)
    if is_htmx(request):
        return Response(content="", status_code=200, headers={"HX-Redirect": target})
    return see_other(request, target)


@post("/contracts/{contract_id:int}/cancel", name="contracts:cancel", guards=[requires_login_admins_mfa])
async def cancel_contract(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    contract = await signing.cancel(db, contract_id, _user(request))
    await db.commit()
    flash(request, "The contract was cancelled. Nothing was signed and no money moved.", category="info")
    return see_other(request, _url(request, "contracts:detail", contract))


# -------------------------------------------------------------------------- changes + signing --


@post("/contracts/{contract_id:int}/changes", name="contracts:request-change", guards=[requires_login_admins_mfa])
async def request_change(request: Request, contract_id: FromPath[int], data: FormData, db: DB) -> Response:
    message = text(data, "message")
    try:
        await signing.request_change(db, contract_id, _user(request), message)
    except FormError as exc:
        contract = await services.contract_for(db, contract_id, _user(request))
        context = await _detail_context(
            request, db, contract, change_form={"message": message}, change_errors=exc.errors
        )
        return render(request, "contracts/detail.html", context, status_code=422)
    await db.commit()
    flash(request, "Your request was sent. You’ll see the new version here when it comes.", category="success")
    return see_other(request, request.app.route_reverse("contracts:detail", contract_id=contract_id))


@post("/contracts/{contract_id:int}/sign", name="contracts:sign", guards=[requires_login_admins_mfa])
async def sign_contract(request: Request, contract_id: FromPath[int], data: FormData, db: DB) -> Response:
    user = _user(request)
    typed, consent, seen_hash = text(data, "typed_name"), checkbox(data, "consent"), text(data, "version_hash")
    errors = signing.signature_problems(user, typed, consent)
    contract = await services.contract_for(db, contract_id, user)
    if errors:
        context = await _detail_context(
            request, db, contract, sign_form={"typed_name": typed, "consent": consent}, sign_errors=errors
        )
        return render(request, "contracts/detail.html", context, status_code=422)
    try:
        contract = await signing.sign(
            db,
            contract_id,
            user,
            version_hash=seen_hash,
            typed_name=typed,
            consent=consent,
            context=signing.SignContext(ip=request_ip(request), user_agent=request.headers.get("user-agent")),
        )
    except DomainError as exc:
        await db.rollback()
        contract = await services.contract_for(db, contract_id, user)
        context = await _detail_context(request, db, contract, sign_refused=exc.message)
        return render(request, "contracts/detail.html", context, status_code=409)
    await db.commit()
    if contract.status == ContractStatus.active:
        flash(request, "Signed by both of you: the contract is active.", category="success")
    else:
        flash(request, "You signed. We’ll let you know when the other side signs too.", category="success")
    return see_other(request, _url(request, "contracts:detail", contract))


HANDLERS = [
    contract_list,
    new_contract,
    create_contract,
    contract_detail,
    contract_document,
    edit_contract,
    contract_review,
    save_contract,
    autosave_contract,
    send_contract,
    cancel_contract,
    request_change,
    sign_contract,
]
