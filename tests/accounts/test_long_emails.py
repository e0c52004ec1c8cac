"""E-mail addresses on sign-in and reset: over 254 characters is refused before anything else;
limiter keys hold hashes, never an address; failed sign-ins stay out of the append-only chain
and live in a bounded, expiring table."""

import hashlib
from datetime import timedelta

from sqlalchemy import func, select, update

from app.accounts.audit import FAILED_SIGN_INS_PER_ADDRESS, record_failed_sign_in
from app.accounts.mfa import enable as enable_mfa
from app.accounts.models import AccountEvent, FailedSignIn
from app.accounts.tasks import purge_failed_sign_ins
from app.audit.models import AuditEvent
from app.db import utcnow
from tests.accounts.test_settings import confirm
from tests.support.factories import PASSWORD, make_user

LONG_LOCAL = "x" * 247  # 255 characters with "@test.io"
TOO_LONG = f"{LONG_LOCAL}@test.io"
HUGE = "y" * 1_000_000 + "@example.test"


async def redis_dump(redis) -> list[bytes]:
    """Every key and string value in Redis (sessions included)."""
    found = []
    for key in await redis.keys("*"):
        found.append(key)
        if await redis.type(key) == b"string":
            found.append(await redis.get(key) or b"")
    return found


async def count(db, model) -> int:
    return await db.scalar(select(func.count()).select_from(model))


async def test_sign_in_refuses_an_address_over_254_characters_next_to_the_field(app, anonymous, db):
    for email in (TOO_LONG, HUGE):
        response = await anonymous.post_form("/login", {"email": email, "password": "whatever it is"})
        assert response.status_code == 422
        assert "Use an e-mail address of at most 254 characters." in response.text
        assert email[:300] not in response.text  # not echoed back into the page
    assert await app.state.redis.keys("ratelimit:*") == []
    assert not any(b"xxxxxxxxxx" in item or b"yyyyyyyyyy" in item for item in await redis_dump(app.state.redis))
    assert await count(db, FailedSignIn) == 0 and await count(db, AuditEvent) == 0


async def test_reset_refuses_an_address_over_254_characters_next_to_the_field(app, anonymous, smtp_server):
    for email in (TOO_LONG, HUGE):
        response = await anonymous.post_form("/reset", {"email": email})
        assert response.status_code == 422
        assert "Use an e-mail address of at most 254 characters." in response.text
    assert await app.state.redis.keys("ratelimit:*") == []
    assert smtp_server.messages == []


async def test_sign_up_and_the_email_change_refuse_it_too(anonymous, client, db):
    signup = await anonymous.post_form(
        "/signup", {"name": "Long", "email": HUGE, "password": "saffron tundra piano", "role": "client"}
    )
    assert signup.status_code == 422 and "at most 254 characters" in signup.text
    await confirm(client)
    change = await client.post_form("/settings/email", {"email": TOO_LONG})
    assert change.status_code == 422 and "at most 254 characters" in change.text


async def test_an_address_of_exactly_254_characters_is_still_an_address(anonymous, db):
    email = f"{'x' * 246}@test.io"
    assert len(email) == 254
    user = await make_user(db, email=email)
    response = await anonymous.post_form("/login", {"email": email, "password": PASSWORD})
    assert response.status_code == 303
    assert user.email == email


async def test_limiter_keys_hold_a_hash_never_the_address(app, anonymous, db):
    user = await make_user(db)
    await anonymous.post_form("/reset", {"email": user.email})
    await anonymous.post_form("/login", {"email": user.email, "password": "not the password"})
    keys = await app.state.redis.keys("ratelimit:*")
    assert len(keys) >= 4  # reset per address and per e-mail, sign-in per pair and per address
    for key in keys:
        assert user.email.encode() not in key and b"127.0.0.1" not in key
        name, digest, window = key.decode().split(":")[1:]
        assert len(digest) == 64 and int(digest, 16) >= 0 and window.isdigit()


async def test_a_failed_sign_in_leaves_no_chain_or_account_event_only_a_hashed_row(anonymous, db):
    user = await make_user(db)
    chain_before = await count(db, AuditEvent)
    for email in (user.email, "nobody@example.test"):
        response = await anonymous.post_form(
            "/login", {"email": email, "password": "not the password"}, headers={"user-agent": "Probe/1.0"}
        )
        assert response.status_code == 422
    assert await count(db, AuditEvent) == chain_before
    assert (await db.scalars(select(AccountEvent.kind))).all() == []
    rows = (await db.scalars(select(FailedSignIn).order_by(FailedSignIn.id))).all()
    assert [(r.user_id, r.step, r.user_agent, str(r.ip)) for r in rows] == [
        (user.id, "password", "Probe/1.0", "127.0.0.1"),
        (None, "password", "Probe/1.0", "127.0.0.1"),
    ]
    assert rows[1].email_hash == hashlib.sha256(b"nobody@example.test").hexdigest()


async def test_a_wrong_two_step_code_is_a_failed_sign_in_too(app, anonymous, db):
    user = await make_user(db)
    await enable_mfa(db, user, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", app.state.settings.secret_key)
    await db.commit()
    chain_before = await count(db, AuditEvent)
    await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert (await anonymous.post_form("/login/mfa", {"code": "000000"})).status_code == 422
    assert await count(db, AuditEvent) == chain_before
    row = await db.scalar(select(FailedSignIn))
    assert row.user_id == user.id and row.step == "totp"


async def test_failed_sign_ins_are_capped_per_address(app, db):
    for _ in range(FAILED_SIGN_INS_PER_ADDRESS + 7):
        await record_failed_sign_in(
            db, normalized_email="target@example.test", step="password", user_id=None, request=None
        )
        await db.commit()
    await record_failed_sign_in(db, normalized_email="other@example.test", step="password", user_id=None, request=None)
    await db.commit()
    target = hashlib.sha256(b"target@example.test").hexdigest()
    kept = (await db.scalars(select(FailedSignIn.id).where(FailedSignIn.email_hash == target))).all()
    assert len(kept) == FAILED_SIGN_INS_PER_ADDRESS
    assert min(kept) == 8  # the oldest went first
    assert await count(db, FailedSignIn) == FAILED_SIGN_INS_PER_ADDRESS + 1


async def test_failed_sign_ins_expire_after_30_days(app, db):
    for _ in range(3):
        await record_failed_sign_in(
            db, normalized_email="old@example.test", step="password", user_id=None, request=None
        )
    await record_failed_sign_in(db, normalized_email="new@example.test", step="password", user_id=None, request=None)
    await db.commit()
    old = hashlib.sha256(b"old@example.test").hexdigest()
    await db.execute(
        update(FailedSignIn).where(FailedSignIn.email_hash == old).values(created_at=utcnow() - timedelta(days=31))
    )
    await db.commit()
    assert await purge_failed_sign_ins({"sessionmaker": app.state.sessionmaker}) == 3
    assert (await db.scalars(select(FailedSignIn.email_hash))).all() == [
        hashlib.sha256(b"new@example.test").hexdigest()
    ]
