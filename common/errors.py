"""The one error shape every channel (API, web, chat) shows for a refused request."""

from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses. `code` is stable for machines, `message` is for people.

    Raised before anything is written (or inside the transaction that it rolls back), so a
    refused request changes nothing.
    """

    code = "refused"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return body


class NotFound(DomainError):
    code = "not-found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class LockedOut(DomainError):
    """Too many failed sign-ins: the account or the address waits out its cool-off."""

    code = "locked-out"
    status = 429


class QueueUnavailable(DomainError):
    """The task queue (the broker) does not answer: work a person starts now cannot start."""

    code = "queue-unavailable"
    status = 503
