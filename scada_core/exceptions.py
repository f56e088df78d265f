"""Errors raised by the core; each carries a message fit for a user."""
from __future__ import annotations


class OpenPrepayError(Exception):
    """Base of every error the core raises on purpose."""


class ConfigError(OpenPrepayError):
    """The configuration is wrong; ``errors`` holds one line per mistake."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class DatabaseUnavailable(OpenPrepayError):
    """The database cannot be opened, migrated or written; the message names the cause and the fix."""


class IntegrationNotFound(OpenPrepayError):
    """No integration folder has this domain."""


class DependencyError(OpenPrepayError):
    """An integration's dependencies are missing or form a cycle."""


class ServiceNotFound(OpenPrepayError):
    """No handler is registered for domain.service."""

    def __init__(self, domain: str, service: str) -> None:
        super().__init__(f"service {domain}.{service} not found")
        self.domain = domain
        self.service = service


class ServiceValidationError(OpenPrepayError):
    """Service data failed its schema."""


class ServiceRefused(OpenPrepayError):
    """A guard refused a service call: the caller may not do this now (HTTP 409)."""


class EntityNotFound(OpenPrepayError):
    """A service call named an entity that does not exist."""


class Forbidden(OpenPrepayError):
    """The caller's role or buildings do not allow this (HTTP 403)."""
