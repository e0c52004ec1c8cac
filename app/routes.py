"""Every route the app serves, feature by feature: the app registers this list and `path_for` reverses names from it."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from app.accounts.controllers import (
    EmailVerificationController,
    PasswordResetController,
    SignInController,
    SignOutController,
    SignUpController,
)
from app.accounts.guards import provide_user, provide_viewer
from app.accounts.oauth_controllers import OAuthController
from app.accounts.settings_controllers import (
    DevicesController,
    SettingsController,
    StepUpController,
    TwoStepController,
)
from app.admin.controllers import AdminController
from app.audit.controllers import AuditController
from app.companies.controllers import (
    CompanyController,
    CompanyReviewController,
    InvitationController,
    InviteeController,
)
from app.contracts.amendments.controllers import AmendmentController
from app.contracts.documents.controllers import ContractDocumentController, VerifyController
from app.contracts.drafting.controllers import ContractController
from app.contracts.signing.controllers import SigningController, VersionController
from app.contracts.templates.controllers import CompanyTemplateController, PlatformTemplateController
from app.conversations.controllers import ConversationLinksController, MessagesController
from app.conversations.files import MessageFileController
from app.conversations.live_controllers import LiveConversationController
from app.db import provide_db
from app.escrow.controllers import MilestoneController
from app.events.controllers import EventStreamController
from app.invoices.controllers import InvoiceController
from app.leads.controllers import DeadLetterController, IntakeController, LeadApiController, QuoteController
from app.mail.controllers import DevMailController
from app.marketplace.controllers import ApplyController, JobController, ProposalController
from app.notifications.controllers import NotificationController
from app.notifications.preference_controllers import NotificationPreferencesController
from app.notifications.unsubscribe_controllers import UnsubscribeController
from app.pages.controllers import DashboardController, LandingController
from app.payments.bank_controllers import SandboxBankController
from app.payments.controllers import CheckoutController, SandboxWebhookController, StripeWebhookController
from app.payments.reconciliation_controllers import ReconciliationController
from app.payouts.controllers import EarningsController
from app.profiles.controllers import (
    FileDownloadController,
    KycAdminController,
    KycWebhookController,
    ProfileController,
    PublicProfileController,
)
from app.statements.controllers import PaymentsController, StatementController
from app.web.ops import OpsController
from app.web.paths import file_path_fits
from app.web.templating import STATIC


def dependencies() -> dict[str, Provide]:
    """What any handler may ask for by name: `db`, `user` (the signed-in person) and `viewer` (or None)."""
    return {
        "db": Provide(provide_db),
        "user": Provide(provide_user, sync_to_thread=False),
        "viewer": Provide(provide_viewer, sync_to_thread=False),
    }


def route_handlers(*, dev: bool) -> list[Any]:
    handlers: list[Any] = [
        LandingController,
        DashboardController,
        SignInController,
        SignOutController,
        SignUpController,
        EmailVerificationController,
        PasswordResetController,
        SettingsController,
        DevicesController,
        TwoStepController,
        StepUpController,
        OAuthController,
        AdminController,
        ReconciliationController,
        AuditController,
        CompanyController,
        InvitationController,
        InviteeController,
        CompanyReviewController,
        ContractController,
        ContractDocumentController,
        VerifyController,
        AmendmentController,
        MilestoneController,
        PlatformTemplateController,
        CompanyTemplateController,
        VersionController,
        SigningController,
        LeadApiController,
        QuoteController,
        IntakeController,
        DeadLetterController,
        ProfileController,
        PublicProfileController,
        FileDownloadController,
        KycAdminController,
        KycWebhookController,
        CheckoutController,
        SandboxWebhookController,
        StripeWebhookController,
        SandboxBankController,
        EarningsController,
        InvoiceController,
        PaymentsController,
        StatementController,
        JobController,
        ApplyController,
        ProposalController,
        MessagesController,
        ConversationLinksController,
        EventStreamController,
        LiveConversationController,
        MessageFileController,
        NotificationController,
        OpsController,
        NotificationPreferencesController,
        UnsubscribeController,
        create_static_files_router(
            path="/static",
            directories=[STATIC],
            name="static",
            cache_control=CacheControlHeader(max_age=31_536_000, public=True, immutable=True),
            opt={"skip_session": True, "skip_prometheus": True},
            guards=[file_path_fits],
            include_in_schema=False,
        ),
    ]
    if dev:
        handlers.append(DevMailController)
    return handlers
