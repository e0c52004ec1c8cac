"""Idempotency keys on a money-moving POST: a replay gets the first answer and moves money once,
two requests at once run the work once, a key used for something else is refused, a bad key runs
nothing, and keys go after a day.

The real money routes (fund, approve and release) wrap their work in `once`; this file drives it
through a real request to a test-only controller whose work posts a ledger entry, like theirs."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from litestar import Controller, Request, Response, post
from litestar.plugins.flash import flash
from litestar.response import Template
from sqlalchemy import func, select, update

from app.accounts.guards import CurrentUser, requires_login_admins_mfa
from app.accounts.models import Role
from app.db import DB, utcnow
from app.escrow import ledger
from app.escrow.idempotency import FIELD, IN_FLIGHT, MAX_BODY, OUT_OF_DATE, REUSED, fingerprint_of, once
from app.escrow.models import AccountKind, EntryKind, IdempotencyKey, JournalEntry
from app.escrow.tasks import purge_idempotency_keys
from app.money import Money
from app.web.forms import FormData, text
from app.web.htmx import see_other
from tests.conftest import lifespan_of, persona

URL = "/test-only/idempotency/fund"


@dataclass
class Rehearsal:
    """What the tests make the next work do: wait for a gate, or fail after writing."""

    gate: asyncio.Event | None = None
    waiting: asyncio.Event | None = None  # set when a work reaches the gate
    fail_next: bool = False
    runs: int = 0


REHEARSAL = Rehearsal()


class RehearsalController(Controller):
    """A money-moving POST like the escrow ones: its work posts a funding entry and answers 303."""

    path = "/test-only/idempotency"
    guards = [requires_login_admins_mfa]

    @post("/fund", name="test-only:idempotency-fund")
    async def fund(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        return await self._fund(request, data, db, user, scope="rehearsal:fund")

    @post("/other", name="test-only:idempotency-other")
    async def other(self, request: Request, data: FormData, db: DB, user: CurrentUser) -> Response:
        return await self._fund(request, data, db, user, scope="rehearsal:other")

    async def _fund(self, request: Request, data: dict, db, user, *, scope: str) -> Response:
        contract_id, amount, answer = text(data, "contract_id"), text(data, "amount"), text(data, "answer")

        async def work() -> Response:
            REHEARSAL.runs += 1
            clearing = await ledger.account(db, AccountKind.provider_clearing, "EUR")
            escrow = await ledger.account(db, AccountKind.escrow, "EUR", contract_id=int(contract_id))
            await ledger.post_entry(
                db,
                EntryKind.funding,
                [(clearing, Money(-int(amount), "EUR")), (escrow, Money(int(amount), "EUR"))],
                reference=f"rehearsal:{uuid.uuid4()}",
                contract_id=int(contract_id),
            )
            if REHEARSAL.gate is not None:
                if REHEARSAL.waiting is not None:
                    REHEARSAL.waiting.set()
                await REHEARSAL.gate.wait()
            if REHEARSAL.fail_next:
                REHEARSAL.fail_next = False
                raise RuntimeError("the provider fell over")
            await db.commit()
            if answer == "page":
                # A fresh key in the page: a replay that rendered again would differ.
                return Template(template_str="<p>Funded. Next form: {{ new_idempotency_key() }}</p>", status_code=201)
            if answer == "big":
                return Response("x" * (MAX_BODY + 1), media_type="text/html", headers={"HX-Trigger": "funded"})
            flash(request, "The milestone is funded.", category="success")
            return see_other(request, f"/dashboard?funded={contract_id}")

        return await once(
            request,
            user_id=user.id,
            key=data.get(FIELD),
            scope=scope,
            fingerprint={"contract_id": contract_id, "amount": amount, "answer": answer},
            work=work,
        )


@pytest.fixture(scope="module")
async def idem_app(settings):
    from app.asgi import create_app

    application = create_app(settings, extra_handlers=[RehearsalController])
    async with lifespan_of(application):
        yield application


@pytest.fixture(autouse=True)
def fresh_rehearsal():
    REHEARSAL.gate, REHEARSAL.waiting, REHEARSAL.fail_next, REHEARSAL.runs = None, None, False, 0
    yield
    if REHEARSAL.gate is not None:
        REHEARSAL.gate.set()


@pytest.fixture
async def payer(idem_app, db):
    async with persona(idem_app, db, Role.client, "payer@example.test") as c:
        yield c


@pytest.fixture
async def other_payer(idem_app, db):
    async with persona(idem_app, db, Role.client, "other.payer@example.test") as c:
        yield c


def form(books, key: str | None = "key-1", amount: int = 50_000, answer: str = "redirect") -> dict[str, str]:
    data = {"contract_id": str(books.contract.id), "amount": str(amount), "answer": answer}
    if key is not None:
        data[FIELD] = key
    return data


async def entries(db) -> int:
    return await db.scalar(select(func.count()).select_from(JournalEntry).where(JournalEntry.kind == EntryKind.funding))


async def keys(db) -> list[IdempotencyKey]:
    query = select(IdempotencyKey).order_by(IdempotencyKey.id).execution_options(populate_existing=True)
    return list(await db.scalars(query))


async def test_a_replay_gets_the_first_answer_and_moves_money_once(payer, db, books):
    first = await payer.post_form(URL, form(books))
    assert first.status_code == 303
    assert first.headers["location"] == f"/dashboard?funded={books.contract.id}"
    landed = await payer.get(first.headers["location"])
    assert "The milestone is funded." in landed.text

    again = await payer.post_form(URL, form(books))
    assert again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert REHEARSAL.runs == 1
    assert await entries(db) == 1
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == Money(50_000, "EUR")
    # The replay lands on the page too, without a second "funded" message.
    landed = await payer.get(again.headers["location"])
    assert landed.status_code == 200 and "The milestone is funded." not in landed.text

    [row] = await keys(db)
    assert (row.user_id, row.key, row.scope, row.status) == (payer.user.id, "key-1", "rehearsal:fund", "done")
    assert row.fingerprint == fingerprint_of(
        "rehearsal:fund", {"contract_id": str(books.contract.id), "amount": "50000", "answer": "redirect"}
    )
    assert row.response_status == 303 and row.finished_at is not None


async def test_a_replayed_page_is_the_same_bytes_not_a_new_rendering(payer, db, books):
    first = await payer.post_form(URL, form(books, answer="page"))
    again = await payer.post_form(URL, form(books, answer="page"))
    assert first.status_code == again.status_code == 201
    assert "Funded. Next form: " in first.text
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"] == "text/html; charset=utf-8"
    assert REHEARSAL.runs == 1 and await entries(db) == 1


async def test_an_htmx_answer_replays_its_hx_headers(payer, db, books):
    first = await payer.htmx("POST", URL, data=form(books))
    again = await payer.htmx("POST", URL, data=form(books))
    assert first.status_code == again.status_code == 200
    assert again.headers["hx-redirect"] == first.headers["hx-redirect"] == f"/dashboard?funded={books.contract.id}"
    assert await entries(db) == 1


async def test_a_body_too_large_to_keep_still_replays_its_status_and_headers(payer, db, books):
    first = await payer.post_form(URL, form(books, answer="big"))
    assert first.status_code == 200 and len(first.content) == MAX_BODY + 1  # the first answer is whole
    again = await payer.post_form(URL, form(books, answer="big"))
    assert again.status_code == 200 and again.headers["hx-trigger"] == "funded" and again.content == b""
    [row] = await keys(db)
    assert row.response_body == b"" and row.response_status == 200
    assert await entries(db) == 1


async def test_two_requests_at_once_with_one_key_run_the_work_once(payer, db, books):
    await payer.csrf_token()
    REHEARSAL.gate = asyncio.Event()
    tasks = {asyncio.create_task(payer.post_form(URL, form(books))) for _ in range(2)}
    done, pending = await asyncio.wait(tasks, timeout=15, return_when=asyncio.FIRST_COMPLETED)
    assert len(done) == 1 and len(pending) == 1
    early = done.pop().result()
    assert early.status_code == 409
    assert IN_FLIGHT in early.text
    # While the first is still working its key is in flight and no money has moved yet.
    [row] = await keys(db)
    assert row.status == "in_flight" and await entries(db) == 0

    REHEARSAL.gate.set()
    late = await asyncio.wait_for(pending.pop(), timeout=15)
    assert late.status_code == 303
    assert REHEARSAL.runs == 1 and await entries(db) == 1
    replay = await payer.post_form(URL, form(books))
    assert replay.status_code == 303 and replay.headers["location"] == late.headers["location"]


async def test_a_burst_of_identical_posts_moves_money_once(payer, db, books):
    await payer.csrf_token()
    answers = await asyncio.gather(*(payer.post_form(URL, form(books, key="burst")) for _ in range(6)))
    codes = [a.status_code for a in answers]
    assert set(codes) <= {303, 409} and 303 in codes, codes
    assert REHEARSAL.runs == 1 and await entries(db) == 1


async def test_an_htmx_duplicate_in_flight_gets_a_toast(payer, db, books):
    await payer.csrf_token()
    REHEARSAL.gate, REHEARSAL.waiting = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(payer.post_form(URL, form(books)))
    await asyncio.wait_for(REHEARSAL.waiting.wait(), timeout=15)
    second = await payer.htmx("POST", URL, data=form(books))
    assert second.status_code == 409 and IN_FLIGHT in second.headers["hx-trigger"]
    assert second.headers["hx-reswap"] == "none"
    REHEARSAL.gate.set()
    assert (await first).status_code == 303
    assert await entries(db) == 1


async def test_a_key_used_for_something_else_is_refused(payer, db, books):
    assert (await payer.post_form(URL, form(books, amount=50_000))).status_code == 303
    other_amount = await payer.post_form(URL, form(books, amount=70_000))
    assert other_amount.status_code == 422
    assert REUSED in other_amount.text
    other_action = await payer.post_form("/test-only/idempotency/other", form(books, amount=50_000))
    assert other_action.status_code == 422
    assert REUSED in other_action.text
    assert REHEARSAL.runs == 1 and await entries(db) == 1
    assert await ledger.escrow_balance(db, books.contract.id, "EUR") == Money(50_000, "EUR")


@pytest.mark.parametrize(
    "key",
    [None, "", "with space", "nul\x00byte", "ключ", "é", "a" * 256, "a" * 1_000_000, "semi;colon", "line\nbreak"],
    ids=["missing", "empty", "space", "nul", "cyrillic", "accent", "256-chars", "1-MB", "semicolon", "newline"],
)
async def test_a_missing_or_malformed_key_runs_nothing(payer, db, books, key):
    answer = await payer.post_form(URL, form(books, key=key))
    assert answer.status_code == 400
    # A NUL byte never reaches a handler: the app refuses control characters in any form first.
    assert (OUT_OF_DATE if "\x00" not in (key or "") else "invisible control character") in answer.text
    assert REHEARSAL.runs == 0 and await entries(db) == 0
    assert await keys(db) == []


async def test_a_key_may_be_255_characters_of_letters_digits_and_punctuation(payer, db, books):
    key = ("Ab9-_.:" * 40)[:255]
    assert (await payer.post_form(URL, form(books, key=key))).status_code == 303
    assert [k.key for k in await keys(db)] == [key]


async def test_keys_are_per_user(payer, other_payer, db, books):
    mine = await payer.post_form(URL, form(books, key="shared"))
    theirs = await other_payer.post_form(URL, form(books, key="shared"))
    assert mine.status_code == theirs.status_code == 303
    assert REHEARSAL.runs == 2 and await entries(db) == 2
    assert sorted(k.user_id for k in await keys(db)) == sorted([payer.user.id, other_payer.user.id])
    # A different fingerprint under another user's key is not a conflict either.
    assert (await other_payer.post_form(URL, form(books, key="mine-only", amount=1))).status_code == 303


async def test_work_that_fails_releases_the_key_and_a_retry_runs(payer, db, books):
    REHEARSAL.fail_next = True
    failed = await payer.post_form(URL, form(books))
    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.text
    assert await keys(db) == [] and await entries(db) == 0  # its transaction rolled back: nothing happened

    retry = await payer.post_form(URL, form(books))
    assert retry.status_code == 303
    assert REHEARSAL.runs == 2 and await entries(db) == 1
    assert [k.status for k in await keys(db)] == ["done"]


async def test_the_purge_deletes_keys_older_than_a_day_only(payer, app, db, books):
    for key in ("old", "young", "stuck"):
        assert (await payer.post_form(URL, form(books, key=key))).status_code == 303
    ages = {"old": timedelta(hours=24, minutes=1), "young": timedelta(hours=23), "stuck": timedelta(hours=30)}
    for key, age in ages.items():
        await db.execute(update(IdempotencyKey).where(IdempotencyKey.key == key).values(created_at=utcnow() - age))
    await db.execute(update(IdempotencyKey).where(IdempotencyKey.key == "stuck").values(status="in_flight"))
    await db.commit()

    assert await purge_idempotency_keys({"sessionmaker": app.state.sessionmaker}) == 2
    assert [k.key for k in await keys(db)] == ["young"]
    assert await entries(db) == 3  # only keys go; the money moved stays


async def test_the_form_helper_renders_a_fresh_valid_key_each_time(idem_app):
    env = idem_app.template_engine.engine
    page = env.from_string('{% import "components/forms.html" as forms %}{{ forms.idempotency_input() }}')
    first, second = page.render(), page.render()
    assert first.startswith('<input type="hidden" name="idempotency_key" value="')
    assert first != second
    from app.escrow.idempotency import valid_key

    assert valid_key(first.split('value="')[1].rstrip('">'))
