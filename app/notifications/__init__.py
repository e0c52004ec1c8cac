"""Notifications: one `notify()` for every event a person should hear about (ADR 0046)."""

from app.notifications.services import notify

__all__ = ["notify"]
