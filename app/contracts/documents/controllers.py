"""Contract proof over HTTP: the PDF and the proof bundle for the parties, and the public
verification page (with its upload check) for anyone holding the link or the QR code."""

from __future__ import annotations

import json
import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath

from app.accounts.guards import requires_login_admins_mfa
from app.audit.chain import bundle
from app.contracts.documents.services import contract_by_public_id, get_or_render, match_upload, public_summary
from app.contracts.services import contract_for
from app.db import DB
from app.files.uploads import FORM_OVERHEAD_BYTES, MAX_FILE_BYTES, MAX_FILE_LABEL, PDF, UploadRejected, check_upload
from app.profiles.services import slugify
from app.web.forms import Multipart
from app.web.ratelimit import Limit, RateLimiter, request_ip
from app.web.templating import render

LOGIN = [requires_login_admins_mfa]
# Hashing an upload is cheap, but the form is public: enough for people, little for a script.
CHECKS_PER_IP = Limit("verify-upload-ip", attempts=30, window_seconds=3600)
PRIVATE_DOWNLOAD = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def attachment(filename: str) -> dict[str, str]:
    return {**PRIVATE_DOWNLOAD, "Content-Disposition": f'attachment; filename="{filename}"'}


@get("/contracts/{contract_id:int}/pdf", name="contracts:pdf", guards=LOGIN)
async def contract_pdf(request: Request, contract_id: FromPath[int], db: DB, state: State) -> Response:
    """Always the PDF itself: the stored rendering, or one rendered (and stored) now."""
    contract = await contract_for(db, contract_id, request.scope["user"])
    document, version, data = await get_or_render(db, state.settings, contract)
    await db.commit()
    name = f"{slugify(version.terms.title or contract.title, 'contract')}-v{version.number}"
    name += ".pdf" if document.final else "-draft.pdf"
    return Response(data, media_type="application/pdf", headers=attachment(name))


@get("/contracts/{contract_id:int}/proof", name="contracts:proof", guards=LOGIN)
async def contract_proof(request: Request, contract_id: FromPath[int], db: DB) -> Response:
    """The contract's audit events with their hashes and the chain head: checkable offline
    with docs/audit/verify_bundle.py."""
    contract = await contract_for(db, contract_id, request.scope["user"])
    proof = await bundle(db, "contract", contract.public_id)
    body = json.dumps(proof, ensure_ascii=False, indent=2).encode()
    return Response(
        body,
        media_type="application/json",
        headers=attachment(f"pactline-contract-{contract.public_id}-proof.json"),
    )


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


@get("/verify/{public_id:str}", name="contracts:verify")
async def verify_page(request: Request, public_id: FromPath[str], db: DB) -> Response:
    return await _verify_page(request, db, public_id)


@post(
    "/verify/{public_id:str}/check",
    name="contracts:verify-check",
    request_max_body_size=MAX_FILE_BYTES + FORM_OVERHEAD_BYTES,
)
async def verify_upload(request: Request, public_id: FromPath[str], data: Multipart, db: DB, state: State) -> Response:
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
        upload = await check_upload(data.get("document"), (PDF,))
    except UploadRejected as exc:
        return await _verify_page(
            request, db, public_id, status_code=422, block="check", errors={"document": [str(exc)]}
        )
    if upload is None:
        errors = {"document": ["Choose the PDF file you want to check."]}
        return await _verify_page(request, db, public_id, status_code=422, block="check", errors=errors)
    match = await match_upload(db, contract, upload.sha256)
    return await _verify_page(request, db, public_id, block="check", result=match, uploaded_sha256=upload.sha256)


HANDLERS = [contract_pdf, contract_proof, verify_page, verify_upload]
