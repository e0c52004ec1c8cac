"""Production hashes passwords with argon2id m=19 MiB, t=2, p=1 (decision 0003). The test run
hashes with argon2id's cheapest parameters (decision 0024); this is the one test that uses the
production ones, through a real sign-in."""

from argon2 import Type, extract_parameters

from app.accounts.passwords import PROFILES, configure_password_hashing
from app.config import PASSWORD_HASH_PROFILES, load_settings
from tests.conftest import web_client
from tests.platform.test_config import PRODUCTION
from tests.support.factories import make_user


async def test_production_parameters_hash_with_owasp_argon2id_and_upgrade_a_cheap_hash_at_sign_in(
    app, anonymous, db, settings
):
    assert settings.password_hash_profile == "test"  # the rest of the suite runs cheap
    assert load_settings(PRODUCTION).password_hash_profile == "production"  # nothing to set
    assert set(PROFILES) == set(PASSWORD_HASH_PROFILES)

    user = await make_user(db)
    cheap = extract_parameters(user.password_hash)
    assert (cheap.type, cheap.time_cost, cheap.memory_cost, cheap.parallelism) == (Type.ID, 1, 8, 1)

    configure_password_hashing("production")
    try:
        # A hash made with other parameters (here the cheap one) still verifies, and a successful
        # sign-in stores a new hash with the process's parameters.
        await anonymous.sign_in(user.email)
        await db.refresh(user)
        stored = extract_parameters(user.password_hash)
        assert (stored.type, stored.time_cost, stored.memory_cost, stored.parallelism) == (Type.ID, 2, 19 * 1024, 1)
        assert (stored.hash_len, stored.salt_len) == (32, 16)
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")

        # The production hash verifies on the next sign-in and is kept as it is.
        before = user.password_hash
        async with web_client(app) as again:
            await again.sign_in(user.email)
        await db.refresh(user)
        assert user.password_hash == before
    finally:
        configure_password_hashing(settings.password_hash_profile)
