"""What makes an acceptable password: 12+ characters, not a known common one, not guessable."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MAX_LENGTH = 200  # argon2 copes with more; a cap keeps hashing cost bounded
STRENGTH_WORDS = ["Very weak", "Weak", "Fair", "Strong", "Very strong"]


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


@dataclass(frozen=True)
class Strength:
    score: int  # 0..4
    label: str
    hint: str


def strength(password: str, *, user_inputs: tuple[str, ...] = ()) -> Strength:
    result = zxcvbn(password[:MAX_LENGTH], user_inputs=[u for u in user_inputs if u])
    feedback = result["feedback"]
    hint = feedback.get("warning") or " ".join(feedback.get("suggestions") or []) or ""
    return Strength(result["score"], STRENGTH_WORDS[result["score"]], hint)


def password_problems(password: str, *, user_inputs: tuple[str, ...] = ()) -> list[str]:
    """Messages to show next to the password field; empty when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    if password.lower() in _common():
        return ["This password is one of the most common ones. Choose something only you would think of."]
    found = strength(password, user_inputs=user_inputs)
    if found.score < 2:
        return ["This password is too easy to guess. " + (found.hint or "Add a few more uncommon words.")]
    return []
