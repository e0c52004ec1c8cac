"""Company pages for clients, public invitation pages, and the console's company checks."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.plugins.flash import flash
from sqlalchemy import select

from app.accounts.guards import CurrentUser, requires_admin, requires_login, requires_role
from app.accounts.models import Role, User
from app.companies import limits, services
from app.companies.forms import COMPANY_FIELDS, COUNTRIES, read_company, read_invitation
from app.companies.models import Company, Invitation, InvitationKind, Verification
from app.db import DB, utcnow
from app.errors import DomainError, FormError, NotFound
from app.events import publish
from app.files.models import FilePurpose
from app.files.services import store_file
from app.files.storage import storage_for
from app.files.uploads import FORM_OVERHEAD_BYTES, IMAGES_AND_PDF, MAX_FILE_BYTES, UploadRejected, check_upload
from app.marketplace.models import Job
from app.marketplace.services import jobs_of
from app.web.forms import FormData, Multipart, text
from app.web.htmx import see_other
from app.web.ratelimit import Limit, RateLimiter
from app.web.templating import render

ASK_AGAIN = Limit("invitation-ask-again", attempts=1, window_seconds=24 * 3600)


def _typed(data: dict) -> dict[str, str]:
    return {name: text(data, name) for name in COMPANY_FIELDS}


class CompanyController(Controller):
    path = "/company"
    guards = [requires_role(Role.client)]

    async def _page(
        self, request: Request, db: DB, user: CurrentUser, *, errors=None, form=None, status_code=200
    ) -> Response:
        membership = await services.membership_of(db, user)
        context = {
            "membership": membership,
            "errors": errors or {},
            "form": form or {},
            "countries": COUNTRIES,
            "now": utcnow(),
        }
        if membership is not None:
            context |= await services.company_page_data(db, membership.company)
            # The inviter's own open jobs, to invite a contractor to one of them.
            context["jobs"] = [
                (job.id, job.title) for job, _ in await jobs_of(db, user) if job.status in ("open", "draft")
            ]
        return render(request, "companies/company.html", context, status_code=status_code)

    async def _membership(self, db: DB, user: CurrentUser) -> services.Membership:
        membership = await services.membership_of(db, user)
        if membership is None:
            raise NotFound()
        return membership

    @get("/", name="companies:mine")
    async def mine(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return await self._page(request, db, user)

    @post("/", name="companies:create")
    async def create(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        try:
            await services.create_company(db, user, read_company(data))
        except FormError as exc:
            await db.rollback()
            return await self._page(request, db, user, errors=exc.errors, form=_typed(data), status_code=422)
        await db.commit()
        flash(
            request,
            "Your company is set up. Ask for verification to show contractors a verified badge.",
            category="success",
        )
        return see_other(request, request.app.route_reverse("companies:mine"))

    @post("/details", name="companies:update")
    async def update(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user)
        try:
            await services.update_company(db, membership, read_company(data))
        except FormError as exc:
            await db.rollback()
            return await self._page(request, db, user, errors=exc.errors, form=_typed(data), status_code=422)
        await db.commit()
        flash(request, "Company details saved.", category="success")
        return see_other(request, request.app.route_reverse("companies:mine"))

    @post(
        "/verification",
        name="companies:request-verification",
        request_max_body_size=MAX_FILE_BYTES + FORM_OVERHEAD_BYTES,
    )
    async def ask_verification(
        self, request: Request, data: Multipart, db: DB, state: State, user: CurrentUser
    ) -> Response:
        membership = await self._membership(db, user)
        try:
            document = await check_upload(data.get("document"), IMAGES_AND_PDF)
        except UploadRejected as exc:
            return await self._page(request, db, user, errors={"document": [str(exc)]}, status_code=422)
        company = await services.request_verification(db, membership)
        if document is not None:
            stored = await store_file(db, storage_for(state.settings), user, FilePurpose.company_document, document)
            company.registration_document_id = stored.id
        await db.commit()
        flash(
            request,
            "Thanks. An administrator will check the company's registration, usually within one working day.",
            category="success",
        )
        return see_other(request, request.app.route_reverse("companies:mine"))

    @post("/invitations", name="companies:invite")
    async def invite(self, request: Request, data: FormData, db: DB, state: State, user: CurrentUser) -> Response:
        membership = await self._membership(db, user)
        typed = {"email": text(data, "email"), "message": text(data, "message")}
        try:
            invitation = await services.invite(
                db, membership, user, read_invitation(data), secret_key=state.settings.secret_key
            )
        except FormError as exc:
            await db.rollback()
            return await self._page(request, db, user, errors=exc.errors, form=typed, status_code=422)
        verdict, refusal = await limits.count_invitation(state.redis, user.id, membership.company.id)
        if not verdict.allowed:
            await db.rollback()
            response = await self._page(request, db, user, errors={"invite": [refusal]}, form=typed, status_code=429)
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response
        await db.commit()
        flash(request, f"Invitation sent to {invitation.email}. It works for 7 days.", category="success")
        return see_other(request, request.app.route_reverse("companies:mine"))

    @get("/invitations/{invitation_id:int}", name="companies:invitation")
    async def invitation_row(
        self, request: Request, invitation_id: FromPath[int], db: DB, user: CurrentUser
    ) -> Response:
        """One invitation's row on the company page, re-fetched when the live event
        "invitation-<id>" arrives. Another company's invitation: 404."""
        invitation = await services.invitation_of(db, await self._membership(db, user), invitation_id)
        return render(request, "companies/_invitation_row.html", {"invitation": invitation, "now": utcnow()})

    @post("/invitations/{invitation_id:int}/revoke", name="companies:revoke")
    async def revoke(self, request: Request, invitation_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        invitation = await services.revoke(db, await self._membership(db, user), invitation_id)
        await db.commit()
        flash(request, f"The invitation to {invitation.email} was withdrawn.", category="success")
        return see_other(request, request.app.route_reverse("companies:mine"))

    @post("/leave", name="companies:leave")
    async def leave(self, request: Request, db: DB, user: CurrentUser) -> Response:
        await services.leave(db, await self._membership(db, user))
        await db.commit()
        flash(request, "You left the company.", category="success")
        return see_other(request, request.app.route_reverse("pages:dashboard"))


class InvitationController(Controller):
    """Public: the link in the e-mail. Accepting needs the right kind of account."""

    path = "/invitations"

    async def _invitation(self, db: DB, token: str) -> tuple[Invitation, Company]:
        invitation = await services.find_invitation(db, token)
        if invitation is None:
            raise NotFound()
        company = await db.get(Company, invitation.company_id)
        assert company is not None
        return invitation, company

    @get("/{token:str}", name="invitations:show")
    async def show(self, request: Request, token: FromPath[str], db: DB) -> Response:
        invitation, company = await self._invitation(db, token)
        inviter = await db.get(User, invitation.invited_by)
        job = await db.get(Job, invitation.job_id) if invitation.job_id else None
        return render(
            request,
            "companies/invitation.html",
            {
                "invitation": invitation,
                "company": company,
                "inviter": inviter,
                "status": invitation.status(utcnow()),
                "token": token,
                "job": job,
            },
        )

    @post("/{token:str}/accept", name="invitations:accept", guards=[requires_login])
    async def accept(self, request: Request, token: FromPath[str], db: DB, user: CurrentUser) -> Response:
        invitation = await services.accept(db, token, user)
        company = await db.get(Company, invitation.company_id)
        # A signal: the inviter's open company page re-fetches that row (GET /company/invitations/<id>).
        publish(db, invitation.invited_by, f"invitation-{invitation.id}", {"status": "accepted"})
        await db.commit()
        flash(
            request,
            f"You joined {company.name}."
            if invitation.kind == InvitationKind.member
            else f"You are now on {company.name}'s contractor list.",
            category="success",
        )
        if invitation.kind == InvitationKind.member:
            return see_other(request, request.app.route_reverse("companies:mine"))
        if invitation.job_id:
            return see_other(request, request.app.route_reverse("jobs:detail", job_id=invitation.job_id))
        return see_other(request, request.app.route_reverse("pages:dashboard"))

    @post("/{token:str}/ask-again", name="invitations:ask-again")
    async def ask_again(self, request: Request, token: FromPath[str], db: DB, state: State) -> Response:
        invitation, company = await self._invitation(db, token)
        if invitation.status(utcnow()) in ("expired", "revoked", "accepted"):
            verdict = await RateLimiter(state.redis).hit(ASK_AGAIN, str(invitation.id))
            inviter = await db.get(User, invitation.invited_by)
            if verdict.allowed and inviter is not None:
                await services.ask_for_new_invitation(db, invitation, company, inviter)
                await db.commit()
        flash(request, f"We asked {company.name} to send you a new invitation.", category="success")
        return see_other(request, request.app.route_reverse("invitations:show", token=token))


class InviteeController(Controller):
    """The link of an invitation notification: for the signed-in person it was sent to, it opens
    the invitation's own page; the secret link is made here, never stored with the notification."""

    path = "/invited"
    guards = [requires_login]

    @get("/{invitation_id:int}", name="invitations:open")
    async def open(self, request: Request, invitation_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        invitation = await services.invitation_for_invitee(db, invitation_id, user)
        token = services.invitation_token(request.app.state.settings.secret_key, invitation)
        if token is None:
            raise NotFound(invitation_id)
        return see_other(request, request.app.route_reverse("invitations:show", token=token))


class CompanyReviewController(Controller):
    """Console: companies waiting for a registration check."""

    path = "/admin/companies"
    guards = [requires_admin]

    @get("/", name="admin:companies")
    async def queue(self, request: Request, db: DB) -> Response:
        pending = (
            await db.scalars(select(Company).where(Company.verification == Verification.pending).order_by(Company.id))
        ).all()
        recent = (
            await db.scalars(
                select(Company)
                .where(Company.verification != Verification.pending)
                .order_by(Company.id.desc())
                .limit(50)
            )
        ).all()
        return render(
            request,
            "admin/companies.html",
            {"pending": pending, "recent": recent, "countries": COUNTRIES, "errors": {}},
        )

    @post("/{company_id:int}/decide", name="admin:companies-decide")
    async def decide(
        self, request: Request, company_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        approve = text(data, "decision") == "verify"
        try:
            company = await services.decide_verification(db, user, company_id, approve=approve, note=text(data, "note"))
        except FormError as exc:
            await db.rollback()
            flash(request, exc.errors["note"][0], category="error")
            return see_other(request, request.app.route_reverse("admin:companies"))
        except DomainError:
            await db.rollback()
            raise
        await db.commit()
        flash(request, f"{company.name} is {'verified' if approve else 'rejected'}.", category="success")
        return see_other(request, request.app.route_reverse("admin:companies"))
