"""Profile pages: edit + completeness (/profile), portfolio, identity verification, the public
page (/c/<slug>), file downloads through an authorization check, and the admin KYC queue."""

from __future__ import annotations

import json

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, Viewer, requires_admin, requires_role
from app.accounts.models import Role, User
from app.db import DB
from app.errors import DomainError, FormError, NotFound
from app.events import publish
from app.files.models import StoredFile
from app.files.storage import storage_for
from app.files.uploads import FORM_OVERHEAD_BYTES, MAX_FILE_BYTES, MAX_FILE_LABEL
from app.money import CURRENCIES
from app.platform.signatures import BadSignature, verify
from app.profiles import services
from app.profiles.choices import COUNTRIES, SKILL_SUGGESTIONS
from app.profiles.forms import PROFILE_FIELDS, read_documents, read_portfolio_item, read_profile
from app.profiles.kyc_provider import SIGNATURE_HEADER, ProviderError, provider_for
from app.profiles.models import AVAILABILITY_LABELS, KycStatus
from app.web.forms import FormData, Multipart, text
from app.web.htmx import see_other
from app.web.templating import render

contractors_only = requires_role(Role.contractor)


def _storage(request: Request):
    return storage_for(request.app.state.settings)


async def _edit_page(
    request: Request,
    db,
    user: CurrentUser,
    *,
    form=None,
    errors=None,
    portfolio_form=None,
    portfolio_errors=None,
    status_code=200,
) -> Response:
    profile = await services.ensure_profile(db, user)
    portfolio = await services.portfolio_of(db, profile)
    await db.commit()  # the profile row exists from the first visit on
    values = form or {
        "headline": profile.headline,
        "bio": profile.bio,
        "skills": ", ".join(profile.skills or []),
        "hourly_rate": f"{profile.hourly_rate_minor / 100:.2f}" if profile.hourly_rate_minor is not None else "",
        "currency": profile.currency,
        "availability": profile.availability or "",
        "country": profile.country or "",
    }
    return render(
        request,
        "profiles/edit.html",
        {
            "profile": profile,
            "portfolio": portfolio,
            "completeness": services.completeness(profile, len(portfolio)),
            "form": values,
            "errors": errors or {},
            "portfolio_form": portfolio_form or {},
            "portfolio_errors": portfolio_errors or {},
            "countries": sorted(COUNTRIES.items(), key=lambda kv: kv[1]),
            "currencies": list(CURRENCIES),
            "availability_options": [(k.value, v) for k, v in AVAILABILITY_LABELS.items()],
            "skill_suggestions": SKILL_SUGGESTIONS,
            "max_file": MAX_FILE_LABEL,
        },
        status_code=status_code,
    )


class ProfileController(Controller):
    path = "/profile"
    guards = [contractors_only]

    @get("/", name="profiles:edit")
    async def edit(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return await _edit_page(request, db, user)

    @post("/", name="profiles:save")
    async def save(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        try:
            values = read_profile(data)
        except FormError as exc:
            form = {k: text(data, k) for k in PROFILE_FIELDS}
            return await _edit_page(request, db, user, form=form, errors=exc.errors, status_code=422)
        await services.update_profile(db, user, values)
        flash(request, "Your profile is saved.", category="success")
        return see_other(request, request.app.route_reverse("profiles:edit"))

    @post(
        "/portfolio",
        name="profiles:portfolio-add",
        request_max_body_size=MAX_FILE_BYTES + FORM_OVERHEAD_BYTES,
    )
    async def add_portfolio(self, request: Request, data: Multipart, db: DB, user: CurrentUser) -> Response:
        try:
            item = await read_portfolio_item(data)
        except FormError as exc:
            typed = {"title": text(data, "title"), "url": text(data, "url")}
            return await _edit_page(
                request, db, user, portfolio_form=typed, portfolio_errors=exc.errors, status_code=422
            )
        await services.add_portfolio_item(db, _storage(request), user, title=item.title, url=item.url, image=item.image)
        flash(request, f"“{item.title}” is in your portfolio.", category="success")
        return see_other(request, request.app.route_reverse("profiles:edit") + "#portfolio")

    @post("/portfolio/{item_id:int}/delete", name="profiles:portfolio-remove")
    async def remove_portfolio(self, request: Request, item_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        await services.remove_portfolio_item(db, _storage(request), user, item_id)
        flash(request, "The portfolio item was removed.", category="success")
        return see_other(request, request.app.route_reverse("profiles:edit") + "#portfolio")

    @post("/verification/start", name="profiles:kyc-start")
    async def start_hosted_verification(self, request: Request, db: DB, user: CurrentUser) -> Response:
        provider = provider_for(request.app.state.settings)
        if provider is None:
            raise NotFound()
        profile = await services.ensure_profile(db, user)
        await db.commit()
        services.ensure_can_start_kyc(profile)  # before a provider session is opened for nothing
        return_url = request.app.state.settings.app_base_url + request.app.route_reverse("profiles:kyc")
        try:
            session_id, url = await provider.create_session(f"user-{user.id}", return_url)
        except ProviderError:
            raise DomainError(
                "Our verification partner is not answering right now. Please try again in a few minutes."
            ) from None
        await services.start_provider_check(db, user, session_id)
        return see_other(request, url)

    @get("/verification", name="profiles:kyc")
    async def verification(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return await _kyc_page(request, db, user)

    @get("/kyc-status", name="profiles:kyc-status")
    async def kyc_status(
        self, request: Request, db: DB, user: CurrentUser, on: FromQuery[str | None] = None
    ) -> Response:
        """The status card alone, always the signed-in contractor's own: pages re-fetch it when
        the live event "kyc-status" arrives."""
        profile = await services.ensure_profile(db, user)
        check = await services.latest_check(db, user.id)
        await db.commit()
        context = {"profile": profile, "check": check, "on_kyc_page": on == "verification"}
        return render(request, "profiles/_kyc_live.html", context)

    @post(
        "/verification",
        name="profiles:kyc-submit",
        request_max_body_size=2 * MAX_FILE_BYTES + FORM_OVERHEAD_BYTES,
    )
    async def submit_verification(self, request: Request, data: Multipart, db: DB, user: CurrentUser) -> Response:
        if provider_for(request.app.state.settings) is not None:
            raise NotFound()  # the hosted adapter is configured: documents go to the provider
        try:
            documents = await read_documents(data)
        except FormError as exc:
            return await _kyc_page(request, db, user, errors=exc.errors, status_code=422)
        await services.submit_documents(db, _storage(request), user, documents.id_document, documents.selfie)
        flash(
            request,
            "Thank you. Your documents are with our team; we usually decide within one working day.",
            category="success",
        )
        return see_other(request, request.app.route_reverse("profiles:kyc"))


async def _kyc_page(request: Request, db, user: CurrentUser, *, errors=None, status_code=200) -> Response:
    profile = await services.ensure_profile(db, user)
    check = await services.latest_check(db, user.id)
    await db.commit()
    return render(
        request,
        "profiles/verification.html",
        {
            "profile": profile,
            "check": check,
            "errors": errors or {},
            "max_file": MAX_FILE_LABEL,
            "hosted": provider_for(request.app.state.settings) is not None,
        },
        status_code=status_code,
    )


class PublicProfileController(Controller):
    path = "/c"

    @get("/{slug:str}", name="profiles:public")
    async def show(self, request: Request, slug: FromPath[str], db: DB, viewer: Viewer) -> Response:
        profile, owner = await services.public_profile(db, slug, viewer)
        portfolio = await services.portfolio_of(db, profile)
        settings = request.app.state.settings
        return render(
            request,
            "profiles/public.html",
            {
                "profile": profile,
                "owner": owner,
                "portfolio": portfolio,
                "country_name": COUNTRIES.get(profile.country or "", ""),
                "page_url": settings.app_base_url + request.app.route_reverse("profiles:public", slug=profile.slug),
                "base_url": settings.app_base_url,
                "is_owner": viewer is not None and viewer.id == owner.id,
            },
        )


class FileDownloadController(Controller):
    """Stored files, each behind an authorization check (portfolio images are public)."""

    path = "/files"

    @get("/{file_id:int}", name="files:download")
    async def download(self, request: Request, file_id: FromPath[int], db: DB, viewer: Viewer) -> Response:
        admin_ok = bool(request.scope.get("session", {}).get("mfa_at"))
        row: StoredFile = await services.readable_file(db, viewer, file_id, admin_ok=admin_ok)
        data = await _storage(request).get(row.storage_key)
        public = row.purpose == "portfolio_image"
        disposition = "inline" if row.content_type.startswith("image/") else "attachment"
        return Response(
            data,
            media_type=row.content_type,
            headers={
                "Content-Disposition": f'{disposition}; filename="file-{row.id}"',
                "Cache-Control": "public, max-age=3600" if public else "private, no-store",
                # Even a file that slipped past the checks could not run anything here.
                "Content-Security-Policy": "default-src 'none'; sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )


class KycAdminController(Controller):
    path = "/admin/kyc"
    guards = [requires_admin]

    @get("/", name="admin:kyc")
    async def queue(self, request: Request, db: DB) -> Response:
        return await _queue_page(request, db)

    @post("/{check_id:int}/approve", name="admin:kyc-approve")
    async def approve(self, request: Request, check_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        return await _decide(request, db, user, check_id, approve=True, reason=None)

    @post("/{check_id:int}/reject", name="admin:kyc-reject")
    async def reject(
        self, request: Request, check_id: FromPath[int], data: FormData, db: DB, user: CurrentUser
    ) -> Response:
        return await _decide(request, db, user, check_id, approve=False, reason=text(data, "reason"))


async def _queue_page(request: Request, db, *, errors=None, status_code=200) -> Response:
    checks = await services.pending_checks(db)
    return render(request, "admin/kyc.html", {"checks": checks, "errors": errors or {}}, status_code=status_code)


async def _decide(request: Request, db, admin: User, check_id: int, *, approve: bool, reason: str | None) -> Response:
    try:
        check, profile = await services.decide(db, check_id, approve=approve, reason=reason, admin=admin)
    except FormError as exc:
        await db.rollback()
        return await _queue_page(request, db, errors={check_id: exc.errors["reason"]}, status_code=422)
    publish(db, check.user_id, "kyc-status", {"status": str(profile.kyc_status)})
    await db.commit()
    word = "verified" if approve else "rejected"
    flash(request, f"The identity check is {word}. The contractor sees it now.", category="success")
    return see_other(request, request.app.route_reverse("admin:kyc"))


class KycWebhookController(Controller):
    path = "/webhooks/kyc"

    @post("/", name="webhooks:kyc", request_max_body_size=64 * 1024)
    async def receive(self, request: Request, db: DB) -> Response:
        """Signed decision webhook of the hosted adapter. Bad signature → 400 and nothing changes;
        a replayed event id → 200 and nothing changes; the decision itself is re-read from the provider."""
        settings = request.app.state.settings
        provider = provider_for(settings)
        if provider is None:
            raise NotFound()
        body = await request.body()
        try:
            verify(settings.kyc_webhook_secret, body, request.headers.get(SIGNATURE_HEADER))
            event = json.loads(body)
            event_id, session_id = str(event["id"]), str(event["session_id"])
            json.dumps(event, ensure_ascii=False).encode()  # a lone surrogate ("\udcff") can't be stored
        except (BadSignature, ValueError, KeyError, TypeError, RecursionError):
            return Response({"error": "invalid signature or payload"}, status_code=400)
        if not await services.remember_webhook_event(db, event_id, event):
            await db.rollback()
            return Response({"status": "duplicate"}, status_code=200)
        check = await services.check_for_session(db, session_id)
        if check is None:
            await db.commit()  # an event about a session we never started: remembered, ignored
            return Response({"status": "unknown session"}, status_code=200)
        try:
            status, reason = await provider.decision(session_id)
        except ProviderError:
            await db.rollback()  # not remembered: the provider's retry will try again
            return Response({"error": "could not read the decision"}, status_code=503)
        if status in ("approved", "declined") and check.status == KycStatus.pending:
            try:
                check, profile = await services.decide(
                    db,
                    check.id,
                    approve=status == "approved",
                    reason=reason or "The verification service could not confirm your identity.",
                    admin=None,
                )
            except services.AlreadyDecided:
                pass
            else:
                publish(db, check.user_id, "kyc-status", {"status": str(profile.kyc_status)})
        await db.commit()
        return Response({"status": "ok"}, status_code=200)
