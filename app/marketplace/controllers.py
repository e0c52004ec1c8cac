"""Marketplace pages: find work, a client's jobs, applying, comparing and deciding on proposals."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, Parameter
from litestar.plugins.flash import flash

from app.accounts.guards import requires_login, requires_role
from app.accounts.models import Role
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.marketplace import services
from app.marketplace.models import JobStatus
from app.money import CURRENCIES, DEFAULT_CURRENCY
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render

CLIENT = [requires_role(Role.client)]
CONTRACTOR = [requires_role(Role.contractor)]
JOB_FIELDS = ("title", "description", "skills", "budget_type", "budget", "currency", "deadline", "visibility")
PROPOSAL_FIELDS = ("cover_letter", "amount") + tuple(
    f"milestone_{part}_{n}" for n in range(1, services.MAX_MILESTONES + 1) for part in ("title", "amount", "due")
)
SEARCH_KEYS = ("q", "skills", "type", "budget_min", "budget_max", "posted", "sort")


def _form(data: dict, names: tuple[str, ...]) -> dict[str, str]:
    return {name: text(data, name) for name in names}


def _user(request: Request):
    return request.scope.get("user")


# ---------------------------------------------------------------- find work


@get("/jobs", name="jobs:search")
async def search(request: Request, db: DB) -> Response:
    """Open public jobs, for visitors too. htmx requests from the filter form get only the results."""
    query = {key: request.query_params.get(key) for key in (*SEARCH_KEYS, "page")}
    params, errors = services.read_search(query)
    jobs, total = await services.search_jobs(db, params)
    pages = max(1, -(-total // services.PAGE_SIZE))
    kept = {k: v for k, v in query.items() if v and k != "page"}

    def page_url(n: int) -> str:
        return "/jobs?" + urlencode({**kept, "page": n})

    return render(
        request,
        "jobs/search.html",
        {
            "jobs": jobs,
            "total": total,
            "params": params,
            "form": {k: query.get(k) or "" for k in SEARCH_KEYS} | {"sort": params.sort},
            "errors": errors,
            "page": params.page,
            "pages": pages,
            "page_url": page_url,
        },
        block="results" if request.headers.get("hx-target") == "job-results" else None,
    )


# ---------------------------------------------------------------- a client's jobs


def _job_form_page(request: Request, *, job=None, form=None, errors=None, status_code=200) -> Response:
    return render(
        request,
        "jobs/form.html",
        {
            "job": job,
            "form": form or {"budget_type": "fixed", "currency": DEFAULT_CURRENCY, "visibility": "public"},
            "errors": errors or {},
            "currencies": list(CURRENCIES),
            "today": date.today().isoformat(),
        },
        status_code=status_code,
    )


@get("/jobs/new", name="jobs:new", guards=CLIENT)
async def new_job(request: Request) -> Response:
    return _job_form_page(request)


@post("/jobs/new", name="jobs:create", guards=CLIENT)
async def create_job(request: Request, data: FormData, db: DB) -> Response:
    form = _form(data, JOB_FIELDS)
    publish_now = text(data, "action") == "publish"
    try:
        job = await services.create_job(db, _user(request), services.read_job_form(form), publish_now=publish_now)
    except FormError as exc:
        return _job_form_page(request, form=form, errors=exc.errors, status_code=422)
    await db.commit()
    flash(
        request,
        "Your job is live: contractors can find it now." if publish_now else "Draft saved. Only you can see it.",
        category="success",
    )
    return see_other(request, f"/jobs/{job.id}")


@get("/jobs/mine", name="jobs:mine", guards=CLIENT)
async def my_jobs(request: Request, db: DB) -> Response:
    return render(request, "jobs/mine.html", {"rows": await services.jobs_of(db, _user(request))})


async def client_company(db, client):
    """The company a job's client acts for, so contractors see whether it is verified."""
    from app.companies.services import membership_of

    membership = await membership_of(db, client)
    return membership.company if membership else None


@get("/jobs/{job_id:int}", name="jobs:detail")
async def job_detail(request: Request, job_id: FromPath[int], db: DB) -> Response:
    user = _user(request)
    job = await services.visible_job(db, job_id, user)
    proposal = None
    if user is not None and user.role == Role.contractor:
        proposal = await services.proposal_of(db, job.id, user)
    return render(
        request,
        "jobs/detail.html",
        {
            "job": job,
            "is_owner": user is not None and user.id == job.client_id,
            "proposal": proposal,
            "company": await client_company(db, job.client),
        },
    )


@get("/jobs/{job_id:int}/edit", name="jobs:edit", guards=CLIENT)
async def edit_job(request: Request, job_id: FromPath[int], db: DB) -> Response:
    job = await services.own_job(db, job_id, _user(request))
    if job.status not in (JobStatus.draft, JobStatus.open):
        raise DomainError(f"This job is {job.status}, so it can't be changed any more.")
    form = {
        "title": job.title,
        "description": job.description,
        "skills": ", ".join(job.skills),
        "budget_type": job.budget_type,
        "budget": f"{job.budget_minor // 100}.{job.budget_minor % 100:02d}",
        "currency": job.currency,
        "deadline": job.deadline.isoformat() if job.deadline else "",
        "visibility": job.visibility,
    }
    return _job_form_page(request, job=job, form=form)


@post("/jobs/{job_id:int}/edit", name="jobs:update", guards=CLIENT)
async def update_job(request: Request, job_id: FromPath[int], data: FormData, db: DB) -> Response:
    job = await services.own_job(db, job_id, _user(request))
    form = _form(data, JOB_FIELDS)
    try:
        await services.update_job(db, job, services.read_job_form(form))
    except FormError as exc:
        return _job_form_page(request, job=job, form=form, errors=exc.errors, status_code=422)
    await db.commit()
    flash(request, "Changes saved.", category="success")
    return see_other(request, f"/jobs/{job.id}")


@post("/jobs/{job_id:int}/publish", name="jobs:publish", guards=CLIENT)
async def publish_job(request: Request, job_id: FromPath[int], db: DB) -> Response:
    job = await services.publish_job(db, job_id, _user(request))
    await db.commit()
    flash(request, "Your job is live: contractors can find it now.", category="success")
    return see_other(request, f"/jobs/{job.id}")


@post("/jobs/{job_id:int}/close", name="jobs:close", guards=CLIENT)
async def close_job(request: Request, job_id: FromPath[int], db: DB) -> Response:
    job = await services.close_job(db, job_id, _user(request))
    await db.commit()
    flash(request, "The job is closed. Nobody can apply any more.", category="success")
    return see_other(request, f"/jobs/{job.id}")


@get("/jobs/{job_id:int}/proposals", name="jobs:proposals", guards=CLIENT)
async def compare_proposals(request: Request, job_id: FromPath[int], db: DB) -> Response:
    job = await services.own_job(db, job_id, _user(request))
    proposals = await services.proposals_for_job(db, job)
    return render(
        request,
        "jobs/proposals.html",
        {
            "job": job,
            "proposals": proposals,
            "profiles": await services.profiles_for(db, proposals),
        },
    )


@get("/jobs/{job_id:int}/proposals/new", name="jobs:new-proposals", guards=CLIENT)
async def new_proposals(
    request: Request, job_id: FromPath[int], db: DB, after: Annotated[int, Parameter(ge=0, le=2**62)] = 0
) -> Response:
    """Proposals that arrived after the comparison page was rendered: the page re-fetches this
    list when the live event "job-<id>-proposals" arrives."""
    job = await services.own_job(db, job_id, _user(request))
    arrived = await services.proposals_after(db, job, after)
    return render(request, "jobs/_new_proposals.html", {"job": job, "after": after, "arrived": arrived})


# ---------------------------------------------------------------- applying


def _apply_page(request: Request, job, *, form=None, errors=None, status_code=200, block=None) -> Response:
    form = form or {}
    summed, count = services.milestone_total(form, job.currency)
    return render(
        request,
        "proposals/apply.html",
        {
            "job": job,
            "form": form,
            "errors": errors or {},
            "milestone_rows": range(1, services.MAX_MILESTONES + 1),
            "today": date.today().isoformat(),
            "summed": summed,
            "count": count,
        },
        status_code=status_code,
        block=block,
    )


@get("/jobs/{job_id:int}/apply", name="proposals:new", guards=CONTRACTOR)
async def apply_page(request: Request, job_id: FromPath[int], db: DB) -> Response:
    user = _user(request)
    job = await services.visible_job(db, job_id, user)
    existing = await services.proposal_of(db, job.id, user)
    if existing is not None and existing.is_active:
        return see_other(request, f"/proposals/{existing.id}")
    if job.status != JobStatus.open:
        raise NotFound()
    return _apply_page(request, job)


@post("/jobs/{job_id:int}/apply", name="proposals:create", guards=CONTRACTOR)
async def apply_submit(request: Request, job_id: FromPath[int], data: FormData, db: DB) -> Response:
    user = _user(request)
    job = await services.visible_job(db, job_id, user)
    form = _form(data, PROPOSAL_FIELDS)
    try:
        proposal = await services.apply(db, job.id, user, services.read_proposal_form(form, job))
    except FormError as exc:
        return _apply_page(request, job, form=form, errors=exc.errors, status_code=422)
    await db.commit()
    flash(request, "Proposal sent. You'll see the client's decision here as soon as it's made.", category="success")
    return see_other(request, f"/proposals/{proposal.id}")


@post("/jobs/{job_id:int}/apply/total", name="proposals:total", guards=CONTRACTOR)
async def milestone_sum(request: Request, job_id: FromPath[int], data: FormData, db: DB) -> Response:
    """Live 'milestones add up to …' line while the contractor types (htmx); without htmx, the
    whole form again with what was typed (the block needs the page's context either way)."""
    job = await services.visible_job(db, job_id, _user(request))
    return _apply_page(request, job, form=_form(data, PROPOSAL_FIELDS), block="total")


# ---------------------------------------------------------------- proposals


@get("/proposals", name="proposals:mine", guards=CONTRACTOR)
async def my_proposals(request: Request, db: DB) -> Response:
    proposals = await services.proposals_of(db, _user(request))
    return render(request, "proposals/mine.html", {"proposals": proposals})


@get("/proposals/{proposal_id:int}", name="proposals:detail", guards=[requires_login])
async def proposal_detail(request: Request, proposal_id: FromPath[int], db: DB) -> Response:
    from app.contracts.drafting.services import contract_id_for_proposal

    user = _user(request)
    proposal = await services.proposal_for_viewer(db, proposal_id, user)
    return render(
        request,
        "proposals/detail.html",
        {
            "proposal": proposal,
            "job": proposal.job,
            "is_client": user.id == proposal.job.client_id,
            "contract_id": await contract_id_for_proposal(db, proposal.id),
        },
    )


@get("/proposals/{proposal_id:int}/status", name="proposals:status", guards=[requires_login])
async def proposal_status(request: Request, proposal_id: FromPath[int], db: DB) -> Response:
    """The status line alone: pages re-fetch it when the live event "proposal-<id>" arrives."""
    proposal = await services.proposal_for_viewer(db, proposal_id, _user(request))
    return render(request, "proposals/_status.html", {"proposal": proposal})


def _back(request: Request, proposal) -> Response:
    return see_other(request, f"/jobs/{proposal.job_id}/proposals")


@post("/proposals/{proposal_id:int}/withdraw", name="proposals:withdraw", guards=CONTRACTOR)
async def withdraw(request: Request, proposal_id: FromPath[int], db: DB) -> Response:
    proposal = await services.withdraw(db, proposal_id, _user(request))
    await db.commit()
    flash(request, "Proposal withdrawn.", category="success")
    return see_other(request, f"/proposals/{proposal.id}")


@post("/proposals/{proposal_id:int}/shortlist", name="proposals:shortlist", guards=CLIENT)
async def shortlist(request: Request, proposal_id: FromPath[int], db: DB) -> Response:
    proposal = await services.shortlist(db, proposal_id, _user(request))
    await db.commit()
    return _back(request, proposal)


@post("/proposals/{proposal_id:int}/decline", name="proposals:decline", guards=CLIENT)
async def decline(request: Request, proposal_id: FromPath[int], data: FormData, db: DB) -> Response:
    proposal = await services.decline(db, proposal_id, _user(request), text(data, "note"))
    await db.commit()
    return _back(request, proposal)


@get("/proposals/{proposal_id:int}/accept", name="proposals:confirm-accept", guards=CLIENT)
async def confirm_accept(request: Request, proposal_id: FromPath[int], db: DB) -> Response:
    """Hiring can't be undone: say what will happen before the client commits."""
    user = _user(request)
    proposal = await services.proposal_for_viewer(db, proposal_id, user)
    if proposal.job.client_id != user.id:
        raise NotFound()
    others = [
        p
        for p in await services.proposals_for_job(db, proposal.job)
        if p.id != proposal.id and p.status in services.DECIDABLE
    ]
    return render(request, "proposals/accept.html", {"proposal": proposal, "job": proposal.job, "others": others})


@post("/proposals/{proposal_id:int}/accept", name="proposals:accept", guards=CLIENT)
async def accept(request: Request, proposal_id: FromPath[int], db: DB) -> Response:
    from app.contracts.drafting import services as drafting

    user = _user(request)
    proposal = await services.accept(db, proposal_id, user)
    contract = await drafting.draft_from_proposal(db, proposal.id, user)
    await db.commit()
    flash(
        request,
        "Proposal accepted. We drafted the contract from it: check the terms, then send it for signature.",
        category="success",
    )
    return see_other(request, request.app.route_reverse("contracts:edit", contract_id=contract.id))


marketplace_router = Router(
    path="/",
    route_handlers=[
        search,
        new_job,
        create_job,
        my_jobs,
        job_detail,
        edit_job,
        update_job,
        publish_job,
        close_job,
        compare_proposals,
        new_proposals,
        apply_page,
        apply_submit,
        milestone_sum,
        my_proposals,
        proposal_detail,
        proposal_status,
        withdraw,
        shortlist,
        decline,
        confirm_accept,
        accept,
    ],
)
