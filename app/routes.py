"""Every route the app serves, feature by feature: the app registers this list and `path_for` reverses names from it."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import CacheControlHeader
from litestar.di import Provide
from litestar.static_files import create_static_files_router

from app.accounts.controllers import HANDLERS as ACCOUNT_HANDLERS
from app.accounts.guards import provide_user, provide_viewer
from app.accounts.oauth_controllers import HANDLERS as OAUTH_HANDLERS
from app.accounts.settings_controllers import HANDLERS as SETTINGS_HANDLERS
from app.admin.controllers import AdminController
from app.audit.controllers import AuditController
from app.companies.controllers import HANDLERS as COMPANY_HANDLERS
from app.contracts.amendments.controllers import AmendmentController
from app.contracts.documents.controllers import ContractDocumentController, VerifyController
from app.contracts.drafting.controllers import ContractController
from app.contracts.signing.controllers import SigningController, VersionController
from app.contracts.templates.controllers import CompanyTemplateController, PlatformTemplateController
from app.db import provide_db
from app.events.controllers import event_stream
from app.leads.controllers import HANDLERS as LEAD_HANDLERS
from app.mail.controllers import DEV_MAIL_HANDLERS
from app.marketplace.controllers import marketplace_router
from app.pages.controllers import dashboard, job_matches, landing
from app.profiles.controllers import HANDLERS as PROFILE_HANDLERS
from app.web.ops import health, metrics, ready
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
        landing,
        dashboard,
        job_matches,
        *ACCOUNT_HANDLERS,
        *SETTINGS_HANDLERS,
        *OAUTH_HANDLERS,
        AdminController,
        AuditController,
        *COMPANY_HANDLERS,
        ContractController,
        ContractDocumentController,
        VerifyController,
        AmendmentController,
        PlatformTemplateController,
        CompanyTemplateController,
        VersionController,
        SigningController,
        *LEAD_HANDLERS,
        *PROFILE_HANDLERS,
        marketplace_router,
        event_stream,
        health,
        ready,
        metrics,
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
        handlers += DEV_MAIL_HANDLERS
    return handlers
