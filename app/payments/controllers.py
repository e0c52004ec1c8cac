"""The sandbox provider's hosted checkout page (/checkout/<id>) and the providers' webhooks
(/webhooks/sandbox, /webhooks/stripe), which is how a payment's result reaches escrow."""

from __future__ import annotations

import logging

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.plugins.flash import flash

from app.accounts.guards import CurrentUser, requires_login
from app.db import DB
from app.errors import FormError
from app.payments import sandbox, services
from app.payments.forms import read_card
from app.payments.models import SandboxPayment, SandboxPaymentStatus
from app.payments.provider import ProviderError
from app.payments.providers import get_provider
from app.payments.tasks import SIGNATURE_HEADER
from app.platform.signatures import BadSignature, verify
from app.web.forms import FormData, text
from app.web.htmx import see_other
from app.web.templating import render
from app.web.urls import path_for

log = logging.getLogger("pactline.payments")

BEING_CONFIRMED = "Payment received. We are confirming it now; the milestone shows as funded in a moment."


def _back(payment: SandboxPayment) -> str:
    """Where the payer goes after paying: the return address given at checkout, when it is a
    path of this site (anything else would make the checkout an open redirect)."""
    url = payment.return_url or ""
    if url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return path_for("pages:dashboard")


def _page(request: Request, payment: SandboxPayment, *, form=None, errors=None, status_code: int = 200) -> Response:
    return render(
        request,
        "checkout/show.html",
        {
            "payment": payment,
            "status": SandboxPaymentStatus(payment.status).value,
            "cards": sandbox.TEST_CARDS,
            "back_url": _back(payment),
            "form": form or {},
            "errors": errors or {},
        },
        status_code=status_code,
    )


class CheckoutController(Controller):
    """The page a real provider would host: only the payer sees it; a card moves the payment
    once (compare-and-set), and its result leaves as a signed webhook written in the same
    transaction, never as a call into escrow."""

    path = "/checkout"
    guards = [requires_login]

    @get("/{payment_id:str}", name="checkout:show")
    async def show(self, request: Request, db: DB, user: CurrentUser, payment_id: FromPath[str]) -> Response:
        payment = await sandbox.checkout_for(db, payment_id, user.id)
        return _page(request, payment)

    @post("/{payment_id:str}/pay", name="checkout:pay")
    async def pay(
        self, request: Request, data: FormData, db: DB, user: CurrentUser, payment_id: FromPath[str]
    ) -> Response:
        payment = await sandbox.checkout_for(db, payment_id, user.id)
        here = request.app.route_reverse("checkout:show", payment_id=payment.id)
        if payment.status != SandboxPaymentStatus.requires_payment_method:
            return see_other(request, here)  # paid, declined or waiting to confirm: the page says which
        try:
            card = read_card(data)
        except FormError as exc:
            return _page(request, payment, form={"card_number": text(data, "card_number")[:40]}, errors=exc.errors,
                         status_code=422)  # fmt: skip
        moved = await sandbox.pay(db, payment, card)
        await db.commit()
        if moved == SandboxPaymentStatus.succeeded:
            flash(request, BEING_CONFIRMED, category="success")
            return see_other(request, _back(payment))
        if moved == SandboxPaymentStatus.failed:
            flash(request, f"{sandbox.DECLINED} Nothing was charged.", category="error")
            return see_other(request, _back(payment))
        return see_other(request, here)  # the second step, or what happened to an earlier click

    @post("/{payment_id:str}/confirm", name="checkout:confirm")
    async def confirm(self, request: Request, db: DB, user: CurrentUser, payment_id: FromPath[str]) -> Response:
        payment = await sandbox.checkout_for(db, payment_id, user.id)
        paid = await sandbox.confirm(db, payment)
        await db.commit()
        if paid:
            flash(request, BEING_CONFIRMED, category="success")
            return see_other(request, _back(payment))
        return see_other(request, request.app.route_reverse("checkout:show", payment_id=payment.id))


async def receive_webhook(request: Request, *, provider: str, secret: str, header: str) -> Response:
    """A provider's signed webhook (decision 0031), the same steps for every provider. A bad
    signature or body → 400 and nothing is written. Then three steps, each without a transaction
    across the network: record the event; re-read its object from the provider; apply it and mark
    the event processed in one transaction. A failure in between leaves the event unprocessed, so
    the provider's retry handles it again; a processed event is answered as a duplicate."""
    settings, sessionmaker = request.app.state.settings, request.app.state.sessionmaker
    body = await request.body()
    try:
        verify(secret, body, request.headers.get(header))
    except BadSignature as exc:
        return Response({"error": f"invalid signature: {exc}"}, status_code=400)
    try:
        event = services.parse_event(body)
    except services.BadEvent as exc:
        return Response({"error": f"invalid event: {exc}"}, status_code=400)
    if not await services.record_event(sessionmaker, provider, event):
        return Response({"status": "duplicate"}, status_code=200)
    try:
        found = await services.fetch_object(get_provider(settings, sessionmaker), event)
    except ProviderError:
        log.warning("%s event %s: %s could not be read", provider, event.id, event.object_id, exc_info=True)
        return Response({"error": "the object could not be read; try again later"}, status_code=503)
    async with sessionmaker() as db:
        if found is not None:
            await services.apply_object(db, found, provider=provider)
        await services.mark_processed(db, provider, event.id)
        await db.commit()
    return Response({"status": "processed"}, status_code=200)


class SandboxWebhookController(Controller):
    path = "/webhooks/sandbox"

    @post("/", name="webhooks:sandbox", request_max_body_size=64 * 1024)
    async def receive(self, request: Request) -> Response:
        """The sandbox provider's signed webhook: see `receive_webhook`."""
        secret = sandbox.webhook_secret(request.app.state.settings)
        return await receive_webhook(request, provider="sandbox", secret=secret, header=SIGNATURE_HEADER)


class StripeWebhookController(Controller):
    path = "/webhooks/stripe"

    @post("/", name="webhooks:stripe", request_max_body_size=256 * 1024)
    async def receive(self, request: Request) -> Response:
        """Stripe's signed webhook (STRIPE_WEBHOOK_SECRET, `Stripe-Signature`): see `receive_webhook`.
        Stripe's events carry whole objects; only their ids are used, the objects are re-read."""
        secret = request.app.state.settings.stripe_webhook_secret
        return await receive_webhook(request, provider="stripe", secret=secret, header="Stripe-Signature")
