"""Specific exception types for the control plane.

Each error carries a stable ``code`` and its message in both languages. Only the CLI and the web
layer turn them into text for people (see :func:`hub.i18n.pick`); the core never prints.
"""

from __future__ import annotations


class EnclaveError(Exception):
    """Base class: a refusal or failure with a message in zh-CN and en."""

    code = "error"

    def __init__(self, en: str, zh: str, *, code: str | None = None) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh
        if code:
            self.code = code


class NotFound(EnclaveError):
    code = "not_found"


class AlreadyExists(EnclaveError):
    code = "already_exists"


class ValidationError(EnclaveError):
    """Bad input: names the field that is wrong."""

    code = "invalid"


class PolicyViolation(EnclaveError):
    """The request is well-formed but the rules (seed, classification) forbid it."""

    code = "policy"


class InvalidTransition(EnclaveError):
    code = "invalid_transition"


class PermissionDenied(EnclaveError):
    code = "permission_denied"


class IntegrityError(EnclaveError):
    """Stored data does not match its checksum or chain."""

    code = "integrity"
