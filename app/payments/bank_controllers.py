"""The sandbox provider's hosted bank-account page (/sandbox/bank/<id>): what Stripe's onboarding
page would be. Only the account's contractor sees it; saving records `payout_account.updated`,
which reaches the app as a signed webhook."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from app.accounts.guards import CurrentUser, requires_login
from app.db import DB
from app.errors import FormError
from app.payments import sandbox_payouts
from app.payments.bank_forms import read_bank_details
from app.payments.models import SandboxPayoutAccount
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render
from app.web.urls import path_for

RETURN_MAX = 500


def _same_site(url: str | None) -> str:
    """Where to go after saving: the return address given at set-up when it is a path of this
    site (anything else would make the page an open redirect), else the dashboard."""
    url = url or ""
    if url.startswith("/") and not url.startswith("//") and "\\" not in url and len(url) <= RETURN_MAX:
        if url.isprintable() and url.isascii():
            return url
    return path_for("pages:dashboard")


def _page(request: Request, account: SandboxPayoutAccount, back: str, *, form=None, errors=None, status_code=200):
    return render(
        request,
        "sandbox/bank.html",
        {
            "account": account,
            "ibans": sandbox_payouts.TEST_IBANS,
            "back_url": back,
            "form": form or {"holder_name": account.holder_name},
            "errors": errors or {},
        },
        status_code=status_code,
    )


class SandboxBankController(Controller):
    path = "/sandbox/bank"
    guards = [requires_login]

    @get("/{account_id:str}", name="sandbox-bank:show")
    async def show(
        self,
        request: Request,
        db: DB,
        user: CurrentUser,
        account_id: FromPath[str],
        return_to: FromQuery[str | None] = None,
    ) -> Response:
        account = await sandbox_payouts.bank_account_for(db, account_id, user.id)
        return _page(request, account, _same_site(return_to))

    @post("/{account_id:str}", name="sandbox-bank:save")
    async def save(
        self, request: Request, data: FormData, db: DB, user: CurrentUser, account_id: FromPath[str]
    ) -> Response:
        account = await sandbox_payouts.bank_account_for(db, account_id, user.id)
        back = _same_site(text(data, "return_to"))
        try:
            holder, iban = read_bank_details(data)
        except FormError as exc:
            typed = {"holder_name": text(data, "holder_name")[:200], "iban": text(data, "iban")[:60]}
            return _page(request, account, back, form=typed, errors=exc.errors, status_code=422)
        await sandbox_payouts.save_bank_details(db, account, holder, iban)
        await db.commit()
        return see_other(request, back)
