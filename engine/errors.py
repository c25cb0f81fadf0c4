"""Errors with messages meant for people: every one names the problem and, where it can, the fix."""


class XTrustError(Exception):
    """Base class: anything the dashboard or CLI shows as a clear message, never a traceback."""


class DataError(XTrustError):
    """A dataset or an uploaded file is missing, malformed or unusable."""


class ModelError(XTrustError):
    """A model is missing, corrupt, or cannot answer the question asked of it."""


class InputError(XTrustError):
    """A parameter, document id, label or text is out of range or unusable."""


class Cancelled(XTrustError):
    """Long work was cancelled by its progress callback; no partial result is kept."""


class StorageError(XTrustError):
    """A folder XTrust reads or writes (data, models, caches, a report's --out) or standard output is
    unusable: missing where it must exist, a file where a folder is expected, unreadable or read-only."""
