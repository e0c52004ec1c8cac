"""`pactline` commands. Each uses the embedded services under .data/ when DATABASE_URL /
REDIS_URL are unset, starting and stopping them itself unless `make dev` already runs them."""

from __future__ import annotations

import asyncio
import functools
import os
import sys
from collections.abc import Callable

import click

from app.config import ConfigurationError, data_dir, load_settings
from app.errors import NotFound
from app.platform.embedded import ServiceError


def with_services(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from app.platform.embedded import services_for

        with services_for(data_dir()):
            return func(*args, **kwargs)

    return wrapper


def run_with_resources(coro_factory):
    """Open the process resources, run `coro_factory(resources)`, close them."""
    from app.accounts.passwords import configure_password_hashing
    from app.platform.logging import configure_logging
    from app.platform.resources import Resources

    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    configure_password_hashing(settings.password_hash_profile)

    async def main():
        resources = Resources.create(settings)
        try:
            return await coro_factory(resources)
        finally:
            await resources.close()

    return asyncio.run(main())


class _Commands(click.Group):
    """Refusals to start (configuration, embedded services, a busy port) end in one clear
    message and a non-zero exit, not a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (ConfigurationError, ServiceError) as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Commands)
def main() -> None:
    """Pactline operations."""


@main.command()
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "8000")), show_default="8000 or $PORT")
def dev(port: int) -> None:
    """Run web + worker on embedded Postgres and Redis with demo data."""
    from app.platform.devserver import run_dev

    run_dev(port)


@main.command()
@with_services
def migrate() -> None:
    """Apply database migrations."""
    from app.platform.migrate import upgrade

    upgrade(load_settings())
    click.echo("Database is up to date.")


@main.command("demo-seed")
@with_services
def demo_seed() -> None:
    """Create the demo accounts and data (development only; safe to run twice)."""
    from app.platform.migrate import upgrade
    from app.platform.seed import demo_seed as seed

    upgrade(load_settings())
    created = run_with_resources(seed)
    click.echo(f"Demo data ready ({len(created)} new record(s)).")


@main.command()
@click.option("--concurrency", default=10, show_default=True)
@with_services
def worker(concurrency: int) -> None:
    """Run the background worker (jobs, timers, outbox delivery)."""
    from app.worker.runner import make_worker

    async def run(resources):
        await make_worker(resources, concurrency=concurrency).start()

    run_with_resources(run)


@main.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--name", prompt=True)
@click.password_option(confirmation_prompt=True)
@with_services
def create_admin(email: str, name: str, password: str) -> None:
    """Create an admin account (the only way besides another admin)."""
    from app.accounts.models import Role
    from app.accounts.services import create_user
    from app.errors import DomainError

    async def run(resources):
        from app.accounts.emails import notify

        async with resources.sessionmaker() as session, session.begin():
            user = await create_user(session, email=email, name=name, role=Role.admin, password=password, verified=True)
            # The new admin hears about it (the worker sends it): an admin nobody expected is noticed.
            notify(session, user, "admin_created")

    if len(password) < 12:
        click.echo("The password must be at least 12 characters.", err=True)
        sys.exit(1)
    try:
        run_with_resources(run)
    except DomainError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    click.echo(f"Admin {email} created. They must set up two-step sign-in before the console opens.")


@main.group()
def ledger() -> None:
    """The audit chain and the money ledger."""


@ledger.command("verify")
@with_services
def ledger_verify() -> None:
    """Walk the whole audit chain and check the money ledger; exit 0 when both are intact, 1
    naming the first broken seq or journal entry.

    The ledger check: every journal entry's postings sum to zero per currency and the entry is
    on the chain, every account's balance column equals the sum of its postings, and no escrow
    is below zero."""
    from app.audit.chain import verify
    from app.escrow.ledger import verify as verify_ledger

    async def run(resources):
        async with resources.sessionmaker() as session:
            return await verify(session), await verify_ledger(session)

    verdict, money = run_with_resources(run)
    intact = True
    if verdict.ok:
        click.echo(f"Audit chain intact: {verdict.checked} events, head {verdict.head}.")
    else:
        intact = False
        click.echo(
            f"Audit chain BROKEN at seq {verdict.broken_seq}: {verdict.reason} ({verdict.checked} events before it are intact).",
            err=True,
        )
    if money.ok:
        click.echo(
            f"Money ledger intact: {money.entries} journal entries checked, each sums to zero per currency; "
            f"{money.accounts} accounts match their postings, no escrow below zero."
        )
    else:
        intact = False
        where = (
            f"journal entry {money.broken_entry_id}" if money.broken_entry_id else f"account {money.broken_account_id}"
        )
        click.echo(
            f"Money ledger BROKEN at {where}: {money.reason} ({money.entries} journal entries checked).", err=True
        )
    if not intact:
        sys.exit(1)


@main.command()
@click.option(
    "--day", "day_text", metavar="YYYY-MM-DD", default=None, help="The UTC day to check (default: yesterday)."
)
@with_services
def reconcile(day_text: str | None) -> None:
    """Compare the money ledger with the payment provider's records for one day; exit 0 when they
    agree, 1 on a mismatch (each differing row is printed) or when the provider did not answer."""
    from datetime import date, timedelta

    from sqlalchemy import select

    from app.db import utcnow
    from app.payments.models import ReconciliationMismatch, ReconciliationStatus
    from app.payments.providers import get_provider
    from app.payments.reconciliation import FutureDay, day_words
    from app.payments.reconciliation import reconcile as run_reconciliation
    from app.worker.outbox import hand_over_now

    try:
        day = date.fromisoformat(day_text) if day_text else utcnow().date() - timedelta(days=1)
    except ValueError:
        raise click.BadParameter(f"{day_text!r} is not a date like 2026-11-30.", param_hint="--day") from None

    async def run(resources):
        provider = get_provider(resources.settings, resources.sessionmaker)
        result = await run_reconciliation(resources.sessionmaker, provider, day)
        await hand_over_now(resources.sessionmaker, resources.queue)  # the admins' e-mails, if any
        async with resources.sessionmaker() as session:
            rows = (
                await session.scalars(
                    select(ReconciliationMismatch)
                    .where(ReconciliationMismatch.run_id == result.id)
                    .order_by(ReconciliationMismatch.id)
                )
            ).all()
        return result, rows

    try:
        result, rows = run_with_resources(run)
    except FutureDay as exc:
        raise click.BadParameter(str(exc), param_hint="--day") from None
    counts = ", ".join(f"{n} {name}" for name, n in result.checked.items())
    if result.status == ReconciliationStatus.clean:
        click.echo(
            f"Reconciliation of {day_words(day)} ({result.provider}): clean — the ledger and the provider agree ({counts})."
        )
        return
    if result.status == ReconciliationStatus.failed:
        click.echo(f"Reconciliation of {day_words(day)} ({result.provider}) FAILED: {result.error}", err=True)
        sys.exit(1)
    click.echo(
        f"Reconciliation of {day_words(day)} ({result.provider}): MISMATCH — {len(rows)} row(s) differ ({counts}).",
        err=True,
    )
    for row in rows:
        click.echo(f"- {row.kind} {row.reference or ''} {row.provider_object_id or ''}".rstrip(), err=True)
        click.echo(f"    our books: {row.ledger}", err=True)
        click.echo(f"    provider:  {row.provider_says}", err=True)
        if row.note:
            click.echo(f"    {row.note}", err=True)
    click.echo("The admins were alerted; see /admin/reconciliation.", err=True)
    sys.exit(1)


@main.group()
def jobs() -> None:
    """Background jobs that failed for good."""


@jobs.command("failed")
@with_services
def jobs_failed() -> None:
    """List failed jobs that have not been re-run."""
    from sqlalchemy import select

    from app.platform.secret_links import redact
    from app.worker.models import FailedJob

    async def run(resources):
        async with resources.sessionmaker() as session:
            return (await session.scalars(select(FailedJob).order_by(FailedJob.id.desc()))).all()

    rows = run_with_resources(run)
    if not rows:
        click.echo("No failed jobs.")
        return
    for row in rows:
        state = f"re-run as {row.retried_job_key}" if row.retried_at else "waiting"
        last_line = redact((row.error.strip().splitlines() or [""])[-1])
        click.echo(
            f"{row.id}\t{row.created_at:%Y-%m-%d %H:%M}\t{row.function}\t{row.attempts} attempts\t{state}\t{last_line}"
        )


@jobs.command("retry")
@click.argument("failed_id", type=int)
@with_services
def jobs_retry(failed_id: int) -> None:
    """Re-run a failed job with its original arguments."""
    from app.worker.outbox import hand_over_now
    from app.worker.runner import retry_failed

    async def run(resources):
        key = await retry_failed(resources.sessionmaker, failed_id)
        await hand_over_now(resources.sessionmaker, resources.queue)
        return key

    try:
        key = run_with_resources(run)
    except NotFound as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"Queued again as {key}.")


@main.command("send-test-email")
@click.argument("to")
@with_services
def send_test_email(to: str) -> None:
    """Queue a test e-mail to TO (checks the worker and SMTP settings end to end)."""
    from app.mail.services import send_email_later
    from app.worker.outbox import hand_over_now

    async def run(resources):
        async with resources.sessionmaker() as session, session.begin():
            send_email_later(
                session, to=to, subject="Pactline test message", template="test_message", context={"name": to}
            )
        await hand_over_now(resources.sessionmaker, resources.queue)

    run_with_resources(run)
    click.echo(f"Queued a test message to {to}; the worker sends it.")


if __name__ == "__main__":
    main()
