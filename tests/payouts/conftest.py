"""Payouts tests reuse the payments tests' control over where the sandbox's webhooks go."""

from tests.payments.conftest import held_webhooks, webhooks_through  # noqa: F401
