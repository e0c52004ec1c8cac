"""Configuration comes from the environment; production refuses to start half-configured, and a
server given real services must say which environment it is."""

import os
import subprocess
import sys

import pytest

from app.config import ConfigurationError, load_settings
from tests.support.live import ROOT

PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgresql://u:p@db/pactline",
    "REDIS_URL": "redis://kv:6379/0",
    "SMTP_URL": "smtp+starttls://u:p@mail:587",
    "PAYMENTS_PROVIDER": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_test-only-not-a-real-key",
    "STRIPE_WEBHOOK_SECRET": "whsec_test-only",
    "APP_BASE_URL": "https://pactline.example",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_URL", "APP_BASE_URL"])
def test_production_refuses_to_start_without_required_settings(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigurationError, match=missing):
        load_settings(env)


def test_production_refuses_the_payment_sandbox_unless_asked_on_purpose():
    with pytest.raises(ConfigurationError, match="sandbox"):
        load_settings({**PRODUCTION, "PAYMENTS_PROVIDER": "sandbox"})
    demo = load_settings({**PRODUCTION, "PAYMENTS_PROVIDER": "sandbox", "PAYMENTS_SANDBOX": "1"})
    assert demo.sandbox_banner is True


def test_complete_production_settings_load_and_use_asyncpg():
    settings = load_settings(PRODUCTION)
    assert settings.is_production
    assert settings.async_database_url == "postgresql+asyncpg://u:p@db/pactline"
    assert settings.sse_heartbeat_seconds == 15.0
    assert settings.sandbox_banner is False


def test_development_defaults_need_nothing():
    settings = load_settings({})
    assert settings.environment == "development"
    assert settings.secret_key
    assert settings.app_base_url == "http://127.0.0.1:8000"


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigurationError, match="ENVIRONMENT"):
        load_settings({"ENVIRONMENT": "staging-ish"})


def test_s3_storage_needs_a_bucket():
    with pytest.raises(ConfigurationError, match="S3_BUCKET"):
        load_settings({**PRODUCTION, "STORAGE_BACKEND": "s3"})
    settings = load_settings({**PRODUCTION, "STORAGE_BACKEND": "s3", "S3_BUCKET": "pactline-files"})
    assert settings.s3_bucket == "pactline-files"


@pytest.mark.parametrize(
    "given",
    [{"DATABASE_URL": "postgresql://u:p@db/pactline"}, {"REDIS_URL": "redis://kv:6379/0"}],
    ids=["database", "redis"],
)
def test_real_services_without_environment_are_refused_instead_of_running_as_development(given):
    with pytest.raises(ConfigurationError) as refused:
        load_settings(given)
    message = str(refused.value)
    assert next(iter(given)) in message
    assert "ENVIRONMENT is not" in message and "ENVIRONMENT=production" in message
    # Saying so on purpose is enough.
    assert load_settings({**given, "ENVIRONMENT": "development"}).is_development


def test_the_cli_refuses_with_the_reason_not_a_traceback():
    env = {k: v for k, v in os.environ.items() if k not in {"ENVIRONMENT", "REDIS_URL"}}
    env["DATABASE_URL"] = "postgresql://u:p@db.invalid/pactline"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "DATABASE_URL is set but ENVIRONMENT is not" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("url", ["http://pactline.example", "ftp://pactline.example", "pactline.example", "https://"])
def test_production_refuses_an_app_base_url_that_is_not_https(url):
    with pytest.raises(ConfigurationError, match="APP_BASE_URL must be an https:// address"):
        load_settings({**PRODUCTION, "APP_BASE_URL": url})


@pytest.mark.parametrize(
    "url", ["https://pactline.example", "http://127.0.0.1:8000", "http://localhost:9000", "http://[::1]:8000"]
)
def test_production_accepts_https_or_a_loopback_address(url):
    # The benchmarks run production on loopback over plain http.
    assert load_settings({**PRODUCTION, "APP_BASE_URL": url}).app_base_url == url


@pytest.mark.parametrize("environment", [PRODUCTION, {}, {"ENVIRONMENT": "development"}])
def test_cheap_password_hashing_is_refused_outside_tests(environment):
    # Production and development hash with the production parameters whatever else is set; the
    # cheap profile is for a test run's personas (decision 0024).
    assert load_settings(environment).password_hash_profile == "production"
    with pytest.raises(ConfigurationError, match="PASSWORD_HASH_PROFILE=test is allowed only with ENVIRONMENT=test"):
        load_settings({**environment, "PASSWORD_HASH_PROFILE": "test"})
    with pytest.raises(ConfigurationError, match="PASSWORD_HASH_PROFILE must be one of"):
        load_settings({**environment, "PASSWORD_HASH_PROFILE": "fast"})
    assert load_settings({"ENVIRONMENT": "test", "PASSWORD_HASH_PROFILE": "test"}).password_hash_profile == "test"


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET"])
def test_production_with_stripe_refuses_to_start_without_its_keys(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(ConfigurationError, match=f"PAYMENTS_PROVIDER=stripe needs {missing}"):
        load_settings(env)


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_a_payout_minimum_that_is_not_a_positive_whole_number_is_refused(value):
    with pytest.raises(ConfigurationError, match="PAYOUT_MINIMUM_MINOR"):
        load_settings({"PAYOUT_MINIMUM_MINOR": value})


def test_an_unknown_payment_provider_is_refused_at_start():
    with pytest.raises(ConfigurationError, match="PAYMENTS_PROVIDER must be one of sandbox, stripe"):
        load_settings({"PAYMENTS_PROVIDER": "paypal"})
