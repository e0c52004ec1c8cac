"""Lead intake over HTTP: the JSON API, the public quote form, the company's intake page and the
console's dead-letter list."""

from __future__ import annotations

import hashlib
import json

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, requires_admin, requires_role
from app.accounts.models import Role
from app.accounts.services import normalize_email
from app.companies.services import membership_of
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.leads import services
from app.leads.forms import QUOTE_FIELDS, read_lead, read_quote
from app.leads.models import Lead
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.ratelimit import Limit, RateLimiter, request_ip
from app.web.templating import render

FORM_PER_IP = Limit("leads-form-ip", attempts=10, window_seconds=3600)
# Each request e-mails its address a link: a few a day, whoever sends them, so the form can't be
# used to fill someone's inbox.
FORM_PER_EMAIL = Limit("leads-form-email", attempts=3, window_seconds=24 * 3600)
MAX_BODY = 64 * 1024


async def _api_key(request: Request, db: DB):
    """The company key in `Authorization: Bearer …`, or None (checked before any body is read)."""
    auth = request.headers.get("authorization", "")
    return await services.key_for(db, auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None


def _unauthorized() -> Response:
    return Response(
        {"error": "Missing or invalid API key", "status": 401}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
    )


def _lead_json(lead: Lead) -> dict:
    return {"id": lead.id, "status": lead.status, "job_id": lead.job_id, "journey": lead.journey}


class LeadApiController(Controller):
    """Authorization: Bearer <key>. The key is checked before the body is read."""

    path = "/api/leads"
    opt = {"skip_session": True}

    @post("/", name="leads:api-create", request_max_body_size=MAX_BODY, status_code=202)
    async def create(self, request: Request, db: DB, state: State) -> Response:
        key = await _api_key(request, db)
        if key is None:
            return _unauthorized()
        per_key = Limit("leads-api-key", attempts=state.settings.leads_api_per_minute, window_seconds=60)
        verdict = await RateLimiter(state.redis).hit(per_key, str(key.id))
        if not verdict.allowed:
            return Response(
                {"error": "Too many requests", "status": 429},
                status_code=429,
                headers={"Retry-After": str(verdict.retry_after)},
            )
        try:
            payload = json.loads(await request.body() or b"null")
        except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested deeper than any lead
            return Response({"error": "The body is not valid JSON", "status": 400}, status_code=400)
        try:
            data = read_lead(payload)
        except FormError as exc:
            return Response({"error": "Invalid lead", "status": 422, "fields": exc.errors}, status_code=422)
        lead = await services.receive(db, data, source="api", company_id=key.company_id, api_key_id=key.id)
        await db.commit()
        location = request.app.route_reverse("leads:api-show", lead_id=lead.id)
        return Response(_lead_json(lead), status_code=202, headers={"Location": location})

    @get("/{lead_id:int}", name="leads:api-show")
    async def show(self, request: Request, lead_id: FromPath[int], db: DB) -> Response:
        key = await _api_key(request, db)
        if key is None:
            return _unauthorized()
        lead = await db.get(Lead, lead_id)
        if lead is None or lead.company_id != key.company_id:
            return Response({"error": "Not found", "status": 404}, status_code=404)
        await db.commit()
        return Response(_lead_json(lead))


# ---------------------------------------------------------------- public quote form


def _too_many(request: Request, form: dict, errors: dict, retry_after: int) -> Response:
    return render(
        request,
        "leads/quote.html",
        {"form": form, "errors": errors},
        status_code=429,
        headers={"Retry-After": str(retry_after)},
    )


class QuoteController(Controller):
    """The public quote form, and the link e-mailed to confirm a request."""

    path = "/quote"

    @get("/", name="leads:quote")
    async def page(self, request: Request) -> Response:
        return render(request, "leads/quote.html", {"form": {}, "errors": {}})

    @post("/", name="leads:quote-submit")
    async def submit(self, request: Request, data: FormData, db: DB, state: State) -> Response:
        """Whatever the address — someone's account or nobody's — the visitor sees the same page: we
        e-mailed a link, and nothing happens until it is followed. The form can't tell who has an
        account, and can't put anything into one."""
        form = {name: text(data, name) for name in QUOTE_FIELDS}
        if text(data, "website"):  # a field people never see: only bots fill it in
            return render(request, "leads/quote_thanks.html", {"email": form["email"]})
        ip = request_ip(request)
        limiter = RateLimiter(state.redis)
        verdict = await limiter.hit(FORM_PER_IP, ip)
        if not verdict.allowed:
            errors = {"form": [f"Too many requests from your network. Please try again in {verdict.minutes} minutes."]}
            return _too_many(request, form, errors, verdict.retry_after)
        try:
            lead = read_quote(data)
        except FormError as exc:
            return render(request, "leads/quote.html", {"form": form, "errors": exc.errors}, status_code=422)
        # Redis keeps a hash of the address, not the address.
        address = hashlib.sha256(normalize_email(lead.email).encode()).hexdigest()
        verdict = await limiter.hit(FORM_PER_EMAIL, address)
        if not verdict.allowed:
            errors = {
                "email": [
                    "We have already e-mailed this address several confirmation links today. "
                    "Check that inbox (and its spam folder), or try again tomorrow."
                ]
            }
            return _too_many(request, form, errors, verdict.retry_after)
        await services.receive_from_form(db, lead, state.settings.secret_key)
        await db.commit()
        return render(request, "leads/quote_thanks.html", {"email": lead.email})

    @get("/confirm/{token:str}", name="leads:quote-confirm")
    async def confirm_page(self, request: Request, token: FromPath[str], db: DB) -> Response:
        """The e-mailed link shows what will be confirmed; a button confirms it (a link checker that
        opens the link confirms nothing)."""
        lead = await services.lead_for_link(db, token)
        if lead is None:
            raise NotFound()
        context = {"lead": lead, "state": services.link_state(lead), "token": token, "just_confirmed": False}
        return render(request, "leads/quote_confirm.html", context)

    @post("/confirm/{token:str}", name="leads:quote-confirmed")
    async def confirm(self, request: Request, token: FromPath[str], db: DB) -> Response:
        confirmed = await services.confirm(db, token)
        if confirmed is None:
            raise NotFound()
        lead, now = confirmed
        await db.commit()
        context = {"lead": lead, "state": services.link_state(lead), "token": token, "just_confirmed": now}
        return render(request, "leads/quote_confirm.html", context)


# ---------------------------------------------------------------- the company's intake page


class IntakeController(Controller):
    path = "/company/intake"
    guards = [requires_role(Role.client)]

    async def _membership(self, db: DB, user: CurrentUser):
        membership = await membership_of(db, user)
        if membership is None:
            raise NotFound()
        return membership

    async def _page(
        self, request: Request, db: DB, user: CurrentUser, *, new_key: str | None = None, errors=None, status_code=200
    ) -> Response:
        membership = await self._membership(db, user)
        keys = await services.company_keys(db, membership.company.id)
        leads = await services.company_leads(db, membership.company.id)
        context = {"membership": membership, "keys": keys, "leads": leads, "new_key": new_key, "errors": errors or {}}
        return render(request, "leads/intake.html", context, status_code=status_code)

    @get("/", name="leads:intake")
    async def page(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return await self._page(request, db, user)

    @post("/keys", name="leads:create-key")
    async def create_key(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        membership = await self._membership(db, user)
        try:
            _, raw = await services.create_api_key(db, membership, user, text(data, "key_name"))
        except FormError as exc:
            await db.rollback()
            return await self._page(request, db, user, errors=exc.errors, status_code=422)
        await db.commit()
        # Shown once, on this response only: it is not stored anywhere we can show it from again.
        return await self._page(request, db, user, new_key=raw)

    @post("/keys/{key_id:int}/revoke", name="leads:revoke-key")
    async def revoke_key(self, request: Request, key_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        key = await services.revoke_api_key(db, await self._membership(db, user), key_id)
        await db.commit()
        flash(request, f"The key “{key.name}” no longer works.", category="success")
        return see_other(request, request.app.route_reverse("leads:intake"))


# ---------------------------------------------------------------- console: dead letters


class DeadLetterController(Controller):
    path = "/admin/leads"
    guards = [requires_admin]

    @get("/", name="admin:leads")
    async def page(self, request: Request, db: DB) -> Response:
        # An htmx request gets the list alone: the page re-fetches it on "lead-dead-letter".
        return render(request, "admin/leads.html", {"leads": await services.dead_letters(db)}, block="dead_letters")

    @post("/{lead_id:int}/replay", name="admin:leads-replay")
    async def replay(self, request: Request, lead_id: FromPath[int], db: DB) -> Response:
        try:
            await services.replay(db, lead_id)
        except DomainError:
            await db.rollback()
            raise
        await db.commit()
        flash(request, f"Lead #{lead_id} is being processed again.", category="success")
        return see_other(request, request.app.route_reverse("admin:leads"))

    @post("/{lead_id:int}/discard", name="admin:leads-discard")
    async def discard(self, request: Request, lead_id: FromPath[int], db: DB) -> Response:
        await services.discard(db, lead_id)
        await db.commit()
        flash(request, f"Lead #{lead_id} was discarded.", category="success")
        return see_other(request, request.app.route_reverse("admin:leads"))
