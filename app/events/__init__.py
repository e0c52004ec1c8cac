"""Live events: the transactional outbox, its dispatcher and the per-user SSE stream."""

from app.events.services import publish

__all__ = ["publish"]
