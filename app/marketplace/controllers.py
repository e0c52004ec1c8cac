"""Marketplace pages: find work, a client's jobs, applying, comparing and deciding on proposals."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, Parameter
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, Viewer, requires_login, requires_role
from app.accounts.models import Role
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.marketplace import services
from app.marketplace.forms import (
    JOB_FIELDS,
    MAX_MILESTONES,
    PROPOSAL_FIELDS,
    SEARCH_KEYS,
    milestone_total,
    read_job,
    read_proposal,
    read_search,
    typed,
)
from app.marketplace.models import JobStatus
from app.money import CURRENCIES, DEFAULT_CURRENCY
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render

CLIENT = [requires_role(Role.client)]
CONTRACTOR = [requires_role(Role.contractor)]


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


def _job_page(request: Request, job) -> Response:
    return see_other(request, request.app.route_reverse("jobs:detail", job_id=job.id))


async def client_company(db, client):
    """The company a job's client acts for, so contractors see whether it is verified."""
    from app.companies.services import membership_of

    membership = await membership_of(db, client)
    return membership.company if membership else None


class JobController(Controller):
    """Finding work (visitors too) and a client's own jobs."""

    path = "/jobs"

    @get("/", name="jobs:search")
    async def search(self, request: Request, db: DB) -> Response:
        """Open public jobs, for visitors too. htmx requests from the filter form get only the results."""
        query = {key: request.query_params.get(key) for key in (*SEARCH_KEYS, "page")}
        params, errors = read_search(query)
        jobs, total = await services.search_jobs(db, params)
        pages = max(1, -(-total // services.PAGE_SIZE))
        kept = {k: v for k, v in query.items() if v and k != "page"}
        search_path = request.app.route_reverse("jobs:search")

        def page_url(n: int) -> str:
            return search_path + "?" + urlencode({**kept, "page": n})

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

    @get("/new", name="jobs:new", guards=CLIENT)
    async def new(self, request: Request) -> Response:
        return _job_form_page(request)

    @post("/new", name="jobs:create", guards=CLIENT)
    async def create(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        publish_now = text(data, "action") == "publish"
        try:
            job = await services.create_job(db, user, read_job(data), publish_now=publish_now)
        except FormError as exc:
            return _job_form_page(request, form=typed(data, JOB_FIELDS), errors=exc.errors, status_code=422)
        await db.commit()
        flash(
            request,
            "Your job is live: contractors can find it now." if publish_now else "Draft saved. Only you can see it.",
            category="success",
        )
        return _job_page(request, job)

    @get("/mine", name="jobs:mine", guards=CLIENT)
    async def mine(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return render(request, "jobs/mine.html", {"rows": await services.jobs_of(db, user)})

    @get("/{job_id:int}", name="jobs:detail")
    async def detail(self, request: Request, job_id: FromPath[int], db: DB, viewer: Viewer) -> Response:
        job = await services.visible_job(db, job_id, viewer)
        proposal = None
        if viewer is not None and viewer.role == Role.contractor:
            proposal = await services.proposal_of(db, job.id, viewer)
        return render(
            request,
            "jobs/detail.html",
            {
                "job": job,
                "is_owner": viewer is not None and viewer.id == job.client_id,
                "proposal": proposal,
                "company": await client_company(db, job.client),
            },
        )

    @get("/{job_id:int}/edit", name="jobs:edit", guards=CLIENT)
    async def edit(self, request: Request, job_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        job = await services.own_job(db, job_id, user)
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

    @post("/{job_id:int}/edit", name="jobs:update", guards=CLIENT)
    async def update(
        self, request: Request, job_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        job = await services.own_job(db, job_id, user)
        try:
            await services.update_job(db, job, read_job(data))
        except FormError as exc:
            return _job_form_page(request, job=job, form=typed(data, JOB_FIELDS), errors=exc.errors, status_code=422)
        await db.commit()
        flash(request, "Changes saved.", category="success")
        return _job_page(request, job)

    @post("/{job_id:int}/publish", name="jobs:publish", guards=CLIENT)
    async def publish(self, request: Request, job_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        job = await services.publish_job(db, job_id, user)
        await db.commit()
        flash(request, "Your job is live: contractors can find it now.", category="success")
        return _job_page(request, job)

    @post("/{job_id:int}/close", name="jobs:close", guards=CLIENT)
    async def close(self, request: Request, job_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        job = await services.close_job(db, job_id, user)
        await db.commit()
        flash(request, "The job is closed. Nobody can apply any more.", category="success")
        return _job_page(request, job)

    @get("/{job_id:int}/proposals", name="jobs:proposals", guards=CLIENT)
    async def compare_proposals(self, request: Request, job_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        job = await services.own_job(db, job_id, user)
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

    @get("/{job_id:int}/proposals/new", name="jobs:new-proposals", guards=CLIENT)
    async def new_proposals(
        self,
        request: Request,
        job_id: FromPath[int],
        db: DB,
        user: CurrentUser,
        after: Annotated[int, Parameter(ge=0, le=2**62)] = 0,
    ) -> Response:
        """Proposals that arrived after the comparison page was rendered: the page re-fetches this
        list when the live event "job-<id>-proposals" arrives."""
        job = await services.own_job(db, job_id, user)
        arrived = await services.proposals_after(db, job, after)
        return render(request, "jobs/_new_proposals.html", {"job": job, "after": after, "arrived": arrived})


def _apply_page(request: Request, job, *, form=None, errors=None, status_code=200, block=None) -> Response:
    form = form or {}
    summed, count = milestone_total(form, job.currency)
    return render(
        request,
        "proposals/apply.html",
        {
            "job": job,
            "form": form,
            "errors": errors or {},
            "milestone_rows": range(1, MAX_MILESTONES + 1),
            "today": date.today().isoformat(),
            "summed": summed,
            "count": count,
        },
        status_code=status_code,
        block=block,
    )


def _proposal_page(request: Request, proposal) -> Response:
    return see_other(request, request.app.route_reverse("proposals:detail", proposal_id=proposal.id))


class ApplyController(Controller):
    """A contractor applying to a job."""

    path = "/jobs/{job_id:int}/apply"
    guards = CONTRACTOR

    @get("/", name="proposals:new")
    async def page(self, request: Request, job_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        job = await services.visible_job(db, job_id, user)
        existing = await services.proposal_of(db, job.id, user)
        if existing is not None and existing.is_active:
            return _proposal_page(request, existing)
        if job.status != JobStatus.open:
            raise NotFound()
        return _apply_page(request, job)

    @post("/", name="proposals:create")
    async def submit(
        self, request: Request, job_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        job = await services.visible_job(db, job_id, user)
        try:
            proposal = await services.apply(db, job.id, user, read_proposal(data, job))
        except FormError as exc:
            return _apply_page(request, job, form=typed(data, PROPOSAL_FIELDS), errors=exc.errors, status_code=422)
        await db.commit()
        flash(request, "Proposal sent. You'll see the client's decision here as soon as it's made.", category="success")
        return _proposal_page(request, proposal)

    @post("/total", name="proposals:total")
    async def milestone_sum(
        self, request: Request, job_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        """Live 'milestones add up to …' line while the contractor types (htmx); without htmx, the
        whole form again with what was typed (the block needs the page's context either way)."""
        job = await services.visible_job(db, job_id, user)
        return _apply_page(request, job, form=typed(data, PROPOSAL_FIELDS), block="total")


def _back_to_comparison(request: Request, proposal) -> Response:
    return see_other(request, request.app.route_reverse("jobs:proposals", job_id=proposal.job_id))


class ProposalController(Controller):
    """A contractor's proposals, and the client's decisions on them."""

    path = "/proposals"

    @get("/", name="proposals:mine", guards=CONTRACTOR)
    async def mine(self, request: Request, db: DB, user: CurrentUser) -> Response:
        proposals = await services.proposals_of(db, user)
        return render(request, "proposals/mine.html", {"proposals": proposals})

    @get("/{proposal_id:int}", name="proposals:detail", guards=[requires_login])
    async def detail(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        from app.contracts.drafting.services import contract_id_for_proposal

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

    @get("/{proposal_id:int}/status", name="proposals:status", guards=[requires_login])
    async def status(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        """The status line alone: pages re-fetch it when the live event "proposal-<id>" arrives."""
        proposal = await services.proposal_for_viewer(db, proposal_id, user)
        return render(request, "proposals/_status.html", {"proposal": proposal})

    @post("/{proposal_id:int}/withdraw", name="proposals:withdraw", guards=CONTRACTOR)
    async def withdraw(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        proposal = await services.withdraw(db, proposal_id, user)
        await db.commit()
        flash(request, "Proposal withdrawn.", category="success")
        return _proposal_page(request, proposal)

    @post("/{proposal_id:int}/shortlist", name="proposals:shortlist", guards=CLIENT)
    async def shortlist(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        proposal = await services.shortlist(db, proposal_id, user)
        await db.commit()
        return _back_to_comparison(request, proposal)

    @post("/{proposal_id:int}/decline", name="proposals:decline", guards=CLIENT)
    async def decline(
        self, request: Request, proposal_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        proposal = await services.decline(db, proposal_id, user, text(data, "note"))
        await db.commit()
        return _back_to_comparison(request, proposal)

    @get("/{proposal_id:int}/accept", name="proposals:confirm-accept", guards=CLIENT)
    async def confirm_accept(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        """Hiring can't be undone: say what will happen before the client commits."""
        proposal = await services.proposal_for_viewer(db, proposal_id, user)
        if proposal.job.client_id != user.id:
            raise NotFound()
        others = [
            p
            for p in await services.proposals_for_job(db, proposal.job)
            if p.id != proposal.id and p.status in services.DECIDABLE
        ]
        return render(request, "proposals/accept.html", {"proposal": proposal, "job": proposal.job, "others": others})

    @post("/{proposal_id:int}/accept", name="proposals:accept", guards=CLIENT)
    async def accept(self, request: Request, proposal_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        from app.contracts.drafting import services as drafting

        proposal = await services.accept(db, proposal_id, user)
        contract = await drafting.draft_from_proposal(db, proposal.id, user)
        await db.commit()
        flash(
            request,
            "Proposal accepted. We drafted the contract from it: check the terms, then send it for signature.",
            category="success",
        )
        return see_other(request, request.app.route_reverse("contracts:edit", contract_id=contract.id))
