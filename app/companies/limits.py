"""How many invitations a person and a company may send: each is an e-mail with text the inviter
chose, sent from our domain to any address, so without a ceiling the form relays spam."""

from __future__ import annotations

from redis.asyncio import Redis

from app.web.ratelimit import Limit, RateLimiter, Verdict

PER_USER = Limit("invitations-user", attempts=20, window_seconds=3600)
PER_COMPANY = Limit("invitations-company", attempts=100, window_seconds=24 * 3600)


async def count_invitation(redis: Redis, user_id: int, company_id: int) -> tuple[Verdict, str]:
    """Count one invitation against the person's hourly and the company's daily allowance.
    Returns the verdict and, when it is a refusal, the message to show."""
    limiter = RateLimiter(redis)
    verdict = await limiter.hit(PER_USER, str(user_id))
    if not verdict.allowed:
        return verdict, (
            f"You have sent {PER_USER.attempts} invitations in the last hour. "
            f"You can send more in {verdict.minutes} minutes."
        )
    verdict = await limiter.hit(PER_COMPANY, str(company_id))
    if not verdict.allowed:
        hours = max(1, round(verdict.retry_after / 3600))
        return verdict, (
            f"Your company has sent {PER_COMPANY.attempts} invitations today. "
            f"You can send more in about {hours} hour{'s' if hours != 1 else ''}."
        )
    return verdict, ""
