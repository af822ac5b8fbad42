"""Domain exceptions that services raise and the edges (views, CLI, API) turn into messages."""


class DomainError(Exception):
    """A business rule was not met. ``str(error)`` is a message fit for the user."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class PermissionDenied(DomainError):
    status_code = 403
