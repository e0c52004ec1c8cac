"""create_app(): plugins, routers, middleware — nothing else."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.plugins.flash import FlashConfig, FlashPlugin
from litestar.plugins.prometheus import PrometheusConfig
from litestar.stores.redis import RedisStore

from app.accounts.guards import CurrentUserMiddleware
from app.accounts.passwords import configure_password_hashing
from app.accounts.sessions import SESSION_COOKIE, SESSION_NAMESPACE, SessionConfig
from app.config import Settings, get_settings
from app.events.backend import ResilientPubSubBackend
from app.events.controllers import remember_stream_position
from app.events.services import on_outbox_commit, remove_outbox_commit
from app.platform.logging import configure_logging
from app.platform.resources import Resources
from app.routes import dependencies, route_handlers
from app.web.csrf import TolerantCSRFMiddleware
from app.web.errors import EXCEPTION_HANDLERS
from app.web.input import CheckedRequest, InputGuardMiddleware
from app.web.paths import ids_in_range
from app.web.security import NoStoreWhenSignedInMiddleware, edge_middleware
from app.web.templating import template_config

UNSESSIONED = ["/static", "/health", "/ready", "/metrics", "/webhooks", "/api/"]


def create_app(settings: Settings | None = None, *, extra_handlers: Sequence[Any] = ()) -> Litestar:
    """The app. `extra_handlers` is for tests only: a test mounts its own controller next to the
    real routes (the idempotency tests drive `once` through a real request)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    configure_password_hashing(settings.password_hash_profile)
    resources = Resources.create(settings)
    templates = template_config(settings)
    prometheus = PrometheusConfig(
        app_name="pactline",
        prefix="pactline",
        group_path=True,
        exclude=["/static", "/metrics", "/health", "/ready"],
        exclude_opt_key="skip_prometheus",
    )
    channels = ChannelsPlugin(
        backend=ResilientPubSubBackend(redis=resources.redis),
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )

    @asynccontextmanager
    async def lifespan(app: Litestar):
        dispatcher = resources.dispatcher
        on_outbox_commit(dispatcher.kick)
        dispatcher.start(idle_seconds=5.0)
        worker = None
        if settings.run_worker_in_process:
            from app.worker.runner import make_worker

            worker = make_worker(resources, embedded=True)
            app.state.worker_task = asyncio.get_running_loop().create_task(worker.start(), name="worker")
        try:
            yield
        finally:
            remove_outbox_commit(dispatcher.kick)
            if worker is not None:
                await worker.stop()
            await resources.close()

    handlers = [*route_handlers(dev=settings.is_development), *extra_handlers]

    csrf = CSRFConfig(
        secret=settings.secret_key,
        cookie_name="pactline_csrf",
        cookie_secure=not settings.is_development and settings.environment != "test",
        cookie_httponly=True,
        header_name="x-csrftoken",
        # Requests authenticated otherwise (API key, webhook signature, the signed one-click
        # unsubscribe link of RFC 8058) and endpoints without forms.
        exclude=["^/webhooks/", "^/unsubscribe/", "^/api/leads", "^/health$", "^/ready$", "^/metrics$", "^/static/"],
    )

    app = Litestar(
        route_handlers=handlers,
        dependencies=dependencies(),
        guards=[ids_in_range],
        state=State(
            {
                "settings": settings,
                "resources": resources,
                "engine": resources.engine,
                "sessionmaker": resources.sessionmaker,
                "redis": resources.redis,
                "queue": resources.queue,
                "dispatcher": resources.dispatcher,
            }
        ),
        template_config=templates,
        plugins=[channels, FlashPlugin(config=FlashConfig(template_config=templates))],
        stores={"sessions": RedisStore(resources.redis, namespace=SESSION_NAMESPACE)},
        request_class=CheckedRequest,
        middleware=[
            # Control characters in the path, query or headers are refused before anything reads them.
            InputGuardMiddleware(),
            SessionConfig(
                key=SESSION_COOKIE,
                max_age=30 * 24 * 3600,
                secure=not settings.is_development and settings.environment != "test",
                httponly=True,
                samesite="lax",
                exclude=UNSESSIONED,
            ).middleware,
            CurrentUserMiddleware(),
            NoStoreWhenSignedInMiddleware(),
            prometheus.middleware,
            # Innermost, where Litestar puts its own (csrf_config= would install the stock class).
            DefineMiddleware(TolerantCSRFMiddleware, config=csrf),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=remember_stream_position,
        lifespan=[lifespan],
        openapi_config=None,
        logging_config=None,  # configure_logging() owns logging (JSON lines with request ids)
        debug=False,
    )
    app.asgi_handler = edge_middleware(settings)(app.asgi_handler)
    return app


def __getattr__(name: str):
    # `uvicorn app.asgi:app` builds the app on first access, from the environment.
    if name == "app":
        global app
        app = create_app()
        return app
    raise AttributeError(name)
