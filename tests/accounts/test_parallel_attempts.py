"""Rate limits count before they decide: a burst of parallel guesses gets no more tries than a
patient guesser, and a success takes its own count back (only failures count)."""

import asyncio

from sqlalchemy import func, select

from app.accounts import mfa, services
from app.accounts.mfa import enable as enable_mfa
from app.accounts.models import OneTimeToken, User
from app.web.ratelimit import RateLimiter
from tests.support.factories import PASSWORD, make_user

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def counting(monkeypatch, module, name: str) -> list[int]:
    """Wrap module.name so every call is counted (the thing a limit must protect)."""
    calls: list[int] = []
    real = getattr(module, name)

    if asyncio.iscoroutinefunction(real):

        async def wrapper(*args, **kwargs):
            calls.append(1)
            return await real(*args, **kwargs)
    else:

        def wrapper(*args, **kwargs):
            calls.append(1)
            return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    return calls


async def test_thirty_parallel_wrong_passwords_reach_verification_at_most_ten_times(anonymous, db, monkeypatch):
    user = await make_user(db)
    verified = counting(monkeypatch, services, "verify_password_async")
    await anonymous.csrf_token()
    answers = await asyncio.gather(
        *(anonymous.post_form("/login", {"email": user.email, "password": f"wrong guess {n}"}) for n in range(30))
    )
    statuses = sorted(r.status_code for r in answers)
    assert len(verified) == 10
    assert statuses == [422] * 10 + [429] * 20
    # The right password is refused too now: the pair is out of attempts.
    assert (await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})).status_code == 429


async def test_thirty_parallel_wrong_codes_reach_verification_at_most_five_times(anonymous, db, monkeypatch):
    user = await make_user(db)
    await enable_mfa(db, user, TOTP_SECRET, anonymous._transport.app.state.settings.secret_key)
    await db.commit()
    first = await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert first.headers["location"] == "/login/mfa"
    checked = counting(monkeypatch, mfa, "accept_code")
    answers = await asyncio.gather(*(anonymous.post_form("/login/mfa", {"code": "000000"}) for _ in range(30)))
    statuses = sorted(r.status_code for r in answers)
    assert len(checked) <= 5
    assert statuses.count(422) == len(checked) and statuses.count(429) == 30 - len(checked)
    assert (await anonymous.post_form("/login/mfa", {"code": mfa.totp(TOTP_SECRET).now()})).status_code == 429


async def test_a_success_takes_its_count_back(app, anonymous, db):
    user = await make_user(db)
    limiter = RateLimiter(app.state.redis)
    for _ in range(9):
        assert (await anonymous.post_form("/login", {"email": user.email, "password": "wrong"})).status_code == 422
    assert (await anonymous.post_form("/login", {"email": user.email, "password": PASSWORD})).status_code == 303
    # Nine failures are counted, the success is not: one more failure is still allowed.
    from app.accounts.limits import SIGN_IN_PER_PAIR

    key = limiter.key(SIGN_IN_PER_PAIR, f"127.0.0.1|{user.email}")
    assert int(await app.state.redis.get(key)) == 9
    anonymous.cookies.clear()
    anonymous._csrf = None
    assert (await anonymous.post_form("/login", {"email": user.email, "password": "wrong"})).status_code == 422
    assert (await anonymous.post_form("/login", {"email": user.email, "password": "wrong"})).status_code == 429


async def test_another_accounts_failures_do_not_block_a_success_even_in_parallel(anonymous, db):
    victim_of_typos = await make_user(db)
    bystander = await make_user(db)
    await anonymous.csrf_token()
    answers = await asyncio.gather(
        *(anonymous.post_form("/login", {"email": victim_of_typos.email, "password": "nope"}) for _ in range(15)),
        anonymous.post_form("/login", {"email": bystander.email, "password": PASSWORD}),
    )
    assert answers[-1].status_code == 303


async def test_parallel_reset_requests_send_at_most_three_links(anonymous, client, db):
    await anonymous.csrf_token()
    answers = await asyncio.gather(*(anonymous.post_form("/reset", {"email": client.user.email}) for _ in range(12)))
    assert sorted(r.status_code for r in answers) == [200] * 3 + [429] * 9
    tokens = await db.scalar(select(func.count()).select_from(OneTimeToken))
    assert tokens == 3


async def test_parallel_sign_ups_from_one_address_stop_at_ten(anonymous, db, smtp_server):
    await anonymous.csrf_token()
    answers = await asyncio.gather(
        *(
            anonymous.post_form(
                "/signup",
                {
                    "name": f"Burst {n}",
                    "email": f"burst{n}@example.test",
                    "password": "saffron tundra piano",
                    "role": "client",
                },
            )
            for n in range(14)
        )
    )
    assert sorted(r.status_code for r in answers) == [303] * 10 + [429] * 4
    assert await db.scalar(select(func.count()).select_from(User)) == 10
    assert len(await smtp_server.wait_for(10)) == 10  # one confirmation link per new account, no more
