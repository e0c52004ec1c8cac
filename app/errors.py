"""Domain errors: raised by services, turned into clear messages by the web layer."""

from __future__ import annotations


class DomainError(Exception):
    """An action that is not allowed in the current state (HTTP 409)."""

    status_code = 409
    title = "That can't be done right now"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FormError(Exception):
    """Input that fails validation: the page re-renders its form with messages (HTTP 422)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors


class NotFound(LookupError):
    """Not there, or not the actor's to see: the web layer answers 404 either way. The one way to
    say it (0026): services and controllers raise it and let it propagate."""
