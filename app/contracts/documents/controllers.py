"""Contract proof over HTTP: the PDF and the proof bundle for the parties, and the public
verification page (with its upload check) for anyone holding the link or the QR code."""

from __future__ import annotations

import json
import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from app.accounts.guards import CurrentUser, requires_login_admins_mfa
from app.audit.chain import bundle
from app.contracts.documents.forms import read_document
from app.contracts.documents.services import (
    contract_by_public_id,
    document_panel_context,
    get_or_render,
    match_upload,
    public_summary,
)
from app.contracts.services import contract_for
from app.db import DB
from app.errors import FormError
from app.files.uploads import FORM_OVERHEAD_BYTES, MAX_FILE_BYTES, MAX_FILE_LABEL
from app.profiles.services import slugify
from app.web.forms import Multipart
from app.web.ratelimit import Limit, RateLimiter, request_ip
from app.web.templating import render

# Hashing an upload is cheap, but the form is public: enough for people, little for a script.
CHECKS_PER_IP = Limit("verify-upload-ip", attempts=30, window_seconds=3600)
PRIVATE_DOWNLOAD = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def attachment(filename: str) -> dict[str, str]:
    return {**PRIVATE_DOWNLOAD, "Content-Disposition": f'attachment; filename="{filename}"'}


async def _verify_page(
    request: Request, db: DB, public_id: str, *, status_code: int = 200, headers=None, block=None, **extra: Any
) -> Response:
    contract = await contract_by_public_id(db, public_id)
    context = {
        "summary": await public_summary(db, contract),
        "result": None,
        "errors": {},
        "max_size": MAX_FILE_LABEL,
        "field_key": secrets.token_hex(4),
    } | extra
    return render(request, "verify/page.html", context, status_code=status_code, block=block, headers=headers)


class ContractDocumentController(Controller):
    """A contract's documents for its parties (and admins): the PDF, the proof bundle, the PDF panel."""

    path = "/contracts/{contract_id:int}"
    guards = [requires_login_admins_mfa]

    @get("/pdf", name="contracts:pdf")
    async def pdf(
        self, request: Request, contract_id: FromPath[int], db: DB, state: State, user: CurrentUser
    ) -> Response:
        """Always the PDF itself: the stored rendering, or one rendered (and stored) now."""
        contract = await contract_for(db, contract_id, user)
        document, version, data = await get_or_render(db, state.settings, contract)
        await db.commit()
        name = f"{slugify(version.terms.title or contract.title, 'contract')}-v{version.number}"
        name += ".pdf" if document.final else "-draft.pdf"
        return Response(data, media_type="application/pdf", headers=attachment(name))

    @get("/proof", name="contracts:proof")
    async def proof(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        """The contract's audit events with their hashes and the chain head: checkable offline
        with docs/audit/verify_bundle.py."""
        contract = await contract_for(db, contract_id, user)
        proof = await bundle(db, "contract", contract.public_id)
        body = json.dumps(proof, ensure_ascii=False, indent=2).encode()
        return Response(
            body,
            media_type="application/json",
            headers=attachment(f"pactline-contract-{contract.public_id}-proof.json"),
        )

    @get("/document", name="contracts:document")
    async def panel(self, request: Request, contract_id: FromPath[int], db: DB, user: CurrentUser) -> Response:
        """The contract page's PDF panel alone (parties and admins, like the page); the panel re-fetches
        it when the live event "contract-<id>-document" says the signed PDF is stored."""
        contract = await contract_for(db, contract_id, user)
        document = await document_panel_context(db, contract)
        return render(request, "contracts/_document.html", {"document": document})


class VerifyController(Controller):
    """The public verification page, for anyone holding the link or the QR code, and its upload check."""

    path = "/verify/{public_id:str}"

    @get("/", name="contracts:verify")
    async def page(self, request: Request, public_id: FromPath[str], db: DB) -> Response:
        return await _verify_page(request, db, public_id)

    @post(
        "/check",
        name="contracts:verify-check",
        request_max_body_size=MAX_FILE_BYTES + FORM_OVERHEAD_BYTES,
    )
    async def check(
        self, request: Request, public_id: FromPath[str], data: Multipart, db: DB, state: State
    ) -> Response:
        """Is this file the genuine rendering? Compares its SHA-256 with the stored ones."""
        contract = await contract_by_public_id(db, public_id)  # 404 before counting or reading anything
        verdict = await RateLimiter(state.redis).hit(CHECKS_PER_IP, request_ip(request))
        if not verdict.allowed:
            message = f"Too many checks from your network. Please try again in {verdict.minutes} minutes."
            return await _verify_page(
                request,
                db,
                public_id,
                status_code=429,
                headers={"Retry-After": str(verdict.retry_after)},
                block="check",
                errors={"document": [message]},
            )
        try:
            upload = await read_document(data)
        except FormError as exc:
            return await _verify_page(request, db, public_id, status_code=422, block="check", errors=exc.errors)
        match = await match_upload(db, contract, upload.sha256)
        return await _verify_page(request, db, public_id, block="check", result=match, uploaded_sha256=upload.sha256)
