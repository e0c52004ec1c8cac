"""argon2id password hashing with one set of parameters per process (PASSWORD_HASH_PROFILE)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# m=19 MiB, t=2, p=1 is OWASP's argon2id minimum; see docs/decisions/0003-argon2-parameters.md.
# `test` is argon2id's cheapest legal setting, for a test run's thousands of personas only:
# app/config.py refuses it outside ENVIRONMENT=test (decision 0024).
PROFILES: dict[str, dict[str, int]] = {
    "production": {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1},
    "test": {"time_cost": 1, "memory_cost": 8, "parallelism": 1},
}
DEFAULT_PROFILE = "production"


def make_hasher(profile: str) -> PasswordHasher:
    return PasswordHasher(**PROFILES[profile], hash_len=32, salt_len=16)


_profile = DEFAULT_PROFILE
HASHER = make_hasher(_profile)
# Verified against when the e-mail is unknown, so both paths cost the same.
_DUMMY_HASH = HASHER.hash("pactline-dummy-password-for-timing")


def configure_password_hashing(profile: str) -> None:
    """New hashes use `profile` from now on. Verifying never depends on it: a hash names its own
    parameters, and a sign-in rehashes one whose parameters differ (needs_rehash)."""
    global HASHER, _DUMMY_HASH, _profile
    if profile == _profile:
        return
    HASHER, _profile = make_hasher(profile), profile
    _DUMMY_HASH = HASHER.hash("pactline-dummy-password-for-timing")


def hasher() -> PasswordHasher:
    """The process's hasher (read it through this: configure_password_hashing replaces it)."""
    return HASHER


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


# argon2 takes tens of milliseconds of CPU and releases the GIL: run it off the event loop so
# one sign-in does not stall every other request of the process.
async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)
