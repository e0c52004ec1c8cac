"""Configuration comes from the environment; production refuses to start half-configured."""

import pytest

from app.config import ConfigurationError, load_settings

PRODUCTION = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "x" * 40,
    "DATABASE_URL": "postgresql://u:p@db/pactline",
    "REDIS_URL": "redis://kv:6379/0",
    "SMTP_URL": "smtp+starttls://u:p@mail:587",
    "PAYMENTS_PROVIDER": "stripe",
}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "REDIS_URL", "SMTP_URL"])
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
