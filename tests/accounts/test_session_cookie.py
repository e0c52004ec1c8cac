"""A session cookie that is not one we issued is ignored and cleared, and never becomes a Redis key."""

import httpx

from app.accounts.sessions import SESSION_COOKIE


async def test_hostile_session_cookies_are_cleared_without_touching_redis(app):
    hostile = [
        "x" * 1_000_000,
        "null",
        "",
        "../../etc/passwd",
        "A" * 64,  # hex, but not as we write it
        "0" * 63,
        "0" * 65,
        "%00" * 30,
        "é" * 64,
        "sessions:*",
    ]
    keys_before = await app.state.redis.dbsize()
    for value in hostile:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
            headers = {"Cookie": f"{SESSION_COOKIE}={value}".encode()}
            for path in ("/", "/login", "/dashboard"):
                response = await browser.get(path, headers=headers)
                assert response.status_code in (200, 303), (value[:20], path, response.status_code)
                if path == "/dashboard":
                    assert response.headers["location"].startswith("/login")
    assert await app.state.redis.dbsize() == keys_before, "no key was created from a cookie value"


async def test_an_unknown_but_well_formed_id_is_forgotten_not_adopted(app):
    unknown = "ab" * 32
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
        response = await browser.get("/", headers={"Cookie": f"{SESSION_COOKIE}={unknown}"})
        assert response.status_code == 200
        (cleared,) = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")]
        assert cleared.startswith(f"{SESSION_COOKIE}=null;")
    assert not await app.state.redis.exists(f"sessions:{unknown}")
