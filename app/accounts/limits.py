"""The rate limits on account actions (DESIGN §5), and the refusal a limited person reads."""

from __future__ import annotations

from litestar import Request

from app.errors import DomainError
from app.web.ratelimit import Limit, RateLimiter, Verdict

# Failed sign-ins per (IP, e-mail) pair, and per IP at a higher ceiling.
SIGN_IN_PER_PAIR = Limit("signin-pair", attempts=10, window_seconds=15 * 60)
SIGN_IN_PER_IP = Limit("signin-ip", attempts=100, window_seconds=15 * 60)
SIGN_UP_PER_IP = Limit("signup-ip", attempts=10, window_seconds=60 * 60)
RESET_PER_IP = Limit("reset-ip", attempts=10, window_seconds=60 * 60)
RESET_PER_EMAIL = Limit("reset-email", attempts=3, window_seconds=60 * 60)
MFA_PER_USER = Limit("mfa-user", attempts=5, window_seconds=15 * 60)
PASSWORD_HINTS_PER_IP = Limit("password-hint-ip", attempts=60, window_seconds=60)


def limiter(request: Request) -> RateLimiter:
    return RateLimiter(request.app.state.redis)


def minutes(verdict: Verdict) -> str:
    return f"{verdict.minutes} minute{'s' if verdict.minutes != 1 else ''}"


def too_many(verdict: Verdict) -> str:
    return f"Too many attempts. Please try again in {minutes(verdict)}."


class TooManyAttempts(DomainError):
    """A limit refused the attempt (nothing else was done): the page answers 429 with Retry-After."""

    status_code = 429

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(too_many(verdict))
        self.verdict = verdict

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.verdict.retry_after)}
