"""What can go wrong talking to Salesforce, sorted by what the caller should do about it."""


class SalesforceError(Exception):
    """Base class; messages are safe to show and log (no secrets, no tokens)."""


class SalesforceConfigError(SalesforceError):
    """Nothing (or something unusable) is configured: fix the settings."""


class SalesforceAuthError(SalesforceError):
    """The org refused our credentials: fix the connected app or the user."""


class SalesforceUnavailable(SalesforceError):
    """Transient failures outlasted the retries: try again next cycle."""


class SalesforceApiLimitReached(SalesforceError):
    """REQUEST_LIMIT_EXCEEDED, or the daily budget fell below the reserve: pause, lose nothing."""


class SalesforceRequestError(SalesforceError):
    """Salesforce refused this request for good (bad query, invalid field, ...)."""

    def __init__(self, message: str, error_code: str = "") -> None:
        super().__init__(message)
        self.error_code = error_code
