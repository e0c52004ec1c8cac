"""/earnings, the contractor's money page: balances per currency, the payout method, "Withdraw",
the weekly automatic payout, the list of payouts, the 12-month chart of what was released to them
and paid out, and their invoices; live on the "earnings" signal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.plugins.flash import flash
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.guards import CurrentUser, requires_role
from app.accounts.models import Role, User
from app.db import DB
from app.errors import DomainError, FormError
from app.escrow.idempotency import once
from app.invoices.models import DocumentKind
from app.invoices.queries import documents_for
from app.money import Money
from app.payments.provider import ProviderError
from app.payments.providers import get_provider
from app.payouts import services
from app.payouts.forms import read_currency, read_withdrawal
from app.profiles.models import KycStatus
from app.profiles.services import VerificationRequired, get_profile
from app.statements.chart import Series, build_charts, monthly_totals
from app.statements.queries import CONTRACTOR_MONTHLY
from app.web.forms import FormData, checkbox, text
from app.web.htmx import see_other
from app.web.templating import render

WITHDRAW_SCOPE = "payouts:withdraw"
PROVIDER_DOWN = "The payment service did not answer. Nothing changed; please try again in a minute."
CHART_SERIES = (Series("earned", "Released to you"), Series("paid_out", "Paid out"))
INVOICE_KINDS = (DocumentKind.contractor_invoice, DocumentKind.fee_invoice)


@dataclass
class Refusal:
    message: str
    link_url: str = ""
    link_label: str = ""


def _provider(request: Request):
    return get_provider(request.app.state.settings, request.app.state.sessionmaker)


async def _page(
    request: Request,
    db: AsyncSession,
    user: User,
    *,
    status_code: int = 200,
    currency: str | None = None,
    errors: dict[str, list[str]] | None = None,
    form: dict[str, str] | None = None,
    refused: Refusal | None = None,
) -> Response:
    """The page (or, for htmx, its live block). `currency` names the Withdraw form that `errors`,
    `form` and `refused` belong to."""
    await db.rollback()
    settings = request.app.state.settings
    provider = settings.payments_provider
    earnings = await services.earnings_of(db, user.id)
    profile = await get_profile(db, user.id)
    monthly = await monthly_totals(db, CONTRACTOR_MONTHLY, {"user_id": user.id}, [s.key for s in CHART_SERIES])
    context: dict[str, Any] = {
        "earnings": earnings,
        "method": await services.method_of(db, user.id, provider),
        "payouts": await services.payouts_of(db, user.id),
        "state_words": services.STATE_WORDS,
        "verified": profile is not None and profile.kyc_status == KycStatus.verified,
        "minimum": {e.currency: Money(settings.payout_minimum_minor, e.currency) for e in earnings},
        # The Amount field starts at the whole available balance, as a person types it: 900.00.
        "prefill": {
            e.currency: f"{e.available // 100}.{e.available % 100:02d}" if e.available else "" for e in earnings
        },
        "form_currency": currency,
        "errors": errors or {},
        "form": form or {},
        "refused": refused,
        "charts": build_charts("earnings", "Your earnings", CHART_SERIES, monthly),
        "documents": await documents_for(db, user.id, kinds=INVOICE_KINDS),
    }
    return render(request, "earnings/index.html", context, status_code=status_code, block="live")


class EarningsController(Controller):
    path = "/earnings"
    guards = [requires_role(Role.contractor)]

    @get("/", name="earnings:index")
    async def index(self, request: Request, db: DB, user: CurrentUser) -> Response:
        return await _page(request, db, user)

    @post("/withdraw", name="earnings:withdraw")
    async def withdraw(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        """ "Withdraw": the amount leaves the balance for the payout method, once per form key."""
        currency = read_currency(data)
        typed = {"amount": text(data, "amount")[:40]}
        try:
            amount = read_withdrawal(data)
        except FormError as exc:
            return await _page(request, db, user, status_code=422, currency=currency, errors=exc.errors, form=typed)
        settings = request.app.state.settings

        async def work() -> Response:
            try:
                await services.request_payout(db, user, amount, provider=settings.payments_provider,
                                              minimum_minor=settings.payout_minimum_minor)  # fmt: skip
            except FormError as exc:
                return await _page(request, db, user, status_code=422, currency=amount.currency, errors=exc.errors,
                                   form=typed)  # fmt: skip
            except VerificationRequired as exc:
                refusal = Refusal(exc.message, request.app.route_reverse("profiles:kyc"), "Verify your identity")
                return await _page(request, db, user, status_code=exc.status_code, currency=amount.currency,
                                   form=typed, refused=refusal)  # fmt: skip
            except services.NoPayoutMethod as exc:
                refusal = Refusal(exc.message, "#payout-method", "Set up your bank account")
                return await _page(request, db, user, status_code=exc.status_code, currency=amount.currency,
                                   form=typed, refused=refusal)  # fmt: skip
            except DomainError as exc:
                return await _page(request, db, user, status_code=exc.status_code, currency=amount.currency,
                                   form=typed, refused=Refusal(exc.message))  # fmt: skip
            await db.commit()
            flash(request, f"Withdrawal of {amount} requested. It shows below as it goes to your bank.", "success")
            return see_other(request, request.app.route_reverse("earnings:index"))

        fingerprint = {"currency": amount.currency, "amount": str(amount.amount_minor)}
        return await once(request, user_id=user.id, key=text(data, "idempotency_key") or None, scope=WITHDRAW_SCOPE,
                          fingerprint=fingerprint, work=work)  # fmt: skip

    @post("/method", name="earnings:method")
    async def set_up_method(self, request: Request, db: DB, user: CurrentUser) -> Response:
        """ "Set up your bank account" / "Change bank account": to the provider's own page."""
        await db.rollback()
        back = request.app.route_reverse("earnings:method-return")
        try:
            url = await services.start_method_setup(request.app.state.sessionmaker, _provider(request), user,
                                                     return_url=back)  # fmt: skip
        except ProviderError:
            flash(request, PROVIDER_DOWN, "error")
            return see_other(request, request.app.route_reverse("earnings:index"))
        return see_other(request, url)

    @get("/method/return", name="earnings:method-return")
    async def method_return(self, request: Request, db: DB, user: CurrentUser) -> Response:
        """Back from the provider's page: what it says about the account now."""
        await db.rollback()
        try:
            method = await services.set_up_method(request.app.state.sessionmaker, _provider(request), user)
        except ProviderError:
            method = None
            flash(request, PROVIDER_DOWN, "error")
        if method is not None and method.ready:
            flash(request, f"{method.label} is ready for payouts.", "success")
        elif method is not None:
            flash(request, "Your bank account is not ready yet: its details are still missing.", "warning")
        return see_other(request, request.app.route_reverse("earnings:index"))

    @post("/automatic", name="earnings:automatic")
    async def automatic(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        """ "Pay me automatically every Monday": on or off."""
        on = checkbox(data, "auto_weekly")
        try:
            await services.set_automatic(db, user, request.app.state.settings.payments_provider, on)
        except DomainError as exc:
            return await _page(request, db, user, status_code=exc.status_code, refused=Refusal(exc.message))
        await db.commit()
        flash(request, "We will pay out your balance every Monday." if on else "Automatic payouts are off.",
              "success")  # fmt: skip
        return see_other(request, request.app.route_reverse("earnings:index"))
