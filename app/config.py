"""One settings object, read from the environment once."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = ("development", "test", "production")
# Kept in step with app.accounts.passwords.PROFILES (a test checks); config imports nothing of the app.
PRODUCTION_HASHING = "production"
PASSWORD_HASH_PROFILES = (PRODUCTION_HASHING, "test")
PAYMENT_PROVIDERS = ("sandbox", "stripe")
# The platform fee written into contract terms when a version is sent (decision 0030).
DEFAULT_PLATFORM_FEE_PERCENT = "10"
MAX_PLATFORM_FEE_PERCENT = 50
# A message carries a few files and the whole request is held while it is read: keep one bounded.
MAX_MESSAGE_FILE_MB = 100


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable deployment."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(value: str | None) -> tuple[str, ...]:
    return tuple(item.strip() for item in (value or "").split(",") if item.strip())


def _int(value: str | None, name: str, *, default: int) -> int:
    text = (value or "").strip()
    if not text:
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {text!r}") from None


def platform_fee_bp(value: str | None) -> int:
    """PLATFORM_FEE_PERCENT ("10", "7.5", "2.25") in basis points (1000, 750, 225): a percentage
    with at most two decimals, from 0 to 50. Anything else stops the start-up with a message."""
    text = (value or "").strip().removesuffix("%").strip() or DEFAULT_PLATFORM_FEE_PERCENT
    problem = (
        f"PLATFORM_FEE_PERCENT must be a percentage from 0 to {MAX_PLATFORM_FEE_PERCENT} "
        f"with at most two decimals (like 10 or 7.5), not {value!r}"
    )
    try:
        percent = Decimal(text)
    except InvalidOperation:
        raise ConfigurationError(problem) from None
    basis_points = percent * 100
    if not percent.is_finite() or basis_points != basis_points.to_integral_value():
        raise ConfigurationError(problem)
    if not 0 <= percent <= MAX_PLATFORM_FEE_PERCENT:
        raise ConfigurationError(problem)
    return int(basis_points)


def message_file_max_mb(env: Mapping[str, str]) -> int:
    """MESSAGE_FILE_MAX_MB (default 20); read on its own too, for the send route's body limit."""
    return _int(env.get("MESSAGE_FILE_MAX_MB"), "MESSAGE_FILE_MAX_MB", default=20)


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_environment(env: Mapping[str, str]) -> str:
    """ENVIRONMENT, or `development` when it is unset on a machine that names no external services.

    Development brings a fixed public SECRET_KEY, /dev/mail, cookies without Secure and no HSTS,
    so a server that was given a real database or Redis must say what it is rather than fall into
    development by omission."""
    environment = env.get("ENVIRONMENT", "").strip().lower()
    if environment:
        return environment
    given = [name for name in ("DATABASE_URL", "REDIS_URL") if env.get(name)]
    if given:
        raise ConfigurationError(
            f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set but ENVIRONMENT is not. "
            "Without ENVIRONMENT the app would run in development mode (a public SECRET_KEY, /dev/mail, "
            "cookies without Secure, no HSTS). Set ENVIRONMENT=production for a deployment, or "
            "ENVIRONMENT=development to run against your own database on purpose."
        )
    return "development"


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    secret_key: str = ""
    database_url: str = ""
    redis_url: str = ""
    app_base_url: str = "http://127.0.0.1:8000"
    smtp_url: str = ""
    mail_from: str = "Pactline <no-reply@pactline.test>"
    data_dir: Path = ROOT / ".data"
    log_level: str = "INFO"
    log_json: bool = True
    trusted_proxies: tuple[str, ...] = ()
    payments_provider: str = "sandbox"
    payments_sandbox: bool = False
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = "https://api.stripe.com"  # STRIPE_API_BASE: tests point it at the local fake
    payout_minimum_minor: int = 1000  # PAYOUT_MINIMUM_MINOR: the smallest withdrawal, in the balance's currency
    sandbox_webhook_secret: str = ""  # signs the sandbox provider's webhooks; derived from SECRET_KEY when unset
    google_client_id: str = ""
    google_client_secret: str = ""
    linkedin_client_id: str = ""
    linkedin_client_secret: str = ""
    google_discovery_url: str = "https://accounts.google.com/.well-known/openid-configuration"
    linkedin_discovery_url: str = "https://www.linkedin.com/oauth/.well-known/openid-configuration"
    kyc_provider: str = "documents"
    kyc_provider_url: str = ""
    kyc_provider_api_key: str = ""
    kyc_webhook_secret: str = ""
    storage_backend: str = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_prefix: str = ""
    contract_review_url: str = ""  # optional second-opinion reviewer (an LLM service); off when empty
    contract_review_token: str = ""
    leads_api_per_minute: int = 60
    company_registry: str = "admin"
    company_registry_url: str = ""
    company_registry_token: str = ""
    run_worker_in_process: bool = False
    sse_heartbeat_seconds: float = 15.0
    event_backlog_size: int = 200
    event_backlog_seconds: int = 24 * 3600
    message_file_max_mb: int = 20  # MESSAGE_FILE_MAX_MB: the largest file one can attach to a message
    password_hash_profile: str = PRODUCTION_HASHING
    platform_fee_bp: int = 1000  # PLATFORM_FEE_PERCENT in basis points: 1000 = 10 %
    # Pactline's own details as printed on its receipts and fee invoices (decision 0040); empty
    # ones are left off the document.
    platform_legal_name: str = "Pactline"
    platform_address: str = ""
    platform_country: str = ""  # ISO 3166 alpha-2, e.g. "DE"
    platform_vat_id: str = ""

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def async_database_url(self) -> str:
        """The URL SQLAlchemy uses: always the asyncpg driver."""
        url = self.database_url
        for prefix in ("postgres://", "postgresql://", "postgresql+psycopg://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url

    @property
    def sandbox_banner(self) -> bool:
        return self.payments_provider == "sandbox" and (not self.is_production or self.payments_sandbox)

    def validate(self) -> None:
        if self.environment not in ENVIRONMENTS:
            raise ConfigurationError(f"ENVIRONMENT must be one of {', '.join(ENVIRONMENTS)}, not {self.environment!r}")
        if self.kyc_provider not in ("documents", "hosted"):
            raise ConfigurationError(f"KYC_PROVIDER must be documents or hosted, not {self.kyc_provider!r}")
        if self.kyc_provider == "hosted" and not (
            self.kyc_provider_url and self.kyc_provider_api_key and self.kyc_webhook_secret
        ):
            raise ConfigurationError(
                "KYC_PROVIDER=hosted needs KYC_PROVIDER_URL, KYC_PROVIDER_API_KEY and KYC_WEBHOOK_SECRET"
            )
        if self.payments_provider not in PAYMENT_PROVIDERS:
            raise ConfigurationError(
                f"PAYMENTS_PROVIDER must be one of {', '.join(PAYMENT_PROVIDERS)}, not {self.payments_provider!r}"
            )
        if self.payout_minimum_minor < 1:
            raise ConfigurationError("PAYOUT_MINIMUM_MINOR must be a whole number of minor units above zero")
        if self.platform_country and not (len(self.platform_country) == 2 and self.platform_country.isascii()
                                          and self.platform_country.isalpha()):  # fmt: skip
            raise ConfigurationError(
                f"PLATFORM_COUNTRY must be a two-letter country code such as DE, not {self.platform_country!r}"
            )
        if not 1 <= self.message_file_max_mb <= MAX_MESSAGE_FILE_MB:
            raise ConfigurationError(
                f"MESSAGE_FILE_MAX_MB must be a whole number of megabytes from 1 to {MAX_MESSAGE_FILE_MB}, "
                f"not {self.message_file_max_mb}"
            )
        if self.password_hash_profile not in PASSWORD_HASH_PROFILES:
            raise ConfigurationError(
                f"PASSWORD_HASH_PROFILE must be one of {', '.join(PASSWORD_HASH_PROFILES)}, "
                f"not {self.password_hash_profile!r}"
            )
        if self.password_hash_profile != PRODUCTION_HASHING and self.environment != "test":
            # Cheap hashes are for a test run's personas; anywhere else they would weaken every
            # password set from then on, silently (decision 0024).
            raise ConfigurationError(
                f"PASSWORD_HASH_PROFILE={self.password_hash_profile} is allowed only with ENVIRONMENT=test"
            )
        if not self.is_production:
            return
        missing = [
            name
            for name, value in (
                ("SECRET_KEY", self.secret_key),
                ("DATABASE_URL", self.database_url),
                ("REDIS_URL", self.redis_url),
                ("SMTP_URL", self.smtp_url),
                ("APP_BASE_URL", self.app_base_url),
            )
            if not value
        ]
        if missing:
            raise ConfigurationError("Production needs these environment variables: " + ", ".join(missing))
        if self.storage_backend not in ("local", "s3") or (self.storage_backend == "s3" and not self.s3_bucket):
            raise ConfigurationError("STORAGE_BACKEND must be local or s3 (s3 needs S3_BUCKET)")
        if len(self.secret_key) < 32:
            raise ConfigurationError("SECRET_KEY must be at least 32 characters in production")
        try:
            scheme, host = urlsplit(self.app_base_url).scheme, urlsplit(self.app_base_url).hostname
        except ValueError:
            scheme, host = "", None
        if not host or (scheme != "https" and not (scheme == "http" and _is_loopback(host))):
            raise ConfigurationError(
                f"APP_BASE_URL must be an https:// address in production, not {self.app_base_url!r} "
                "(sessions and CSRF cookies are Secure and HSTS is sent only over https; "
                "plain http is accepted only for a loopback address such as http://127.0.0.1:8000)"
            )
        if self.payments_provider == "stripe":
            missing_keys = [
                name
                for name, value in (
                    ("STRIPE_SECRET_KEY", self.stripe_secret_key),
                    ("STRIPE_WEBHOOK_SECRET", self.stripe_webhook_secret),
                )
                if not value
            ]
            if missing_keys:
                raise ConfigurationError(
                    "PAYMENTS_PROVIDER=stripe needs " + " and ".join(missing_keys) + " in production"
                )
        if self.payments_provider == "sandbox" and not self.payments_sandbox:
            raise ConfigurationError(
                "The sandbox payment provider is refused in production; "
                "set PAYMENTS_PROVIDER=stripe, or PAYMENTS_SANDBOX=1 for a demo deployment"
            )


def sandbox_webhook_secret(secret_key: str) -> str:
    """The sandbox provider's webhook secret when SANDBOX_WEBHOOK_SECRET is unset: derived from
    SECRET_KEY under its own label, so development needs nothing and the key itself never signs."""
    return hmac.new(secret_key.encode(), b"pactline:sandbox-webhook-secret", hashlib.sha256).hexdigest()


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where embedded services, caught mail and local uploads live: PACTLINE_DATA_DIR
    (absolute, or relative to the project) or `.data/`."""
    env = os.environ if environ is None else environ
    return ROOT / env.get("PACTLINE_DATA_DIR", ".data")


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    environment = resolve_environment(env)
    secret = env.get("SECRET_KEY", "")
    if not secret and environment != "production":
        # Development and tests get a fixed, clearly non-secret key so sessions survive restarts.
        secret = "development-only-secret-key-not-for-production-use"  # noqa: S105
    settings = Settings(
        environment=environment,
        secret_key=secret,
        database_url=env.get("DATABASE_URL", ""),
        redis_url=env.get("REDIS_URL", ""),
        # Production has no default: links in e-mails and OAuth redirects must name the real address.
        app_base_url=(
            env.get("APP_BASE_URL")
            or ("" if environment == "production" else "http://127.0.0.1:" + env.get("PORT", "8000"))
        ).rstrip("/"),
        smtp_url=env.get("SMTP_URL", ""),
        mail_from=env.get("MAIL_FROM", "Pactline <no-reply@pactline.test>"),
        data_dir=data_dir(env),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        log_json=_bool(env.get("LOG_JSON"), default=environment != "development"),
        trusted_proxies=_list(env.get("TRUSTED_PROXIES")),
        payments_provider=env.get("PAYMENTS_PROVIDER", "sandbox").strip().lower(),
        payments_sandbox=_bool(env.get("PAYMENTS_SANDBOX")),
        stripe_secret_key=env.get("STRIPE_SECRET_KEY", ""),
        stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
        stripe_api_base=(env.get("STRIPE_API_BASE") or Settings.stripe_api_base).rstrip("/"),
        payout_minimum_minor=_int(env.get("PAYOUT_MINIMUM_MINOR"), "PAYOUT_MINIMUM_MINOR", default=1000),
        sandbox_webhook_secret=env.get("SANDBOX_WEBHOOK_SECRET") or sandbox_webhook_secret(secret),
        google_client_id=env.get("GOOGLE_CLIENT_ID", ""),
        google_client_secret=env.get("GOOGLE_CLIENT_SECRET", ""),
        linkedin_client_id=env.get("LINKEDIN_CLIENT_ID", ""),
        linkedin_client_secret=env.get("LINKEDIN_CLIENT_SECRET", ""),
        google_discovery_url=env.get("GOOGLE_DISCOVERY_URL") or Settings.google_discovery_url,
        linkedin_discovery_url=env.get("LINKEDIN_DISCOVERY_URL") or Settings.linkedin_discovery_url,
        kyc_provider=env.get("KYC_PROVIDER", "documents").strip().lower(),
        kyc_provider_url=env.get("KYC_PROVIDER_URL", "").rstrip("/"),
        kyc_provider_api_key=env.get("KYC_PROVIDER_API_KEY", ""),
        kyc_webhook_secret=env.get("KYC_WEBHOOK_SECRET", ""),
        storage_backend=env.get("STORAGE_BACKEND", "local").strip().lower(),
        s3_bucket=env.get("S3_BUCKET", ""),
        s3_endpoint_url=env.get("S3_ENDPOINT_URL", ""),
        s3_region=env.get("S3_REGION", ""),
        s3_prefix=env.get("S3_PREFIX", ""),
        contract_review_url=env.get("CONTRACT_REVIEW_URL", "").strip(),
        contract_review_token=env.get("CONTRACT_REVIEW_TOKEN", ""),
        leads_api_per_minute=int(env.get("LEADS_API_PER_MINUTE", "60")),
        company_registry=env.get("COMPANY_REGISTRY", "admin").strip().lower(),
        company_registry_url=env.get("COMPANY_REGISTRY_URL", ""),
        company_registry_token=env.get("COMPANY_REGISTRY_TOKEN", ""),
        run_worker_in_process=_bool(env.get("RUN_WORKER_IN_PROCESS")),
        sse_heartbeat_seconds=float(env.get("SSE_HEARTBEAT_SECONDS", "15")),
        event_backlog_size=int(env.get("EVENT_BACKLOG_SIZE", "200")),
        event_backlog_seconds=int(env.get("EVENT_BACKLOG_SECONDS", str(24 * 3600))),
        message_file_max_mb=message_file_max_mb(env),
        password_hash_profile=env.get("PASSWORD_HASH_PROFILE", "").strip().lower() or PRODUCTION_HASHING,
        platform_fee_bp=platform_fee_bp(env.get("PLATFORM_FEE_PERCENT")),
        platform_legal_name=env.get("PLATFORM_LEGAL_NAME", "").strip() or Settings.platform_legal_name,
        platform_address=env.get("PLATFORM_ADDRESS", "").strip().replace("\\n", "\n"),
        platform_country=env.get("PLATFORM_COUNTRY", "").strip().upper(),
        platform_vat_id=env.get("PLATFORM_VAT_ID", "").strip(),
    )
    settings.validate()
    return settings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
