"""Where the Salesforce settings come from: the environment, else (DEV_TOOLS) the running sandbox.

The sandbox state file is read at call time (not at settings import), so a process started
before the sandbox — a test session, a worker — still finds it. A deploy (DEV_TOOLS off) never
reads it: a stray file cannot point production at a development org.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from marketo_sync.salesforce.errors import SalesforceConfigError


@dataclass(frozen=True)
class SalesforceConfig:
    login_url: str
    client_id: str
    client_secret: str = field(repr=False)
    username: str = ""
    password: str = field(default="", repr=False)
    ca_bundle: str = ""
    proxy: str = ""
    api_version: str = "59.0"
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    api_reserve: int = 1000

    def __post_init__(self) -> None:
        """The client secret and the password go to the login URL: refuse it before any call
        unless it is https and free of credentials (which the message never repeats)."""
        if self.login_url:
            require_https_url(self.login_url, "The Salesforce login URL (SALESFORCE_LOGIN_URL)")


def require_https_url(url: str, what: str) -> None:
    """Raise SalesforceConfigError unless `url` is https with a host and no user:password@."""
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        raise SalesforceConfigError(f"{what} is not a valid URL") from None
    if parts.username is not None or parts.password is not None:
        raise SalesforceConfigError(
            f"{what} must not carry credentials (user:password@); set them in their own settings"
        )
    if parts.scheme != "https" or not host:
        scheme = repr(parts.scheme) if parts.scheme else "none"
        raise SalesforceConfigError(
            f"{what} must be an https URL with a host (scheme: {scheme}); refusing to send "
            "secrets to it"
        )


def sandbox_state(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SalesforceConfigError(f"cannot read the sandbox state file {path}: {exc}") from None


def salesforce_config() -> SalesforceConfig:
    """Settings first; any unset login URL, client id/secret or CA comes from the sandbox."""
    state = {}
    if settings.DEV_TOOLS and not (settings.SALESFORCE_LOGIN_URL and settings.SALESFORCE_CLIENT_ID):
        state = sandbox_state(settings.SALESFORCE_SANDBOX_STATE)
    config = SalesforceConfig(
        login_url=settings.SALESFORCE_LOGIN_URL or state.get("url", ""),
        client_id=settings.SALESFORCE_CLIENT_ID or state.get("client_id", ""),
        client_secret=settings.SALESFORCE_CLIENT_SECRET or state.get("client_secret", ""),
        username=settings.SALESFORCE_USERNAME,
        password=settings.SALESFORCE_PASSWORD,
        ca_bundle=settings.SALESFORCE_CA_BUNDLE or state.get("ca_path", ""),
        proxy=settings.SALESFORCE_PROXY,
        api_version=settings.SALESFORCE_API_VERSION,
        connect_timeout=settings.SALESFORCE_CONNECT_TIMEOUT,
        read_timeout=settings.SALESFORCE_READ_TIMEOUT,
        api_reserve=settings.SALESFORCE_API_RESERVE,
    )
    if not config.login_url or not config.client_id or not config.client_secret:
        message = (
            "Salesforce is not configured: set SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID and "
            "SALESFORCE_CLIENT_SECRET"
        )
        if settings.DEV_TOOLS:
            message += (
                ", or start the sandbox (manage.py sfdc_sandbox), whose state file is expected "
                f"at {settings.SALESFORCE_SANDBOX_STATE}"
            )
        raise SalesforceConfigError(message + ".")
    if config.ca_bundle and not Path(config.ca_bundle).is_file():
        raise SalesforceConfigError(f"SALESFORCE_CA_BUNDLE {config.ca_bundle} is not a file")
    return config
