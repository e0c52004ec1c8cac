"""Route → sample-object registry for the hostile-input sweep (tests/web/test_hostile_input_sweep.py).

Every route whose path has parameters needs a row here: a factory that makes a real object
through the services (or the test factories built on them) and says whose it is. The sweep
sends its hostile values to that object's URL, so they reach the code that parses them
instead of stopping at a 404. A row may also set up routes without parameters when their
form only works in some state (a company to invite into, an API key to send leads with).

Each row is checked by a positive control: the owner's plain request (GET, or the page's own
form with `form` filled in) must get `status` — 200 for GET and 303 for POST unless the row says
otherwise. A route that can change its object gets a second one for the sweep, so factories make
a fresh object each time they are called.

Adding a route with a path parameter? Add a row below, keyed by its path exactly as the route
table prints it (e.g. "/jobs/{job_id:int}"): a factory returning Sample(owner, params), plus
`form` for the fields a valid submission needs, `status` when success is not 200/303, `pages`
when the route's form lives on another page, `single_use` when one accepted request uses the
object up (a link that works once, a decision that is taken once)."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.mfa import disable as disable_mfa
from app.accounts.mfa import totp
from app.accounts.models import Role, TokenPurpose, User
from app.accounts.services import start_password_reset
from app.accounts.sessions import device_handle
from app.accounts.tokens import issue_one_time_token, make_verification_token, token_of
from app.admin.services import suspend
from app.companies import services as companies
from app.companies.forms import InvitationInput, read_company
from app.companies.models import InvitationKind
from app.contracts.amendments import services as amendments
from app.contracts.amendments.forms import ProposedAdd
from app.contracts.drafting import services as drafting
from app.contracts.models import ContractVersion, Milestone
from app.contracts.templates.forms import TemplateForm
from app.contracts.templates.services import create_company_template
from app.db import utcnow
from app.escrow import funding, lifecycle
from app.files.models import FilePurpose
from app.files.services import store_file
from app.files.storage import storage_for
from app.files.uploads import PDF, PNG, CheckedUpload
from app.invoices.models import Invoice
from app.leads import services as leads
from app.leads.forms import LeadInput
from app.marketplace.models import Visibility
from app.money import Money
from app.payments import sandbox
from app.payments.models import ReconciliationMismatch, ReconciliationRun
from app.payments.provider import Payment, PaymentState
from app.payments.stripe import StripeProvider
from app.platform.signatures import sign as sign_webhook
from app.profiles import services as profiles
from app.profiles.forms import read_profile
from app.profiles.seed import demo_png
from app.worker.models import FailedJob
from tests.conftest import ADMIN_TOTP, web_client
from tests.contracts.helpers import CTX, accepted_proposal, active_contract, sent_contract
from tests.marketplace.helpers import make_job, make_proposal
from tests.support.factories import PASSWORD, make_user

PNG_BYTES = demo_png((10, 20, 30)).data
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
COMPANY = {
    "name": "Acme Robotics",
    "country": "DE",
    "registration_number": "HRB 123456",
    "vat_id": "DE 123 456 789",
    "address": "Robotstraße 1, Berlin",
}
LEAD = {
    "name": "Sam Buyer",
    "email": "sam@example.test",
    "title": "Logo for my bakery",
    "description": "We need a logo for our bakery in Berlin. Budget 900 euro.",
    "budget": "€900",
}
TEMPLATE = TemplateForm(
    title="Website project",
    kind="milestone",
    body="{{ client_name }} hires {{ contractor_name }} to build a website.",
    placeholders="client_name | Client\ncontractor_name | Contractor",
)
GOOGLE_CLIENT = ("pactline-sweep-client", "pactline-sweep-secret")
KYC_API_KEY, KYC_WEBHOOK_SECRET = "fake-kyc-api-key", "fake-kyc-webhook-secret-0123456789"  # test-only values


@dataclass
class Sample:
    """A real object behind a route, and what its owner's valid request looks like."""

    owner: str  # the persona it belongs to: "visitor", "client", "contractor" or "admin"
    params: dict[str, Any] = field(default_factory=dict)  # path parameters by name
    status: dict[str, int] = field(default_factory=dict)  # the owner's success status by method (GET 200, POST 303)
    query: dict[str, str] = field(default_factory=dict)  # a valid request's query string
    form: dict[str, str] = field(default_factory=dict)  # fields a valid submission needs beyond the page's form
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)  # a valid multipart submission's files
    json: Any = None  # a valid JSON body, for JSON routes
    headers: dict[str, str] = field(default_factory=dict)  # what the owner's requests carry (an API key)
    sign: Callable[[bytes], dict[str, str]] | None = None  # headers authenticating a raw body (a webhook signature)
    pages: list[str] = field(default_factory=list)  # where the route's form lives, when not on the route's own page
    # Used up by the first request that gets through (a link, a decision): made again after each
    # one, and its own page is not opened to look for forms (that would use it up too).
    single_use: bool = False

    def success(self, method: str) -> int:
        return self.status.get(method, 200 if method in ("GET", "HEAD") else 303)


class World:
    """What the factories build on: a database session, the signed-in personas, the fakes."""

    def __init__(self, app, db: AsyncSession, users: dict[str, User], clients: dict[str, httpx.AsyncClient], fakes):
        self.app, self.db, self.users, self.clients, self.fakes = app, db, users, clients, fakes
        self._original_settings = app.state.settings

    client = property(lambda self: self.users["client"])
    contractor = property(lambda self: self.users["contractor"])
    admin = property(lambda self: self.users["admin"])

    _counter = itertools.count(1)

    def unique(self, stem: str) -> str:
        return f"{stem}{next(self._counter)}"

    def configure(self, **changes: Any) -> None:
        """Settings for this route only (an adapter the test app does not use by default)."""
        self.app.state.settings = dataclasses.replace(self.app.state.settings, **changes)

    async def new_visitor(self) -> None:
        """A browser nobody has signed in with."""
        await self.clients["visitor"].aclose()
        self.clients["visitor"] = web_client(self.app)

    def restore(self) -> None:
        self.app.state.settings = self._original_settings

    @property
    def storage(self):
        return storage_for(self.app.state.settings)

    # ------------------------------------------------------------ people and companies

    async def fresh_user(self, role: Role = Role.client, **kwargs) -> User:
        return await make_user(self.db, role=role, email=f"{self.unique(role.value)}@sweep.example.test", **kwargs)

    async def company(self, owner: User | None = None):
        """The owner's company (the client's by default), made on first use."""
        owner = owner or self.client
        membership = await companies.membership_of(self.db, owner)
        if membership is None:
            await companies.create_company(
                self.db, owner, read_company({**COMPANY, "name": self.unique("Acme Robotics ")})
            )
            await self.db.commit()
            membership = await companies.membership_of(self.db, owner)
        return membership

    # ------------------------------------------------------------ marketplace

    async def open_job(self):
        return await make_job(self.db, self.client, title=self.unique("Logo for bakery "))

    async def proposal(self):
        return await make_proposal(self.db, await self.open_job(), self.contractor)

    # ------------------------------------------------------------ contracts

    async def draft_contract(self):
        proposal = await accepted_proposal(self.db, self.client, self.contractor)
        contract = await drafting.draft_from_proposal(self.db, proposal.id, self.client)
        await self.db.commit()
        return contract

    async def sent_contract(self):
        contract, _ = await sent_contract(self.db, self.client, self.contractor)
        return contract

    async def active_contract(self):
        contract, _ = await active_contract(self.db, self.client, self.contractor)
        return contract

    async def open_amendment(self):
        """An active contract with a milestone added by the contractor, who signed it; the client has not."""
        contract = await self.active_contract()
        change = ProposedAdd("Launch support", "Two weeks of fixes.", "500.00", "2030-04-01")
        amendment = await amendments.propose(self.db, contract.id, self.contractor, [change], "Scope grew.")
        await self.db.commit()
        version = await self.db.get(ContractVersion, amendment.version_id)
        await amendments.sign_amendment(self.db, amendment.id, self.contractor, version_hash=version.terms_hash,
                                        typed_name=self.contractor.name, consent=True, context=CTX)  # fmt: skip
        await self.db.commit()
        return contract, amendment

    # ------------------------------------------------------------ escrow

    async def milestone(self, *, funded: bool = False, submitted: bool = False):
        """An active contract's first milestone ("Design", €1,000.00), paid in the way the provider's
        webhook does it and, if asked, with the contractor's work submitted (a file attached)."""
        contract = await self.active_contract()
        m = (await self.db.scalars(select(Milestone).where(Milestone.contract_id == contract.id)
                                   .order_by(Milestone.position))).first()  # fmt: skip
        if funded or submitted:
            f = await funding.open_funding(self.db, contract.id, self.client, [m.id], provider="sandbox")
            await self.db.commit()
            await funding.apply_payment(self.db, Payment(f"pay_{f.public_id}", f.public_id,
                                                         Money(f.amount_minor, f.currency), PaymentState.succeeded))  # fmt: skip
            await self.db.commit()
        file = None
        if submitted:
            upload = CheckedUpload(PDF_BYTES, PDF, hashlib.sha256(PDF_BYTES).hexdigest(), "mockups.pdf")
            file = await store_file(self.db, self.storage, self.contractor, FilePurpose.milestone_delivery, upload)
            await lifecycle.submit(self.db, m.id, self.contractor, "Mock-ups for all five pages.", [file])
            await self.db.commit()
        return contract, m, file

    # ------------------------------------------------------------ profiles, files, identity checks

    async def portfolio_item(self, *, image: bool = False):
        upload = CheckedUpload(PNG_BYTES, PNG, hashlib.sha256(PNG_BYTES).hexdigest(), "work.png") if image else None
        return await profiles.add_portfolio_item(self.db, self.storage, self.contractor, title=self.unique("Shop sign "),
                                                 url=None, image=upload)  # fmt: skip

    async def kyc_check(self):
        """A pending identity check of a contractor of its own (a person has one pending check at a time)."""
        person = await self.fresh_user(Role.contractor)
        document = CheckedUpload(PDF_BYTES, PDF, hashlib.sha256(PDF_BYTES).hexdigest(), "passport.pdf")
        selfie = CheckedUpload(PNG_BYTES, PNG, hashlib.sha256(PNG_BYTES).hexdigest(), "me.png")
        return await profiles.submit_documents(self.db, self.storage, person, document, selfie)

    # ------------------------------------------------------------ sign-in with Google (the fake provider)

    def use_google(self) -> None:
        fake = self.fakes["oidc"]
        fake.register_client(*GOOGLE_CLIENT)
        self.configure(google_client_id=GOOGLE_CLIENT[0], google_client_secret=GOOGLE_CLIENT[1],
                       google_discovery_url=fake.discovery_url)  # fmt: skip

    async def google_callback(self, *, email: str) -> str:
        """A new visitor starts signing in with Google and the provider answers: the callback URL."""
        self.use_google()
        await self.new_visitor()
        fake = self.fakes["oidc"]
        fake.next_login(self.unique("google-sub-"), email, email_verified=True, name="Ada Lovelace")
        start = await self.clients["visitor"].get("/auth/google/start")
        assert start.status_code == 303, f"Google sign-in did not start: {start.status_code}"
        async with httpx.AsyncClient() as at_provider:
            answer = await at_provider.get(start.headers["location"])
        back = urlsplit(answer.headers["location"])
        return f"{back.path}?{back.query}"

    async def sandbox_checkout(self):
        """A checkout of the sandbox payment provider for the client (what funding a milestone makes)."""
        provider = sandbox.SandboxProvider(self.app.state.sessionmaker)
        return await provider.create_checkout(reference=self.unique("fund_sweep_"), amount=Money(120_000, "EUR"),
                                              description="Escrow for Shop website: “Design”",
                                              payer_user_id=self.client.id, return_url="/dashboard")  # fmt: skip

    def use_stripe(self) -> None:
        """PAYMENTS_PROVIDER=stripe against the local fake of Stripe's API."""
        fake = self.fakes["stripe"]
        self.configure(payments_provider="stripe", stripe_secret_key=fake.api_key,
                       stripe_webhook_secret=fake.webhook_secret, stripe_api_base=fake.url)  # fmt: skip

    def use_hosted_kyc(self) -> None:
        self.configure(kyc_provider="hosted", kyc_provider_url=self.fakes["kyc"].url,
                       kyc_provider_api_key=KYC_API_KEY, kyc_webhook_secret=KYC_WEBHOOK_SECRET)  # fmt: skip


Factory = Callable[[World], Awaitable[Sample]]
SAMPLES: dict[str, Factory] = {}


def sample(*paths: str):
    """Register a factory for one or more route paths."""

    def register(factory: Factory) -> Factory:
        for path in paths:
            assert path not in SAMPLES, f"two samples for {path}"
            SAMPLES[path] = factory
        return factory

    return register


# ---------------------------------------------------------------- accounts


@sample("/login")
async def sign_in_form(w: World) -> Sample:
    return Sample("visitor", form={"email": w.client.email, "password": PASSWORD})


@sample("/signup")
async def sign_up_form(w: World) -> Sample:
    email = f"{w.unique('newcomer')}@sweep.example.test"
    form = {"name": "New Person", "email": email, "password": "a long and unusual passphrase 7", "role": "client"}
    return Sample("visitor", form=form)


@sample("/signup/password-strength")
async def password_hint(w: World) -> Sample:
    return Sample("visitor", form={"password": "a long and unusual passphrase 7"}, status={"POST": 200},
                  pages=["/signup"])  # fmt: skip


@sample("/login/mfa")
async def second_step(w: World) -> Sample:
    # The next 30-second step's code (accepted: one step of clock skew either side). The sweep's
    # own step-up confirmations spend the current step's code, and may do so between building
    # this sample and sending it; a code is accepted only for a step later than the last spent.
    return Sample("admin", form={"code": totp(ADMIN_TOTP).at(time.time() + 30)})


@sample("/logout")
async def sign_out(w: World) -> Sample:
    return Sample("client", pages=["/dashboard"])


@sample("/verify-email/{token:str}")
async def email_link(w: World) -> Sample:
    token = make_verification_token(w.app.state.settings.secret_key, w.client.id, w.client.email)
    return Sample("visitor", params={"token": token}, single_use=True)


@sample("/verify-email/resend")
async def resend_link(w: World) -> Sample:
    return Sample("client", pages=["/dashboard"])


@sample("/reset")
async def reset_request(w: World) -> Sample:
    return Sample("visitor", form={"email": w.client.email}, status={"POST": 200})


@sample("/reset/{token:str}")
async def reset_link(w: World) -> Sample:
    person = await w.fresh_user()
    key = w.app.state.settings.secret_key
    _, row = await start_password_reset(w.db, key, person.email)
    await w.db.commit()
    token = token_of(key, row)
    return Sample("visitor", params={"token": token}, form={"password": "a long and unusual passphrase 7"},
                  single_use=True)  # fmt: skip


@sample("/settings/profile")
async def settings_name(w: World) -> Sample:
    return Sample("client", form={"name": "Test Client"}, pages=["/settings"])


@sample("/settings/email")
async def settings_email(w: World) -> Sample:
    return Sample("client", form={"email": f"{w.unique('moved')}@sweep.example.test"}, pages=["/settings"])


@sample("/settings/email/confirm/{token:str}")
async def email_change_link(w: World) -> Sample:
    new_email = f"{w.unique('moved')}@sweep.example.test"
    key = w.app.state.settings.secret_key
    row = await issue_one_time_token(w.db, key, w.client.id, TokenPurpose.email_change, timedelta(hours=24),
                                     {"email": new_email})  # fmt: skip
    token = token_of(key, row)
    await w.db.commit()
    return Sample("client", params={"token": token}, status={"GET": 303}, single_use=True)


@sample("/settings/password")
async def settings_password(w: World) -> Sample:
    form = {"current_password": PASSWORD, "new_password": PASSWORD}
    return Sample("client", form=form, pages=["/settings"])


@sample("/settings/sessions/revoke")
async def other_device(w: World) -> Sample:
    """The client signed in on a second browser: the handle the devices list shows for it."""
    async with web_client(w.app) as other:
        await other.sign_in(w.client.email)
        sid = other.cookies["pactline_session"]
    handle = device_handle(w.app.state.settings.secret_key, sid)
    return Sample("client", form={"device": handle}, pages=["/settings"], single_use=True)


@sample("/settings/mfa")
async def mfa_setup(w: World) -> Sample:
    """The contractor opens the set-up page (which keeps the new secret in the session) and types its code."""
    await w.db.refresh(w.contractor)
    if w.contractor.mfa_enabled_at is not None:  # the positive control turned it on
        await disable_mfa(w.db, w.contractor)
        await w.db.commit()
    page = await w.clients["contractor"].get("/settings/mfa")
    secret = re.search(r"\b([A-Z2-7]{32})\b", page.text)
    assert secret, "no secret on the two-step set-up page"
    return Sample("contractor", form={"code": totp(secret.group(1)).now()}, status={"POST": 200})


@sample("/settings/mfa/recovery-codes")
async def recovery_codes(w: World) -> Sample:
    return Sample("admin", status={"POST": 200}, pages=["/settings"])


@sample("/settings/mfa/disable")
async def mfa_off(w: World) -> Sample:
    return Sample("client", pages=["/settings"])


@sample("/settings/confirm")
async def step_up(w: World) -> Sample:
    return Sample("client", form={"password": PASSWORD})


@sample("/auth/{provider:str}/start")
async def google_start(w: World) -> Sample:
    w.use_google()
    return Sample("visitor", params={"provider": "google"}, status={"GET": 303})


@sample("/auth/{provider:str}/callback")
async def google_callback(w: World) -> Sample:
    back = await w.google_callback(email=f"{w.unique('google')}@sweep.example.test")
    return Sample("visitor", params={"provider": "google"}, query=dict(parse_qsl(urlsplit(back).query)),
                  status={"GET": 303}, single_use=True)  # fmt: skip


@sample("/auth/signup/complete")
async def google_new_account(w: World) -> Sample:
    back = await w.google_callback(email=f"{w.unique('google')}@sweep.example.test")
    answer = await w.clients["visitor"].get(back)
    assert answer.headers.get("location") == "/auth/signup/complete", answer.text[:300]
    return Sample("visitor", form={"name": "Ada Lovelace", "role": "client"}, single_use=True)


@sample("/auth/link/confirm")
async def google_link(w: World) -> Sample:
    person = await w.fresh_user()
    back = await w.google_callback(email=person.email)
    answer = await w.clients["visitor"].get(back)
    assert answer.headers.get("location") == "/auth/link/confirm", answer.text[:300]
    return Sample("visitor")


# ---------------------------------------------------------------- admin console


@sample("/admin/users/{user_id:int}/suspend")
async def someone_active(w: World) -> Sample:
    person = await w.fresh_user()
    return Sample("admin", params={"user_id": person.id}, form={"reason": "Spam."}, pages=["/admin/users"],
                  single_use=True)  # fmt: skip


@sample("/admin/users/{user_id:int}/reactivate")
async def someone_suspended(w: World) -> Sample:
    person = await w.fresh_user()
    await suspend(w.db, w.admin, person.id, "Spam.")
    await w.db.commit()
    return Sample("admin", params={"user_id": person.id}, pages=["/admin/users"])


@sample("/admin/admins")
async def new_admin(w: World) -> Sample:
    form = {"email": f"{w.unique('admin')}@sweep.example.test", "name": "Second Admin"}
    return Sample("admin", form=form, pages=["/admin/users"])


@sample("/admin/jobs/{job_id:int}/retry")
async def failed_job(w: World) -> Sample:
    job = FailedJob(job_key=w.unique("sweep-job-"), function="send_email", error="SMTP down", attempts=6,
                    kwargs={"to": "a@example.test", "subject": "s", "template": "test_message", "context": {"name": "A"}})  # fmt: skip
    w.db.add(job)
    await w.db.commit()
    return Sample("admin", params={"job_id": job.id}, pages=["/admin/jobs"])


@sample("/admin/reconciliation/{run_id:int}/acknowledge")
async def reconciliation_mismatch(w: World) -> Sample:
    run = ReconciliationRun(provider="sandbox", day=date.today() - timedelta(days=1), status="mismatched",
                            checked={"payments": 1}, finished_at=utcnow())  # fmt: skip
    w.db.add(run)
    await w.db.flush()
    w.db.add(ReconciliationMismatch(run_id=run.id, kind="refund", reference="refund:milestone:1",
                                    ledger="€10.00 refunded through the provider.", provider_says="No refund with this key."))  # fmt: skip
    await w.db.commit()
    return Sample("admin", params={"run_id": run.id}, pages=["/admin/reconciliation"])


@sample("/admin/reconciliation/run")
async def reconciliation_day(w: World) -> Sample:
    return Sample(
        "admin", form={"day": (date.today() - timedelta(days=1)).isoformat()}, pages=["/admin/reconciliation"]
    )


@sample("/admin/audit/verify")
async def audit_check(w: World) -> Sample:
    return Sample("admin", pages=["/admin/audit"])


@sample("/admin/companies/{company_id:int}/decide")
async def company_waiting(w: World) -> Sample:
    membership = await w.company(await w.fresh_user())
    await companies.request_verification(w.db, membership)
    await w.db.commit()
    return Sample("admin", params={"company_id": membership.company.id}, form={"decision": "verify"},
                  pages=["/admin/companies"], single_use=True)  # fmt: skip


@sample("/admin/templates/{key:str}/edit", "/admin/templates/{key:str}/reset")
async def platform_template(w: World) -> Sample:
    return Sample("admin", params={"key": "fixed-price-project"},
                  pages=["/admin/templates", "/admin/templates/fixed-price-project/edit"])  # fmt: skip


@sample("/admin/leads/{lead_id:int}/replay", "/admin/leads/{lead_id:int}/discard")
async def dead_letter(w: World) -> Sample:
    lead = await leads.receive(w.db, LeadInput(**{**LEAD, "email": f"{w.unique('buyer')}@example.test"}), source="form")
    await w.db.commit()
    await leads.mark_failed(w.db, lead.id, "category service unavailable", attempts=3)
    await w.db.commit()
    return Sample("admin", params={"lead_id": lead.id}, pages=["/admin/leads"])


@sample("/admin/kyc/{check_id:int}/approve")
async def identity_to_approve(w: World) -> Sample:
    check = await w.kyc_check()
    return Sample("admin", params={"check_id": check.id}, pages=["/admin/kyc"])


@sample("/admin/kyc/{check_id:int}/reject")
async def identity_to_reject(w: World) -> Sample:
    check = await w.kyc_check()
    return Sample("admin", params={"check_id": check.id}, form={"reason": "The photo is blurred."},
                  pages=["/admin/kyc"], single_use=True)  # fmt: skip


# ---------------------------------------------------------------- companies, invitations, templates, intake


@sample("/company")
async def company_to_create(w: World) -> Sample:
    return Sample("client", form=dict(COMPANY))


@sample("/company/details")
async def company_details(w: World) -> Sample:
    await w.company()
    return Sample("client", form=dict(COMPANY), pages=["/company"])


@sample("/company/verification")
async def company_document(w: World) -> Sample:
    await w.company(await w.fresh_user())  # someone else's, so the client's own is still unverified
    await w.company()
    return Sample("client", files={"document": ("register.pdf", PDF_BYTES, "application/pdf")}, pages=["/company"])


@sample("/company/invitations")
async def company_invite(w: World) -> Sample:
    await w.company()
    form = {"email": f"{w.unique('friend')}@sweep.example.test", "kind": "contractor", "message": "Join us."}
    return Sample("client", form=form, pages=["/company"])


async def invite(w: World, membership, inviter: User, kind: InvitationKind, email: str) -> tuple[Any, str]:
    """An invitation and the token its e-mail would carry."""
    key = w.app.state.settings.secret_key
    invitation = await companies.invite(w.db, membership, inviter, InvitationInput(kind, email, ""), secret_key=key)
    return invitation, companies.invitation_token(key, invitation)


@sample("/company/invitations/{invitation_id:int}", "/company/invitations/{invitation_id:int}/revoke")
async def company_invitation(w: World) -> Sample:
    membership = await w.company()
    invitation, _ = await invite(
        w, membership, w.client, InvitationKind.contractor, f"{w.unique('friend')}@sweep.example.test"
    )
    await w.db.commit()
    return Sample("client", params={"invitation_id": invitation.id}, pages=["/company"])


@sample("/company/leave")
async def company_to_leave(w: World) -> Sample:
    """The client is a member (not the owner) of someone else's company."""
    owner = await w.fresh_user()
    membership = await w.company(owner)
    _, token = await invite(w, membership, owner, InvitationKind.member, w.client.email)
    await companies.accept(w.db, token, w.client)
    await w.db.commit()
    return Sample("client", pages=["/company"])


@sample("/invitations/{token:str}", "/invitations/{token:str}/ask-again")
async def invitation_link(w: World) -> Sample:
    membership = await w.company()
    _, token = await invite(
        w, membership, w.client, InvitationKind.contractor, f"{w.unique('friend')}@sweep.example.test"
    )
    await w.db.commit()
    return Sample("visitor", params={"token": token})


@sample("/invitations/{token:str}/accept")
async def invitation_for_contractor(w: World) -> Sample:
    membership = await w.company()
    _, token = await invite(w, membership, w.client, InvitationKind.contractor, w.contractor.email)
    await w.db.commit()
    return Sample("contractor", params={"token": token}, pages=[f"/invitations/{token}"])


@sample("/invited/{invitation_id:int}")
async def invitation_notified(w: World) -> Sample:
    """An invitation to the contractor's own address: its notification links here (303 to the page)."""
    membership = await w.company()
    invitation, _ = await invite(w, membership, w.client, InvitationKind.contractor, w.contractor.email)
    await w.db.commit()
    return Sample("contractor", params={"invitation_id": invitation.id}, status={"GET": 303})


@sample("/company/templates", "/company/templates/new")
async def company_templates(w: World) -> Sample:
    await w.company()
    form = {"title": w.unique("Website project "), "kind": TEMPLATE.kind, "body": TEMPLATE.body,
            "placeholders": TEMPLATE.placeholders}  # fmt: skip
    return Sample("client", form=form)


@sample("/company/templates/{template_id:int}/edit", "/company/templates/{template_id:int}/delete")
async def company_template(w: World) -> Sample:
    membership = await w.company()
    template = dataclasses.replace(TEMPLATE, title=w.unique("Website project "))
    row = await create_company_template(w.db, w.client, membership.company.id, template)
    await w.db.commit()
    return Sample("client", params={"template_id": row.id}, pages=[f"/company/templates/{row.id}/edit"])


@sample("/company/intake", "/company/intake/keys")
async def intake(w: World) -> Sample:
    await w.company()
    return Sample("client", form={"key_name": "Website form"}, status={"POST": 200})


@sample("/company/intake/keys/{key_id:int}/revoke")
async def intake_key(w: World) -> Sample:
    key, _ = await leads.create_api_key(w.db, await w.company(), w.client, w.unique("Website form "))
    await w.db.commit()
    return Sample("client", params={"key_id": key.id})


@sample("/api/leads")
async def lead_api(w: World) -> Sample:
    _, raw = await leads.create_api_key(w.db, await w.company(), w.client, w.unique("Website form "))
    await w.db.commit()
    return Sample("visitor", json=dict(LEAD), headers={"Authorization": f"Bearer {raw}"}, status={"POST": 202})


@sample("/api/leads/{lead_id:int}")
async def lead_status(w: World) -> Sample:
    key, raw = await leads.create_api_key(w.db, await w.company(), w.client, w.unique("Website form "))
    lead = await leads.receive(w.db, LeadInput(**LEAD), source="api", company_id=key.company_id, api_key_id=key.id)
    await w.db.commit()
    return Sample("visitor", params={"lead_id": lead.id}, headers={"Authorization": f"Bearer {raw}"})


@sample("/quote")
async def quote(w: World) -> Sample:
    return Sample("visitor", form={k: v for k, v in LEAD.items()}, status={"POST": 200})


@sample("/quote/confirm/{token:str}")
async def quote_confirmation_link(w: World) -> Sample:
    lead = await leads.receive_from_form(w.db, LeadInput(**LEAD), w.app.state.settings.secret_key)
    await w.db.commit()
    token = leads.confirmation_token(w.app.state.settings.secret_key, lead.id, lead.confirm_nonce)
    return Sample("visitor", params={"token": token}, status={"POST": 200}, single_use=True)


# ---------------------------------------------------------------- marketplace


@sample("/jobs/new")
async def job_to_post(w: World) -> Sample:
    deadline = (date.today() + timedelta(days=30)).isoformat()
    form = {"title": "Logo for a bakery", "description": "A logo, two colour palettes and a guide for the sign.",
            "skills": "logo design", "budget": "1200", "deadline": deadline}  # fmt: skip
    return Sample("client", form=form)


@sample(
    "/jobs/{job_id:int}",
    "/jobs/{job_id:int}/edit",
    "/jobs/{job_id:int}/close",
    "/jobs/{job_id:int}/proposals",
    "/jobs/{job_id:int}/proposals/new",
)
async def open_job(w: World) -> Sample:
    job = await w.open_job()
    return Sample("client", params={"job_id": job.id}, pages=[f"/jobs/{job.id}"])


@sample("/jobs/{job_id:int}/publish")
async def draft_job(w: World) -> Sample:
    job = await make_job(w.db, w.client, title=w.unique("Logo for bakery "), publish=False)
    return Sample("client", params={"job_id": job.id})


@sample("/jobs/{job_id:int}/apply")
async def job_to_apply_for(w: World) -> Sample:
    job = await make_job(w.db, w.client, title=w.unique("Logo for bakery "), visibility=Visibility.public)
    form = {"cover_letter": "I have designed identities for three cafés; here is how I would work.",
            "amount": "1100", "milestone_title_1": "Sketches", "milestone_amount_1": "1100"}  # fmt: skip
    return Sample("contractor", params={"job_id": job.id}, form=form)


@sample("/jobs/{job_id:int}/apply/total")
async def proposal_being_typed(w: World) -> Sample:
    job = await make_job(w.db, w.client, title=w.unique("Logo for bakery "), visibility=Visibility.public)
    return Sample("contractor", params={"job_id": job.id}, form={"milestone_amount_1": "400"}, status={"POST": 200},
                  pages=[f"/jobs/{job.id}/apply"])  # fmt: skip


@sample("/proposals/{proposal_id:int}", "/proposals/{proposal_id:int}/status", "/proposals/{proposal_id:int}/withdraw")
async def own_proposal(w: World) -> Sample:
    proposal = await w.proposal()
    return Sample("contractor", params={"proposal_id": proposal.id})


@sample("/proposals/{proposal_id:int}/shortlist", "/proposals/{proposal_id:int}/accept")
async def proposal_to_decide(w: World) -> Sample:
    proposal = await w.proposal()
    return Sample("client", params={"proposal_id": proposal.id},
                  pages=[f"/jobs/{proposal.job_id}/proposals", f"/proposals/{proposal.id}"])  # fmt: skip


@sample("/proposals/{proposal_id:int}/decline")
async def proposal_to_decline(w: World) -> Sample:
    proposal = await w.proposal()
    return Sample("client", params={"proposal_id": proposal.id}, form={"note": "We chose someone nearer."},
                  pages=[f"/jobs/{proposal.job_id}/proposals"], single_use=True)  # fmt: skip


# ---------------------------------------------------------------- contracts


@sample("/contracts", "/contracts/new")
async def contract_to_draft(w: World) -> Sample:
    await accepted_proposal(w.db, w.client, w.contractor)  # the contractor is someone the client knows
    return Sample("client", form={"contractor_id": str(w.contractor.id), "title": "Shop website"},
                  pages=["/contracts/new"])  # fmt: skip


@sample(
    "/contracts/{contract_id:int}",
    "/contracts/{contract_id:int}/pdf",
    "/contracts/{contract_id:int}/document",
    "/contracts/{contract_id:int}/amendments",
    "/contracts/{contract_id:int}/proof",
    "/contracts/{contract_id:int}/versions",
    "/contracts/{contract_id:int}/compare",
)
async def signed_contract(w: World) -> Sample:
    contract = await w.active_contract()
    return Sample("client", params={"contract_id": contract.id})


@sample("/contracts/{contract_id:int}/versions/{number:int}")
async def contract_version(w: World) -> Sample:
    contract = await w.active_contract()
    return Sample("client", params={"contract_id": contract.id, "number": 1})


@sample(
    "/contracts/{contract_id:int}/edit",
    "/contracts/{contract_id:int}/review",
    "/contracts/{contract_id:int}/send",
    "/contracts/{contract_id:int}/cancel",
)
async def contract_draft(w: World) -> Sample:
    contract = await w.draft_contract()
    return Sample("client", params={"contract_id": contract.id}, pages=[f"/contracts/{contract.id}/edit"])


@sample("/contracts/{contract_id:int}/autosave")
async def contract_being_typed(w: World) -> Sample:
    contract = await w.draft_contract()
    return Sample("client", params={"contract_id": contract.id}, status={"POST": 200},
                  pages=[f"/contracts/{contract.id}/edit"])  # fmt: skip


@sample("/contracts/{contract_id:int}/changes", "/contracts/{contract_id:int}/sign")
async def contract_to_sign(w: World) -> Sample:
    contract = await w.sent_contract()
    form = {"typed_name": w.contractor.name, "consent": "on", "message": "Please move the second milestone."}
    return Sample("contractor", params={"contract_id": contract.id}, form=form)


@sample("/contracts/{contract_id:int}/amendments/new")
async def contract_to_amend(w: World) -> Sample:
    contract = await w.active_contract()
    form = {"add_title": "Launch support", "add_criteria": "Two weeks of fixes.", "add_amount": "500",
            "add_due": "2030-04-01", "reason": "Scope grew."}  # fmt: skip
    return Sample("contractor", params={"contract_id": contract.id}, form=form)


@sample(
    "/contracts/{contract_id:int}/amendments/{amendment_id:int}",
    "/contracts/{contract_id:int}/amendments/{amendment_id:int}/sign",
    "/contracts/{contract_id:int}/amendments/{amendment_id:int}/decline",
)
async def amendment_for_client(w: World) -> Sample:
    contract, amendment = await w.open_amendment()
    return Sample("client", params={"contract_id": contract.id, "amendment_id": amendment.id},
                  form={"typed_name": w.client.name, "consent": "on"},
                  pages=[f"/contracts/{contract.id}/amendments/{amendment.id}"])  # fmt: skip


@sample("/contracts/{contract_id:int}/amendments/{amendment_id:int}/withdraw")
async def amendment_of_contractor(w: World) -> Sample:
    contract, amendment = await w.open_amendment()
    return Sample("contractor", params={"contract_id": contract.id, "amendment_id": amendment.id},
                  pages=[f"/contracts/{contract.id}/amendments/{amendment.id}"])  # fmt: skip


@sample("/contracts/{contract_id:int}/milestones/fund")
async def milestone_to_fund(w: World) -> Sample:
    contract, _, _ = await w.milestone()
    return Sample("client", params={"contract_id": contract.id}, pages=[f"/contracts/{contract.id}"])


@sample("/contracts/{contract_id:int}/milestones/payments/{funding_id:str}/cancel")
async def payment_in_progress(w: World) -> Sample:
    contract, m, _ = await w.milestone()
    f = await funding.open_funding(w.db, contract.id, w.client, [m.id], provider="sandbox")
    await w.db.commit()
    return Sample("client", params={"contract_id": contract.id, "funding_id": f.public_id},
                  pages=[f"/contracts/{contract.id}"], single_use=True)  # fmt: skip


@sample("/contracts/{contract_id:int}/milestones/{milestone_id:int}/submit")
async def funded_milestone(w: World) -> Sample:
    contract, m, _ = await w.milestone(funded=True)
    return Sample("contractor", params={"contract_id": contract.id, "milestone_id": m.id},
                  form={"message": "Mock-ups for all five pages."},
                  files={"files": ("mockups.pdf", PDF_BYTES, "application/pdf")},
                  pages=[f"/contracts/{contract.id}"])  # fmt: skip


@sample(
    "/contracts/{contract_id:int}/milestones/{milestone_id:int}/approve",
    "/contracts/{contract_id:int}/milestones/{milestone_id:int}/revision",
)
async def submitted_milestone(w: World) -> Sample:
    contract, m, _ = await w.milestone(submitted=True)
    return Sample("client", params={"contract_id": contract.id, "milestone_id": m.id},
                  form={"reason": "The booking page needs the opening hours."},
                  pages=[f"/contracts/{contract.id}"])  # fmt: skip


@sample("/contracts/{contract_id:int}/milestones/{milestone_id:int}/files/{file_id:int}")
async def delivered_file(w: World) -> Sample:
    contract, m, file = await w.milestone(submitted=True)
    return Sample("client", params={"contract_id": contract.id, "milestone_id": m.id, "file_id": file.id})


@sample("/invoices/{public_id:str}")
async def receipt_of_a_payment(w: World) -> Sample:
    contract, _, _ = await w.milestone(funded=True)  # paying it issued Pactline's receipt to the client
    receipt = await w.db.scalar(select(Invoice).where(Invoice.contract_id == contract.id, Invoice.kind == "receipt"))
    return Sample("client", params={"public_id": receipt.public_id})


@sample("/verify/{public_id:str}", "/verify/{public_id:str}/check")
async def public_contract(w: World) -> Sample:
    contract = await w.active_contract()
    return Sample("visitor", params={"public_id": contract.public_id}, status={"POST": 200},
                  files={"document": ("contract.pdf", PDF_BYTES, "application/pdf")},
                  pages=[f"/verify/{contract.public_id}"])  # fmt: skip


# ---------------------------------------------------------------- conversations: files


@sample(
    "/messages/{conversation_id:str}/files/{attachment_id:str}",
    "/messages/{conversation_id:str}/files/{attachment_id:str}/thumb",
)
async def message_picture(w: World) -> Sample:
    """A picture the client sent in the conversation of an active contract (it has a thumbnail)."""
    from app.conversations import services as conversations

    contract = await w.active_contract()
    conversation = await conversations.conversation_for_contract(w.db, contract)
    picture = CheckedUpload(PNG_BYTES, PNG, hashlib.sha256(PNG_BYTES).hexdigest(), "sketch.png")
    sent = await conversations.send(w.db, conversation, w.client, "The sketch", client_key=w.unique("sweep-"),
                                    files=[picture], storage=w.storage)  # fmt: skip
    await w.db.commit()
    await w.db.refresh(sent.message, attribute_names=["attachments"])
    [attachment] = sent.message.attachments
    return Sample("client", params={"conversation_id": conversation.public_id, "attachment_id": attachment.public_id})


# ---------------------------------------------------------------- profiles, files, identity


@sample("/profile")
async def profile(w: World) -> Sample:
    return Sample("contractor", form={"headline": "Brand designer for small shops", "skills": "logo design"})


@sample("/profile/portfolio")
async def portfolio_upload(w: World) -> Sample:
    return Sample("contractor", form={"title": "Bakery sign", "url": "https://example.com/sign"},
                  files={"image": ("sign.png", PNG_BYTES, "image/png")}, pages=["/profile"])  # fmt: skip


@sample("/profile/portfolio/{item_id:int}/delete")
async def portfolio_item(w: World) -> Sample:
    item = await w.portfolio_item()
    return Sample("contractor", params={"item_id": item.id}, pages=["/profile"])


@sample("/profile/verification")
async def identity_documents(w: World) -> Sample:
    files = {
        "id_document": ("passport.pdf", PDF_BYTES, "application/pdf"),
        "selfie": ("me.png", PNG_BYTES, "image/png"),
    }
    return Sample("contractor", files=files)


@sample("/profile/verification/start")
async def hosted_identity(w: World) -> Sample:
    w.use_hosted_kyc()
    return Sample("contractor", pages=["/profile/verification"])


@sample("/webhooks/kyc")
async def identity_webhook(w: World) -> Sample:
    w.use_hosted_kyc()
    event = {"id": w.unique("evt_sweep_"), "type": "session.decided", "session_id": "ses_unknown"}
    return Sample("visitor", json=event, status={"POST": 200},
                  sign=lambda body: {"X-KYC-Signature": sign_webhook(KYC_WEBHOOK_SECRET, body)})  # fmt: skip


@sample("/checkout/{payment_id:str}", "/checkout/{payment_id:str}/pay")
async def sandbox_checkout(w: World) -> Sample:
    """A checkout of the sandbox provider, waiting for the client's card (paying uses it up)."""
    checkout = await w.sandbox_checkout()
    return Sample("client", params={"payment_id": checkout.payment_id}, form={"card_number": "4242 4242 4242 4242"},
                  single_use=True)  # fmt: skip


@sample("/checkout/{payment_id:str}/confirm")
async def sandbox_second_step(w: World) -> Sample:
    """A checkout paid with the card that asks for a second step: its page shows "Confirm"."""
    checkout = await w.sandbox_checkout()
    payment = await sandbox.checkout_for(w.db, checkout.payment_id, w.client.id)
    await sandbox.pay(w.db, payment, sandbox.ASKS_TO_CONFIRM)
    await w.db.commit()
    return Sample("client", params={"payment_id": checkout.payment_id}, single_use=True)


@sample("/webhooks/sandbox")
async def sandbox_webhook(w: World) -> Sample:
    """The sandbox's event about a payment it knows (one that pays no funding: recorded, ignored)."""
    checkout = await w.sandbox_checkout()
    event = {"id": w.unique("sbevt_sweep_"), "type": "payment.succeeded", "created": 1_700_000_000,
             "data": {"object": {"id": checkout.payment_id}}}  # fmt: skip
    secret = sandbox.webhook_secret(w.app.state.settings)
    return Sample("visitor", json=event, status={"POST": 200},
                  sign=lambda body: {"Stripe-Signature": sign_webhook(secret, body)})  # fmt: skip


@sample("/webhooks/stripe")
async def stripe_webhook(w: World) -> Sample:
    """Stripe's event about a checkout session it knows and that was paid (one that funds nothing
    of ours: re-read, recorded, ignored), signed with the endpoint's secret."""
    w.use_stripe()
    fake = w.fakes["stripe"]
    checkout = await StripeProvider(w.app.state.settings).create_checkout(
        reference=w.unique("fund_sweep_"), amount=Money(120_000, "EUR"), description="Escrow for Shop website",
        payer_user_id=w.client.id, return_url="/dashboard")  # fmt: skip
    _, completed = fake.pay(checkout.payment_id)
    event = {**completed, "id": w.unique("evt_sweep_")}
    return Sample("visitor", json=event, status={"POST": 200},
                  sign=lambda body: {"Stripe-Signature": sign_webhook(fake.webhook_secret, body)})  # fmt: skip


# ---------------------------------------------------------------- payouts (/earnings) and the sandbox bank


async def _earning_contractor(w: World):
    """The contractor, identity verified, with a sandbox bank account and €900.00 more earned."""
    from tests.payouts.helpers import bank_account, earn, verify_identity

    await earn(w.db, w.contractor)
    await verify_identity(w.db, w.contractor)
    return await bank_account(w.app, w.contractor)


@sample("/earnings", "/earnings/withdraw", "/earnings/method", "/earnings/automatic")
async def earnings(w: World) -> Sample:
    """/earnings with money to withdraw (its Withdraw form is prefilled with all of it)."""
    await _earning_contractor(w)
    return Sample("contractor", pages=["/earnings"])


@sample("/earnings/method/return")
async def back_from_the_bank(w: World) -> Sample:
    await _earning_contractor(w)
    return Sample("contractor", status={"GET": 303})


@sample("/contracts/{contract_id:int}/statement", "/contracts/{contract_id:int}/statement.csv")
async def statement(w: World) -> Sample:
    """A contract's statement with a funded milestone on it."""
    contract, _, _ = await w.milestone(funded=True)
    return Sample("client", params={"contract_id": contract.id})


@sample("/payments")
async def payments(w: World) -> Sample:
    """/payments with money held in escrow for the client."""
    await w.milestone(funded=True)
    return Sample("client")


@sample("/sandbox/bank/{account_id:str}")
async def sandbox_bank_page(w: World) -> Sample:
    """The sandbox bank's page for the contractor's account; saving it needs a test IBAN."""
    method = await _earning_contractor(w)
    return Sample("contractor", params={"account_id": method.provider_account_id},
                  query={"return_to": "/earnings/method/return"},
                  form={"holder_name": "Noor Designer", "iban": "DE89 3704 0044 0532 0130 00"})  # fmt: skip


@sample("/c/{slug:str}")
async def public_profile(w: World) -> Sample:
    profile = await profiles.update_profile(w.db, w.contractor, read_profile(
        {"headline": "Brand designer for small shops", "skills": "logo design"}))  # fmt: skip
    return Sample("visitor", params={"slug": profile.slug})


@sample("/files/{file_id:int}")
async def portfolio_image(w: World) -> Sample:
    item = await w.portfolio_item(image=True)
    return Sample("contractor", params={"file_id": item.image_file_id})


# ---------------------------------------------------------------- conversations


async def _contract_conversation(w: World):
    from app.conversations import services as conversations

    contract = await w.active_contract()
    conversation = await conversations.conversation_for_contract(w.db, contract)
    await w.db.commit()
    return contract, conversation


@sample("/messages/{public_id:str}", "/messages/{public_id:str}/since")
async def conversation_to_write_in(w: World) -> Sample:
    _, conversation = await _contract_conversation(w)
    return Sample("client", params={"public_id": conversation.public_id}, form={"body": "When can we start?"})


@sample("/messages/{public_id:str}/m/{message_id:str}/edit")
async def message_to_edit(w: World) -> Sample:
    from app.conversations import services as conversations

    _, conversation = await _contract_conversation(w)
    sent = await conversations.send(
        w.db, conversation, w.client, "See you on Monday", client_key=w.unique("sweep-key-")
    )
    await w.db.commit()
    return Sample("client", params={"public_id": conversation.public_id, "message_id": sent.message.public_id},
                  form={"body": "See you on Tuesday"})  # fmt: skip


@sample("/contracts/{contract_id:int}/messages")
async def contract_conversation_link(w: World) -> Sample:
    contract = await w.active_contract()
    return Sample("contractor", params={"contract_id": contract.id}, status={"GET": 303})


@sample("/proposals/{proposal_id:int}/messages")
async def proposal_conversation_link(w: World) -> Sample:
    proposal = await w.proposal()
    return Sample("client", params={"proposal_id": proposal.id}, status={"GET": 303})


# ---------------------------------------------------------------- notifications


async def _notification(w: World):
    from app.notifications import notify

    row = await notify(w.db, w.contractor, "milestone.funded", link="/contracts", milestone=w.unique("Part "),
                       amount="€10.00")  # fmt: skip
    await w.db.commit()
    return row


@sample("/notifications", "/notifications/bell", "/notifications/read-all")
async def notification_centre(w: World) -> Sample:
    """The contractor's list with one unread (so "Mark all as read" is on the page)."""
    await _notification(w)
    return Sample("contractor", pages=["/notifications"])


@sample("/notifications/{public_id:str}/open", "/notifications/{public_id:str}/read")
async def notification_to_open(w: World) -> Sample:
    row = await _notification(w)
    return Sample("contractor", params={"public_id": row.public_id}, status={"GET": 303}, pages=["/notifications"])


# ---------------------------------------------------------------- public pages, operations, live events, static files


@sample("/", "/jobs", "/health", "/ready", "/metrics")
async def public_page(w: World) -> Sample:
    await w.open_job()  # something for the job search to find
    return Sample("visitor")


@sample("/events")
async def event_stream(w: World) -> Sample:
    """The client's stream, on a conversation page (that conversation's typing and presence too)."""
    return Sample("client", query={"conversation": (await _conversation(w)).public_id})


async def _conversation(w: World):
    from app.conversations.services import conversation_for_contract

    conversation = await conversation_for_contract(w.db, await w.active_contract())
    await w.db.commit()
    return conversation


@sample("/messages/{public_id:str}/typing")
async def typing_signal(w: World) -> Sample:
    """The composer's typing signal: 204 for a party, whether or not it was passed on."""
    return Sample("client", params={"public_id": (await _conversation(w)).public_id}, status={"POST": 204})


@sample("/messages/{public_id:str}/presence")
async def presence_block(w: World) -> Sample:
    return Sample("client", params={"public_id": (await _conversation(w)).public_id})


@sample("/static/{file_path:path}")
async def static_file(w: World) -> Sample:
    return Sample("visitor", params={"file_path": "css/app.css"})


# ---------------------------------------------------------------- notification preferences and unsubscribe links


@sample("/settings/notifications")
async def notification_preferences(w: World) -> Sample:
    """The contractor's choices: the page's own form (every box as shown) is a valid save."""
    return Sample("contractor", form={"daily_digest": "off"})


@sample("/settings/time-zone")
async def settings_time_zone(w: World) -> Sample:
    return Sample("client", form={"time_zone": "Europe/Berlin"}, pages=["/settings"])


@sample("/unsubscribe/{token:str}")
async def unsubscribe_link(w: World) -> Sample:
    """A signed link from a notification e-mail: it works without signing in, and again after use."""
    from app.notifications.unsubscribe import make_token

    token = make_token(w.app.state.settings.secret_key, w.contractor.id, "milestone.funded")
    return Sample("visitor", params={"token": token}, form={"List-Unsubscribe": "One-Click"}, status={"POST": 200})
