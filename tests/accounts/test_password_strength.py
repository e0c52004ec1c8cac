"""The live password hint: scored on its own thread, never queued behind a full set of checks,
limited per address; the forms' own checks run off the event loop too."""

import asyncio
import threading

from app.accounts import passwords_policy
from tests.accounts.helpers import reset_token
from tests.accounts.test_settings import confirm
from tests.support.factories import PASSWORD

# About a second of zxcvbn CPU time for 72 characters of l33t substitutions.
CRAFTED = ("4@8(<{[|1!|_0$5+7%2" * 5)[:72]


def spy_on_zxcvbn(monkeypatch, *, gate: threading.Event | None = None) -> list[str]:
    """Record the thread each scoring runs on (optionally holding it until `gate` opens)."""
    threads: list[str] = []
    real = passwords_policy.zxcvbn

    def recording(password, user_inputs=None):
        threads.append(threading.current_thread().name)
        if gate is not None:
            assert gate.wait(20), "the test never opened the gate"
        return real(password, user_inputs=user_inputs)

    monkeypatch.setattr(passwords_policy, "zxcvbn", recording)
    return threads


async def hint(c, password: str, **fields):
    return await c.htmx("POST", "/signup/password-strength", data={"password": password, **fields})


async def test_the_hint_shows_the_strength_of_a_crafted_72_character_password(anonymous):
    response = await hint(anonymous, CRAFTED, name="Ada", email="ada@example.test")
    assert response.status_code == 200
    assert "Strength:" in response.text


async def test_the_hint_is_scored_off_the_event_loop(anonymous, monkeypatch):
    threads = spy_on_zxcvbn(monkeypatch)
    response = await hint(anonymous, "marmalade velvet comet")
    assert response.status_code == 200 and "Strength:" in response.text
    assert threads and all(name.startswith("password-strength") for name in threads), threads
    assert threading.main_thread().name not in threads


async def test_sign_up_reset_and_change_score_off_the_event_loop(app, anonymous, client, db, monkeypatch):
    threads = spy_on_zxcvbn(monkeypatch)
    signed_up = await anonymous.post_form(
        "/signup",
        {"name": "Ada Loop", "email": "ada@example.test", "password": "marmalade velvet comet", "role": "client"},
    )
    assert signed_up.status_code == 303

    await confirm(client)
    changed = await client.post_form(
        "/settings/password", {"current_password": PASSWORD, "new_password": "saffron tundra piano"}
    )
    assert changed.status_code == 303, changed.text[:500]

    token = await reset_token(db, app, client.user.id)
    await db.commit()
    reset = await anonymous.post_form(f"/reset/{token}", {"password": "lantern quiet harbour"})
    assert reset.status_code == 303, reset.text[:500]
    assert len(threads) == 3 and all(name.startswith("password-strength") for name in threads), threads


async def test_when_every_check_is_taken_the_hint_answers_at_once(anonymous, monkeypatch):
    gate = threading.Event()
    spy_on_zxcvbn(monkeypatch, gate=gate)
    token = await anonymous.csrf_token()
    waiting = [
        asyncio.create_task(hint(anonymous, f"marmalade velvet comet {n}")) for n in range(passwords_policy.MAX_CHECKS)
    ]
    try:
        slots = passwords_policy._slots_for(asyncio.get_running_loop())
        for _ in range(200):
            if slots.locked():
                break
            await asyncio.sleep(0.02)
        assert slots.locked(), "the first checks never took every slot"

        # The loop is free and the next hint does not queue: it says the check comes later.
        busy = await asyncio.wait_for(hint(anonymous, "another password entirely"), timeout=5)
        assert busy.status_code == 200
        assert "We&#39;ll check how strong this password is" in busy.text or "We'll check how strong" in busy.text
    finally:
        gate.set()
    answered = await asyncio.gather(*waiting)
    assert all(r.status_code == 200 and "Strength:" in r.text for r in answered)
    assert token  # the same browser kept its token throughout


async def test_the_hint_is_limited_per_address(anonymous):
    for _ in range(60):
        assert (await hint(anonymous, "")).status_code == 200
    limited = await hint(anonymous, "marmalade velvet comet")
    assert limited.status_code == 429
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert "still checked when you create your account" in limited.headers["hx-trigger"]


async def test_the_hint_says_when_a_password_is_over_200_characters(anonymous):
    response = await hint(anonymous, "x7#Kq" * 41)
    assert response.status_code == 200
    assert "Use at most 200 characters." in response.text


async def test_the_sign_up_check_waits_for_a_slot_instead_of_failing(anonymous, monkeypatch):
    gate = threading.Event()
    spy_on_zxcvbn(monkeypatch, gate=gate)
    held = [
        asyncio.create_task(hint(anonymous, f"marmalade velvet comet {n}")) for n in range(passwords_policy.MAX_CHECKS)
    ]
    signing_up = asyncio.create_task(
        anonymous.post_form(
            "/signup",
            {"name": "Ada Wait", "email": "wait@example.test", "password": "saffron tundra piano", "role": "client"},
        )
    )
    await asyncio.sleep(0.3)
    assert not signing_up.done()
    gate.set()
    await asyncio.gather(*held)
    assert (await signing_up).status_code == 303
