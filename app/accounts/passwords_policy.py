"""What makes an acceptable password: 12+ characters, not a known common one, not guessable."""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 200  # argon2 copes with more; a cap keeps hashing cost bounded
# zxcvbn raises ValueError above 72 characters, and its cost grows with length (a crafted
# 72-character password takes about a second): the first 72 characters are what gets scored.
SCORED_LENGTH = 72
USER_INPUT_LENGTH = 100
STRENGTH_WORDS = ["Very weak", "Weak", "Fair", "Strong", "Very strong"]

# zxcvbn is pure Python and stores the user inputs in a module-level dictionary while it scores,
# so checks run one at a time on their own thread: never on the event loop, never racing each
# other, never taking the default pool's threads that argon2 needs. At most MAX_CHECKS wait or
# run at once per process; the live hint does not queue behind them (`wait=False`).
MAX_CHECKS = 4
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="password-strength")
_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


class StrengthBusy(Exception):
    """Every password-check slot is taken (only raised when the caller chose not to wait)."""


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


@dataclass(frozen=True)
class Strength:
    score: int  # 0..4
    label: str
    hint: str


def strength(password: str, *, user_inputs: tuple[str, ...] = ()) -> Strength:
    """zxcvbn's verdict on the first SCORED_LENGTH characters (CPU-bound: see `strength_off_loop`)."""
    result = zxcvbn(password[:SCORED_LENGTH], user_inputs=[u[:USER_INPUT_LENGTH] for u in user_inputs if u])
    feedback = result["feedback"]
    hint = feedback.get("warning") or " ".join(feedback.get("suggestions") or []) or ""
    return Strength(result["score"], STRENGTH_WORDS[result["score"]], hint)


def _slots_for(loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(MAX_CHECKS)
    return slots


async def strength_off_loop(password: str, *, user_inputs: tuple[str, ...] = (), wait: bool = True) -> Strength:
    """`strength` on the password-check thread. With `wait=False` raise StrengthBusy at once when
    all slots are taken. A slot is given back when the check ends, not when the caller stops
    waiting, so requests that go away cannot pile up work behind the bound."""
    loop = asyncio.get_running_loop()
    slots = _slots_for(loop)
    if not wait and slots.locked():
        raise StrengthBusy
    await slots.acquire()
    try:
        job = _EXECUTOR.submit(partial(strength, password, user_inputs=user_inputs))
    except BaseException:
        slots.release()
        raise
    job.add_done_callback(lambda _: _release(loop, slots))
    return await asyncio.wrap_future(job)


def _release(loop: asyncio.AbstractEventLoop, slots: asyncio.Semaphore) -> None:
    if not loop.is_closed():
        loop.call_soon_threadsafe(slots.release)


async def password_problems(password: str, *, user_inputs: tuple[str, ...] = ()) -> list[str]:
    """Messages to show next to the password field; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if password.lower() in _common():
        return ["This password is one of the most common ones. Choose something only you would think of."]
    found = await strength_off_loop(password, user_inputs=user_inputs)
    if found.score < 2:
        return ["This password is too easy to guess. " + (found.hint or "Add a few more uncommon words.")]
    return []
