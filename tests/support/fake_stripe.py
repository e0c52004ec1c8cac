"""A local fake of Stripe's API on 127.0.0.1, speaking its HTTP protocol as far as the Stripe
adapter (app/payments/stripe.py) and the official SDK use it: form-encoded bodies with bracket
keys, `Authorization: Bearer sk_…`, `Idempotency-Key` replayed like Stripe's, `Stripe-Account`
for connected accounts, its error shapes, list pages (`data`, `has_more`, `starting_after`,
`created[gte|lt]`), `expand[]`, and webhooks signed with a `whsec_` secret like Stripe's.

What happens on the outside — the client paying on the hosted page, a contractor finishing
onboarding, a bank settling a payout, Stripe answering 500 or timing out — is a test control,
a Python method on the fake (`pay`, `confirm`, `complete_onboarding`, `settle_payout`,
`fail_next`, `hang_next`). Events pile up in `fake.events`; the test delivers them when it wants
(`await fake.deliver(event)`, twice or out of order on purpose)."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx

from app.platform.signatures import sign
from tests.support.threaded import ThreadedServer

API_KEY = "sk_test_pactline_fake_0123456789"  # noqa: S105 — the fake's own test key
WEBHOOK_SECRET = "whsec_pactline_fake_0123456789abcdef"  # noqa: S105 — test-only signing secret

# Test cards, by what they do on the hosted page.
SUCCEEDS, DECLINED, REQUIRES_ACTION = "4242424242424242", "4000000000000002", "4000002760003184"
# Bank account numbers (Stripe's test numbers): payouts to the first arrive, to the second fail.
PAYS_OUT, FAILS_PAYOUTS = "000123456789", "000111111116"
ONBOARDING_DUE = ["business_type", "external_account", "individual.dob.day", "tos_acceptance.date"]


class StripeFail(Exception):
    def __init__(self, status: int, type_: str, message: str, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status, self.type, self.message, self.code, self.param = status, type_, message, code, param

    def body(self) -> dict[str, Any]:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(kind: str, object_id: str, param: str = "id") -> StripeFail:
    return StripeFail(404, "invalid_request_error", f"No such {kind}: '{object_id}'", "resource_missing", param)


def invalid(message: str, code: str | None = None, param: str | None = None) -> StripeFail:
    return StripeFail(400, "invalid_request_error", message, code, param)


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`a[b][0][c]=x` pairs → nested dicts and lists, as Stripe reads them (`x[]` appends)."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head] + ([p.rstrip("]") for p in ("[" + rest).split("[")[1:]] if rest else [])
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                part = str(sum(1 for _ in node))  # `x[]`: the next index
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _lists(v) for k, v in node.items()}
        if node and all(k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
    return node


def _int(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    if not isinstance(value, str) or not value.isdigit():
        raise invalid(f"Invalid integer: {value}", "parameter_invalid_integer", name)
    return int(value)


@dataclass
class FakeStripe:
    url: str = ""
    api_key: str = API_KEY
    webhook_secret: str = WEBHOOK_SECRET
    # Where events go: a URL (the live server's /webhooks/stripe) or an httpx transport (the app in-process).
    webhook_url: str = ""
    webhook_transport: httpx.AsyncBaseTransport | None = None
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → object, every kind
    payouts_of: dict[str, list[str]] = field(default_factory=dict)  # connected account → its payouts' ids
    balances: dict[str, int] = field(default_factory=dict)  # connected account → available (minor units)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # method, path, headers
    idempotent: dict[tuple[str, str], tuple[str, int, bytes]] = field(default_factory=dict)
    faults: list[tuple[str, float, str]] = field(default_factory=list)  # ("500" | "429" | "hang", seconds, path)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()

        async def asgi(scope, receive, send) -> None:  # a function: uvicorn takes a bound method for ASGI 2
            await self.asgi(scope, receive, send)

        self._server = ThreadedServer(asgi, "fake-stripe")
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> str:
        self.url = self._server.start()
        return self.url

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        with self._lock:
            self.objects.clear()
            self.payouts_of.clear()
            self.balances.clear()
            self.events.clear()
            self.requests.clear()
            self.idempotent.clear()
            self.faults.clear()
            self.webhook_url, self.webhook_transport = "", None

    # ------------------------------------------------------------ objects

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):05d}{secrets.token_hex(6)}"

    def _add(self, prefix: str, kind: str, **fields: Any) -> dict[str, Any]:
        object_id = fields.pop("id", None) or self._new_id(prefix)
        obj = {"id": object_id, "object": kind, "created": int(time.time()), "livemode": False, **fields}
        self.objects[obj["id"]] = obj
        return obj

    def _get(self, kind: str, object_id: str) -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise missing(kind, object_id)
        return obj

    def all_of(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [copy.deepcopy(o) for o in self.objects.values() if o["object"] == kind]

    def _event(self, type_: str, obj: dict[str, Any], account: str | None = None) -> dict[str, Any]:
        event = {
            "id": self._new_id("evt"),
            "object": "event",
            "api_version": "2025-01-27.acacia",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": type_,
            "data": {"object": _public(obj)},
        }
        if account:
            event["account"] = account
        self.events.append(event)
        return event

    # ------------------------------------------------------------ test controls: the client on the hosted page

    def pay(self, session_id: str, card: str = SUCCEEDS) -> list[dict[str, Any]]:
        """The client pays the checkout with a test card; returns the events Stripe would send."""
        card = card.replace(" ", "")
        with self._lock:
            session = self._get("checkout.session", session_id)
            if session["status"] != "open":
                raise AssertionError(f"checkout {session_id} is {session['status']}")
            intent = self.objects.get(session["payment_intent"] or "")
            if intent is None:
                intent = self._add("pi", "payment_intent", amount=session["amount_total"],
                                   currency=session["currency"], status="requires_payment_method",
                                   metadata=dict(session["_intent_metadata"]), description=session["_description"],
                                   last_payment_error=None, latest_charge=None)  # fmt: skip
                session["payment_intent"] = intent["id"]
            if card == DECLINED:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {"type": "card_error", "code": "card_declined",
                                                "decline_code": "generic_decline",
                                                "message": "Your card was declined."}  # fmt: skip
                return [self._event("payment_intent.payment_failed", intent)]
            if card == REQUIRES_ACTION:
                intent["status"], intent["last_payment_error"] = "requires_action", None
                return [self._event("payment_intent.requires_action", intent)]
            return self._succeed(session, intent)

    def confirm(self, session_id: str) -> list[dict[str, Any]]:
        """The second step (3-D Secure) of the card that asked for one, done."""
        with self._lock:
            session = self._get("checkout.session", session_id)
            intent = self._get("payment_intent", session["payment_intent"])
            assert intent["status"] == "requires_action", intent["status"]
            return self._succeed(session, intent)

    def _succeed(self, session: dict[str, Any], intent: dict[str, Any]) -> list[dict[str, Any]]:
        charge = self._add("ch", "charge", amount=intent["amount"], amount_refunded=0, currency=intent["currency"],
                           payment_intent=intent["id"], paid=True, refunded=False, status="succeeded")  # fmt: skip
        intent.update(status="succeeded", latest_charge=charge["id"], last_payment_error=None)
        session.update(status="complete", payment_status="paid")
        # Stripe sends these in no promised order; this is the usual one.
        return [self._event("payment_intent.succeeded", intent), self._event("checkout.session.completed", session)]

    def expire(self, session_id: str) -> list[dict[str, Any]]:
        with self._lock:
            session = self._get("checkout.session", session_id)
            session["status"] = "expired"
            return [self._event("checkout.session.expired", session)]

    def seed_payment(self, *, reference: str, amount: int, currency: str = "eur", created: int | None = None
                     ) -> dict[str, Any]:  # fmt: skip
        """A succeeded PaymentIntent made elsewhere (for list pages), without a checkout."""
        with self._lock:
            intent = self._add("pi", "payment_intent", amount=amount, currency=currency, status="succeeded",
                               metadata={"reference": reference}, last_payment_error=None, latest_charge=None)  # fmt: skip
            if created is not None:
                intent["created"] = created
            return intent

    # ------------------------------------------------------------ test controls: connected accounts and banks

    def complete_onboarding(self, account_id: str, *, account_number: str = PAYS_OUT) -> list[dict[str, Any]]:
        """The contractor finishes Stripe's onboarding with this bank account."""
        with self._lock:
            account = self._get("account", account_id)
            bank = {"id": self._new_id("ba"), "object": "bank_account", "account": account_id,
                    "last4": account_number[-4:], "country": "DE", "currency": "eur", "status": "new",
                    "_number": account_number}  # fmt: skip
            account["external_accounts"]["data"] = [bank]
            account["external_accounts"]["total_count"] = 1
            account.update(payouts_enabled=True, charges_enabled=True, details_submitted=True)
            account["requirements"]["currently_due"] = []
            account["capabilities"] = {"transfers": "active"}
            return [self._event("account.updated", account, account=account_id)]

    def settle_payout(self, payout_id: str, *, paid: bool | None = None) -> list[dict[str, Any]]:
        """The bank answers: paid, or failed (by default as the account's bank number says)."""
        with self._lock:
            payout = self._get("payout", payout_id)
            account_id = payout["_account"]
            if paid is None:
                banks = self.objects[account_id]["external_accounts"]["data"]
                paid = not banks or banks[0]["_number"] != FAILS_PAYOUTS
            if paid:
                payout["status"] = "paid"
                return [self._event("payout.paid", payout, account=account_id)]
            payout.update(status="failed", failure_code="no_account", failure_message=(
                "The bank account details on file are probably incorrect. No bank account could be "
                "located with those details."))  # fmt: skip
            self.balances[account_id] += payout["amount"]  # the money is back on the connected account
            return [self._event("payout.failed", payout, account=account_id)]

    # ------------------------------------------------------------ test controls: faults

    def fail_next(self, count: int = 1, status: int = 500, *, path: str = "") -> None:
        """The next `count` API calls (to `path` only, when given) answer `status` (500: api_error;
        429: rate limited) without doing anything."""
        with self._lock:
            self.faults.extend([(str(status), 0.0, path)] * count)

    def hang_next(self, count: int = 1, seconds: float = 5.0, *, path: str = "") -> None:
        """The next `count` API calls answer only after `seconds` (a client with a shorter timeout
        gives up first), and then with a 500: nothing was done."""
        with self._lock:
            self.faults.extend([("hang", seconds, path)] * count)

    # ------------------------------------------------------------ webhooks

    def webhook(self, event: dict[str, Any], *, secret: str | None = None, timestamp: int | None = None
                ) -> tuple[bytes, dict[str, str]]:  # fmt: skip
        """The body and headers Stripe would POST for `event`: `Stripe-Signature: t=…,v1=…`."""
        body = json.dumps(_public(event), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                   "Stripe-Signature": sign(secret or self.webhook_secret, body, timestamp)}  # fmt: skip
        return body, headers

    async def deliver(self, event: dict[str, Any], **signing: Any) -> httpx.Response:
        """POST one event to the app's endpoint, signed; the app's answer."""
        body, headers = self.webhook(event, **signing)
        if self.webhook_transport is not None:
            async with httpx.AsyncClient(transport=self.webhook_transport, base_url="http://testserver") as c:
                return await c.post("/webhooks/stripe", content=body, headers=headers, timeout=30)
        assert self.webhook_url, "set fake.webhook_url or fake.webhook_transport first"
        async with httpx.AsyncClient() as c:
            return await c.post(self.webhook_url, content=body, headers=headers, timeout=30)

    async def deliver_all(self, events: list[dict[str, Any]]) -> list[int]:
        return [(await self.deliver(e)).status_code for e in events]

    # ------------------------------------------------------------ the HTTP side

    async def asgi(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status, payload, extra = await self._answer(scope["method"], scope["path"], scope["query_string"].decode(),
                                                    headers, body)  # fmt: skip
        if isinstance(payload, str):
            raw, media = payload.encode(), "text/html; charset=utf-8"
        else:
            raw, media = json.dumps(payload).encode(), "application/json"
        out = [(b"content-type", media.encode()), (b"request-id", f"req_{secrets.token_hex(7)}".encode())]
        out += [(k.encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": raw})

    async def _answer(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes):
        if not path.startswith("/v1/"):
            return self._page(method, path, body)
        with self._lock:
            self.requests.append((method, path, headers))
            fault = next((f for f in self.faults if f[2] in ("", path)), None)
            if fault is not None:
                self.faults.remove(fault)
        if fault is not None:
            kind, seconds, _ = fault
            if kind == "hang":
                await asyncio.sleep(seconds)
                return 500, {"error": {"type": "api_error", "message": "An unknown error occurred."}}, {}
            if kind == "429":
                return 429, StripeFail(429, "invalid_request_error", "Too many requests.", "rate_limit").body(), {}
            else:
                return int(kind), {"error": {"type": "api_error", "message": "An unknown error occurred."}}, {}
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": {"type": "invalid_request_error",
                                   "message": "Invalid API Key provided: sk_****"}}, {}  # fmt: skip
        raw = body.decode() if method == "POST" else query
        params = decode_form(parse_qsl(raw, keep_blank_values=True))
        account = headers.get("stripe-account")
        key = headers.get("idempotency-key") if method == "POST" else None
        with self._lock:
            if key:
                fingerprint = hashlib.sha256(f"{path}\n{raw}".encode()).hexdigest()
                earlier = self.idempotent.get((account or "", key))
                if earlier is not None:
                    if earlier[0] != fingerprint:
                        return 400, StripeFail(400, "idempotency_error", (
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{key}' if you meant to execute a "
                            "different request.")).body(), {}  # fmt: skip
                    return earlier[1], json.loads(earlier[2]), {"idempotent-replayed": "true"}
            try:
                if account is not None and account not in self.objects:
                    raise StripeFail(403, "invalid_request_error",
                                     f"The provided key does not have access to account '{account}'",
                                     "account_invalid")  # fmt: skip
                status, payload = 200, self._route(method, path, params, account)
            except StripeFail as exc:
                status, payload = exc.status, exc.body()
            if key and (status < 400 or status == 402):
                self.idempotent[(account or "", key)] = (fingerprint, status, json.dumps(payload).encode())
            return status, payload, {}

    def _route(self, method: str, path: str, params: dict[str, Any], account: str | None) -> dict[str, Any]:
        parts = path.strip("/").split("/")[1:]  # without "v1"
        expand = params.get("expand") or []
        match method, parts:
            case "POST", ["checkout", "sessions"]:
                return self._create_session(params)
            case "GET", ["checkout", "sessions"]:
                found = [o for o in self._newest("checkout.session")
                         if "payment_intent" not in params or o["payment_intent"] == params["payment_intent"]]  # fmt: skip
                return self._page_of(found, params, expand, "/v1/checkout/sessions")
            case "GET", ["checkout", "sessions", sid]:
                return self._view(self._get("checkout.session", sid), expand)
            case "GET", ["payment_intents"]:
                return self._page_of(self._newest("payment_intent"), params, expand, "/v1/payment_intents")
            case "GET", ["payment_intents", pid]:
                return self._view(self._get("payment_intent", pid), expand)
            case "POST", ["refunds"]:
                return self._create_refund(params)
            case "GET", ["refunds"]:
                return self._page_of(self._newest("refund"), params, expand, "/v1/refunds")
            case "GET", ["refunds", rid]:
                return self._view(self._get("refund", rid), expand)
            case "POST", ["accounts"]:
                return self._create_account(params)
            case "GET", ["accounts", aid]:
                return self._view(self._get("account", aid), expand)
            case "POST", ["account_links"]:
                return self._create_account_link(params)
            case "POST", ["transfers"]:
                return self._create_transfer(params)
            case "GET", ["transfers"]:
                return self._page_of(self._newest("transfer"), params, expand, "/v1/transfers")
            case "GET", ["transfers", tid]:
                return self._view(self._get("transfer", tid), expand)
            case "POST", ["transfers", tid, "reversals"]:
                return self._create_reversal(tid, params)
            case "POST", ["payouts"]:
                return self._create_payout(params, account)
            case "GET", ["payouts"]:
                mine = [self.objects[p] for p in reversed(self.payouts_of.get(account or "", []))]
                return self._page_of(mine, params, expand, "/v1/payouts")
            case "GET", ["payouts", po]:
                payout = self.objects.get(po)
                if payout is None or payout["object"] != "payout" or payout["_account"] != account:
                    raise missing("payout", po)
                return self._view(payout, expand)
        raise StripeFail(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    # ------------------------------------------------------------ endpoints

    def _create_session(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("mode") != "payment":
            raise invalid("The fake supports mode=payment only.", "parameter_invalid", "mode")
        for name in ("success_url", "cancel_url"):
            if not str(p.get(name, "")).startswith(("http://", "https://")):
                raise invalid(f"Not a valid URL: {p.get(name)}", "url_invalid", name)
        items = p.get("line_items")
        if not isinstance(items, list) or not items:
            raise invalid("line_items is required in payment mode.", "parameter_missing", "line_items")
        total, currencies = 0, set()
        for item in items:
            price = item.get("price_data") or {}
            total += _int(price, "unit_amount") * _int(item, "quantity")
            currencies.add(price.get("currency"))
            if not (price.get("product_data") or {}).get("name"):
                raise invalid("Missing required param: line_items[0][price_data][product_data][name].",
                              "parameter_missing")  # fmt: skip
        if len(currencies) != 1 or None in currencies:
            raise invalid("All line items need one currency.", "parameter_invalid", "line_items")
        intent_data = p.get("payment_intent_data") or {}
        session = self._add("cs", "checkout.session", mode="payment", status="open", payment_status="unpaid",
                            amount_total=total, currency=currencies.pop(), client_reference_id=p.get("client_reference_id"),
                            metadata=p.get("metadata") or {}, payment_intent=None, success_url=p["success_url"],
                            cancel_url=p["cancel_url"], expires_at=int(time.time()) + 24 * 3600,
                            _intent_metadata=intent_data.get("metadata") or {},
                            _description=intent_data.get("description"))  # fmt: skip
        session["url"] = f"{self.url}/pay/{session['id']}"
        return _public(session)

    def _create_refund(self, p: dict[str, Any]) -> dict[str, Any]:
        pid = p.get("payment_intent")
        if not pid:
            raise invalid("One of charge or payment_intent is required.", "parameter_missing", "payment_intent")
        intent = self.objects.get(pid)
        if intent is None or intent["object"] != "payment_intent":
            raise missing("payment_intent", pid, "payment_intent")
        if intent["status"] != "succeeded" or not intent.get("latest_charge"):
            raise invalid(f"This PaymentIntent ({pid}) does not have a successful charge to refund.",
                          "charge_not_refundable")  # fmt: skip
        charge = self.objects[intent["latest_charge"]]
        left = charge["amount"] - charge["amount_refunded"]
        amount = _int(p, "amount") if "amount" in p else left
        if amount <= 0 or amount > left:
            raise invalid(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                          "amount_too_large", "amount")  # fmt: skip
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = self._add("re", "refund", amount=amount, currency=charge["currency"], charge=charge["id"],
                           payment_intent=pid, status="succeeded", metadata=p.get("metadata") or {})  # fmt: skip
        self._event("charge.refunded", charge)
        return _public(refund)

    def _create_account(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("type") not in ("express", "standard", "custom"):
            raise invalid("Invalid type", "parameter_invalid", "type")
        # Account ids look like acct_1Nv0FGQ9RKHgCVdK: no "_test_" in them.
        account = self._add("acct", "account", id=f"acct_1{secrets.token_hex(8)}", type=p["type"], email=p.get("email"), metadata=p.get("metadata") or {},
                            payouts_enabled=False, charges_enabled=False, details_submitted=False,
                            capabilities={"transfers": "inactive"},
                            requirements={"currently_due": list(ONBOARDING_DUE), "eventually_due": [],
                                          "disabled_reason": "requirements.past_due"},
                            external_accounts={"object": "list", "data": [], "has_more": False, "total_count": 0})  # fmt: skip
        account["external_accounts"]["url"] = f"/v1/accounts/{account['id']}/external_accounts"
        self.balances[account["id"]] = 0
        self.payouts_of[account["id"]] = []
        return _public(account)

    def _create_account_link(self, p: dict[str, Any]) -> dict[str, Any]:
        account = self._get("account", p.get("account", ""))
        if p.get("type") not in ("account_onboarding", "account_update"):
            raise invalid("Invalid type", "parameter_invalid", "type")
        for name in ("return_url", "refresh_url"):
            if not str(p.get(name, "")).startswith(("http://", "https://")):
                raise invalid(f"Not a valid URL: {p.get(name)}", "url_invalid", name)
        now = int(time.time())
        return {"object": "account_link", "created": now, "expires_at": now + 300,
                "url": f"{self.url}/onboard/{account['id']}/{secrets.token_urlsafe(12)}"}  # fmt: skip

    def _create_transfer(self, p: dict[str, Any]) -> dict[str, Any]:
        amount, currency = _int(p, "amount"), p.get("currency")
        destination = self.objects.get(p.get("destination", ""))
        if destination is None or destination["object"] != "account":
            raise missing("account", p.get("destination", ""), "destination")
        if destination["capabilities"].get("transfers") != "active":
            raise invalid("Your destination account needs to have at least one of the following capabilities "
                          "enabled: transfers, crypto_transfers, legacy_payments",
                          "insufficient_capabilities_for_transfer", "destination")  # fmt: skip
        if amount <= 0:
            raise invalid("Amount must be at least 1", "amount_too_small", "amount")
        transfer = self._add("tr", "transfer", amount=amount, currency=currency, destination=destination["id"],
                             metadata=p.get("metadata") or {}, transfer_group=p.get("transfer_group"),
                             reversed=False, amount_reversed=0,
                             reversals={"object": "list", "data": [], "has_more": False})  # fmt: skip
        self.balances[destination["id"]] += amount
        return _public(transfer)

    def _create_reversal(self, transfer_id: str, p: dict[str, Any]) -> dict[str, Any]:
        transfer = self._get("transfer", transfer_id)
        left = transfer["amount"] - transfer["amount_reversed"]
        amount = _int(p, "amount") if "amount" in p else left
        if amount <= 0 or amount > left:
            raise invalid("Transfer has already been fully reversed." if left == 0 else
                          f"Reversal amount ({amount}) is greater than what is left ({left}).",
                          "transfer_already_reversed" if left == 0 else "amount_too_large")  # fmt: skip
        account = transfer["destination"]
        if self.balances[account] < amount:
            raise invalid("Insufficient funds in the connected account to reverse this transfer.",
                          "balance_insufficient")  # fmt: skip
        self.balances[account] -= amount
        reversal = self._add("trr", "transfer_reversal", amount=amount, currency=transfer["currency"],
                             transfer=transfer_id, metadata=p.get("metadata") or {})  # fmt: skip
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] == transfer["amount"]
        transfer["reversals"]["data"].insert(0, _public(reversal))
        self._event("transfer.reversed", transfer)
        return _public(reversal)

    def _create_payout(self, p: dict[str, Any], account_id: str | None) -> dict[str, Any]:
        if account_id is None:
            raise invalid("The fake pays out from connected accounts only (Stripe-Account header).")
        account = self.objects[account_id]
        amount = _int(p, "amount")
        if not account["payouts_enabled"]:
            raise invalid("Payouts are not enabled for this account.", "payouts_not_allowed")
        if amount <= 0 or amount > self.balances[account_id]:
            raise invalid("You have insufficient funds in your Stripe account for this transfer.",
                          "balance_insufficient", "amount")  # fmt: skip
        self.balances[account_id] -= amount
        bank = account["external_accounts"]["data"][0]
        payout = self._add("po", "payout", amount=amount, currency=p.get("currency"), status="pending",
                           destination=bank["id"], metadata=p.get("metadata") or {}, failure_code=None,
                           failure_message=None, arrival_date=int(time.time()) + 2 * 86400, _account=account_id)  # fmt: skip
        self.payouts_of[account_id].append(payout["id"])
        return _public(payout)

    # ------------------------------------------------------------ lists and expansion

    def _newest(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in reversed(list(self.objects.values())) if o["object"] == kind]

    def _page_of(self, objs: list[dict[str, Any]], p: dict[str, Any], expand: list[str], url: str) -> dict[str, Any]:
        created = p.get("created")
        if isinstance(created, dict):
            for op, test in (("gte", int.__ge__), ("gt", int.__gt__), ("lte", int.__le__), ("lt", int.__lt__)):
                if op in created:
                    bound = _int(created, op)
                    objs = [o for o in objs if test(o["created"], bound)]
        if p.get("starting_after"):
            ids = [o["id"] for o in objs]
            if p["starting_after"] not in ids:
                raise missing("object", p["starting_after"], "starting_after")
            objs = objs[ids.index(p["starting_after"]) + 1 :]
        limit = _int(p, "limit") if "limit" in p else 10
        if not 1 <= limit <= 100:
            raise invalid("This value must be between 1 and 100.", "parameter_invalid_integer", "limit")
        inner = [e.removeprefix("data.") for e in expand if e.startswith("data.")]
        return {"object": "list", "url": url, "has_more": len(objs) > limit,
                "data": [self._view(o, inner) for o in objs[:limit]]}  # fmt: skip

    def _view(self, obj: dict[str, Any], expand: list[str]) -> dict[str, Any]:
        out = _public(obj)
        for path in expand:
            node, parts = out, path.split(".")
            for part in parts:
                value = node.get(part) if isinstance(node, dict) else None
                if isinstance(value, str) and value in self.objects:
                    node[part] = value = _public(self.objects[value])
                node = value
        return out

    # ------------------------------------------------------------ the hosted pages (a person's browser)

    def _page(self, method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "pay":
            with self._lock:
                session = self.objects.get(parts[1])
                if session is None or session["object"] != "checkout.session":
                    return 404, "<h1>Not found</h1>", {}
                if method == "POST":
                    card = dict(parse_qsl(body.decode())).get("card_number", "")
                    self.pay(session["id"], card)
                    return 303, "", {"location": session["success_url"]}
                amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
            return 200, (f"<h1>Pay {amount}</h1><form method=post><label>Card number <input name=card_number>"
                         "</label><button>Pay</button></form>"), {}  # fmt: skip
        if len(parts) == 3 and parts[0] == "onboard":
            return 200, "<h1>Set up payouts</h1>", {}
        return 404, "<h1>Not found</h1>", {}


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """What Stripe shows of an object: without the fake's own bookkeeping (keys starting with `_`)."""
    if isinstance(obj, dict):
        return {k: _public(v) for k, v in obj.items() if not k.startswith("_")}
    if isinstance(obj, list):
        return [_public(v) for v in obj]
    return obj
