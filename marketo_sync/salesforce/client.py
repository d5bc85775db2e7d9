"""The one way this project talks to Salesforce: simple-salesforce over a verified session.

We log in ourselves (POST `{login_url}/services/oauth2/token`, the OAuth token endpoint) and use
simple-salesforce in session-id mode, which never refreshes a token: `call()` re-logs in once on
a 401, retries transient faults with bounded exponential backoff and jitter, turns
`REQUEST_LIMIT_EXCEEDED` and the budget reserve into `SalesforceApiLimitReached`, and counts every
API call from the responses themselves (no extra `/limits` call).
"""

import hashlib
import logging
import random
import re
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import certifi
import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from marketo_sync.salesforce.config import SalesforceConfig, require_https_url, salesforce_config
from marketo_sync.salesforce.errors import (
    SalesforceApiLimitReached,
    SalesforceAuthError,
    SalesforceRequestError,
    SalesforceUnavailable,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

TRANSIENT_STATUS = {500, 502, 503, 504}
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION"}
LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
TRANSPORT_ERRORS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

# Access tokens are reused across cycles (a worker runs many) until Salesforce says 401.
_token_cache: dict[tuple[str, str, str], tuple[str, str]] = {}
_token_lock = threading.Lock()


class LoginUnavailable(SalesforceUnavailable):
    """The token endpoint could not be reached or answered 5xx: retried like any call."""


class TimeoutSession(requests.Session):
    """simple-salesforce does not pass a timeout on every call; this session always has one."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


def ca_bundle_path(extra_ca: str) -> str:
    """The public CAs (certifi) plus an extra one, in one file: verification is never off."""
    if not extra_ca:
        return certifi.where()
    public = Path(certifi.where()).read_bytes()
    extra = Path(extra_ca).read_bytes()
    digest = hashlib.sha256(public + extra).hexdigest()[:16]
    bundle = Path(tempfile.gettempdir()) / f"marketo-sync-ca-{digest}.pem"
    if not bundle.exists():
        partial = bundle.with_suffix(f".{threading.get_ident()}.tmp")
        partial.write_bytes(public + b"\n" + extra)
        partial.replace(bundle)
    return str(bundle)


def error_code(exc: Exception) -> str:
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("errorCode", ""))
    return ""


def error_message(exc: Exception) -> str:
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return str(content[0].get("message", "")).strip()
    return str(exc)


def raise_for_retry(response: requests.Response, url: str) -> None:
    """Map a raw response onto the exceptions `call` knows how to retry, re-login or pause on."""
    status = response.status_code
    if status == 401 or (status == 500 and b"INVALID_SESSION_ID" in response.content):
        raise SalesforceExpiredSession(url, status, "request", response.content)
    if status == 403 and b"REQUEST_LIMIT_EXCEEDED" in response.content:
        raise SalesforceRefusedRequest(url, status, "request", response_content(response))
    if status in TRANSIENT_STATUS and b"<faultcode>" not in response.content:
        raise SalesforceGeneralError(url, status, "request", response_content(response))


def subrequest_error(status: int, url: str, content: Any) -> SalesforceError:
    """A failed composite subrequest as the exception simple-salesforce raises for that status,
    so `call` re-logs in, retries or reports it as for a direct request."""
    kinds: dict[int, type[SalesforceError]] = {
        400: SalesforceMalformedRequest, 401: SalesforceExpiredSession,
        403: SalesforceRefusedRequest, 404: SalesforceResourceNotFound,
    }
    if status in kinds:
        return kinds[status](url, status, "composite", content)
    return SalesforceGeneralError(url, status, "composite", content)


def response_content(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class SalesforceClient:
    """A logged-in connection with retries, re-login and API accounting."""

    def __init__(self, config: SalesforceConfig) -> None:
        self.config = config
        self.session = TimeoutSession((config.connect_timeout, config.read_timeout))
        self.session.trust_env = False  # env CA/proxy variables would override our settings
        self.session.verify = ca_bundle_path(config.ca_bundle)
        if config.proxy:
            self.session.proxies = {"https": config.proxy}
        self.session.hooks["response"].append(self._account_for)
        self.api_calls = 0
        self.api_used: int | None = None
        self.api_limit: int | None = None
        self._sf: Salesforce | None = None

    @classmethod
    def from_settings(cls) -> "SalesforceClient":
        return cls(salesforce_config())

    # -- accounting --------------------------------------------------------------------------

    def _account_for(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if "/services/oauth2/" in response.url:
            return
        self.api_calls += 1
        match = LIMIT_INFO.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self.api_used, self.api_limit = int(match.group(1)), int(match.group(2))

    @property
    def api_remaining(self) -> int | None:
        if self.api_used is None or self.api_limit is None:
            return None
        return self.api_limit - self.api_used

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """(used, total) daily API calls, from the last `Sforce-Limit-Info` header seen."""
        if self.api_used is None or self.api_limit is None:
            return None
        return self.api_used, self.api_limit

    @property
    def over_reserve(self) -> bool:
        """The daily budget fell below `SALESFORCE_API_RESERVE`: further calls would be refused."""
        remaining = self.api_remaining
        return remaining is not None and remaining < self.config.api_reserve

    def ensure_budget(self) -> None:
        remaining = self.api_remaining
        if self.over_reserve:
            raise SalesforceApiLimitReached(
                f"paused: API limit — {remaining} daily calls left, below the reserve of "
                f"{self.config.api_reserve}"
            )

    # -- login -------------------------------------------------------------------------------

    @property
    def _cache_key(self) -> tuple[str, str, str]:
        return (self.config.login_url, self.config.client_id, self.config.username)

    def _login(self) -> tuple[str, str]:
        config = self.config
        data = {"client_id": config.client_id, "client_secret": config.client_secret}
        if config.username:
            data.update(grant_type="password", username=config.username, password=config.password)
        else:
            data["grant_type"] = "client_credentials"
        url = f"{config.login_url.rstrip('/')}/services/oauth2/token"
        try:
            response = self.session.post(url, data=data)
        except requests.exceptions.SSLError:
            raise SalesforceAuthError(
                f"TLS verification failed for {config.login_url}; set SALESFORCE_CA_BUNDLE if "
                "the org uses a private CA"
            ) from None
        except TRANSPORT_ERRORS as exc:
            raise LoginUnavailable(
                f"cannot reach Salesforce at {config.login_url}: {type(exc).__name__}"
            ) from None
        if response.status_code in TRANSIENT_STATUS:
            raise LoginUnavailable(
                f"Salesforce login at {config.login_url} answered HTTP {response.status_code}"
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            raise SalesforceAuthError(
                f"Salesforce login failed at {config.login_url}: "
                f"{body.get('error', response.status_code)} "
                f"({body.get('error_description', 'no description')})"
            )
        instance_url = body.get("instance_url", "")
        require_https_url(instance_url, "The instance_url of Salesforce's token answer")
        return instance_url, body["access_token"]

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            with _token_lock:
                cached = _token_cache.get(self._cache_key)
            if cached is None:
                cached = self._login()
                with _token_lock:
                    _token_cache[self._cache_key] = cached
            instance_url, token = cached
            self._sf = Salesforce(
                instance_url=instance_url,
                session_id=token,
                session=self.session,
                version=self.config.api_version,
                object_pairs_hook=dict,
            )
        return self._sf

    def relogin(self) -> Salesforce:
        with _token_lock:
            _token_cache.pop(self._cache_key, None)
        self._sf = None
        return self.sf

    @property
    def instance_url(self) -> str:
        return f"https://{self.sf.sf_instance}"

    @property
    def access_token(self) -> str:
        return self.sf.session_id

    # -- calls -------------------------------------------------------------------------------

    def backoff(self, attempt: int) -> float:
        base = settings.SALESFORCE_RETRY_BASE_SECONDS
        return min(30.0, base * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter

    def call(self, fn: Callable[[Salesforce], T]) -> T:
        """Run `fn(sf)`: one re-login on 401, retries on transient faults, clear errors."""
        attempts = settings.SALESFORCE_RETRY_ATTEMPTS
        relogged = False
        for attempt in range(attempts):
            self.ensure_budget()
            try:
                return fn(self.sf)
            except SalesforceExpiredSession:
                if relogged:
                    raise SalesforceAuthError(
                        "Salesforce rejected a freshly issued session"
                    ) from None
                relogged = True
                self.relogin()
                continue
            except SalesforceRefusedRequest as exc:
                if error_code(exc) == "REQUEST_LIMIT_EXCEEDED":
                    raise SalesforceApiLimitReached(
                        "paused: API limit — Salesforce answered REQUEST_LIMIT_EXCEEDED"
                    ) from None
                raise SalesforceRequestError(
                    f"Salesforce refused the request: {error_message(exc)}", error_code(exc)
                ) from None
            except SalesforceMalformedRequest as exc:
                if error_code(exc) not in TRANSIENT_CODES:
                    raise SalesforceRequestError(
                        f"Salesforce rejected the request: {error_code(exc)}: "
                        f"{error_message(exc)}",
                        error_code(exc),
                    ) from None
                reason = error_code(exc)
            except SalesforceResourceNotFound as exc:
                raise SalesforceRequestError(
                    f"not found: {error_message(exc)}", error_code(exc) or "NOT_FOUND"
                ) from None
            except SalesforceGeneralError as exc:
                if exc.status not in TRANSIENT_STATUS:
                    raise SalesforceRequestError(
                        f"Salesforce answered HTTP {exc.status}: {error_message(exc)}",
                        error_code(exc),
                    ) from None
                reason = f"HTTP {exc.status}"
            except SalesforceOperationError as exc:
                raise SalesforceRequestError(
                    f"Bulk API job failed: {exc}", "BULK_JOB_FAILED"
                ) from None
            except TRANSPORT_ERRORS as exc:
                reason = type(exc).__name__
            except LoginUnavailable as exc:
                reason = str(exc)
            if attempt + 1 < attempts:
                delay = self.backoff(attempt)
                logger.warning("Salesforce %s; retrying in %.2f s", reason, delay)
                time.sleep(delay)
        raise SalesforceUnavailable(
            f"Salesforce still failing after {attempts} attempts (last: {reason})"
        )

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        body: Callable[[str], bytes] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """An authenticated request for what simple-salesforce lacks (e.g. SOAP).

        Same machinery as `call`: a 401 (or a SOAP `INVALID_SESSION_ID` fault) re-logs in, 5xx
        without a SOAP fault is retried, `REQUEST_LIMIT_EXCEEDED` pauses. Any other answer is
        returned for the caller to read. `body(session_id)` builds the payload for each attempt,
        because a SOAP envelope carries the session, which a re-login replaces.
        """
        extra_headers = kwargs.pop("headers", None) or {}

        def send(sf: Salesforce) -> requests.Response:
            url = path_or_url if "://" in path_or_url else f"https://{sf.sf_instance}{path_or_url}"
            headers = {"Authorization": f"Bearer {sf.session_id}", **extra_headers}
            if body is not None:
                kwargs["data"] = body(sf.session_id)
            response = self.session.request(method, url, headers=headers, **kwargs)
            raise_for_retry(response, url)
            return response

        return self.call(send)

    def query_pages(
        self, soql: str, include_deleted: bool = True, batch_size: int = 2000
    ) -> Generator[dict, None, None]:
        """Yield raw result pages (`totalSize`, `records`, ...) of a query."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"}
        page = self.call(
            lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers)
        )
        yield from self.more_pages(page, headers)

    def query_pages_posted(
        self, soql: str, include_deleted: bool = True
    ) -> Generator[dict, None, None]:
        """`query_pages` for a long SOQL statement (an `Id IN` list of 2,000 ids).

        A GET's URI is capped at 16,384 bytes (414 beyond), far below SOQL's own 100,000
        characters, so the query travels in the body of a composite request, as Salesforce
        advises: still one API call, and up to 2,000 records on its first page.
        """
        resource = "queryAll" if include_deleted else "query"

        def first_page(sf: Salesforce) -> dict:
            url = f"/services/data/v{sf.sf_version}/{resource}/?{urlencode({'q': soql})}"
            answer = sf.restful("composite", method="POST", json={"compositeRequest": [
                {"method": "GET", "url": url, "referenceId": "records"},
            ]})
            assert answer is not None  # a composite request always answers with a body
            (response,) = answer["compositeResponse"]
            status = response["httpStatusCode"]
            if status >= 300:
                raise subrequest_error(status, f"{sf.base_url}composite", response["body"])
            return response["body"]

        yield from self.more_pages(self.call(first_page), {})

    def more_pages(self, page: dict, headers: dict[str, str]) -> Generator[dict, None, None]:
        yield page
        while not page.get("done", True):
            page = self.call(
                partial(
                    Salesforce.query_more,
                    next_records_identifier=page["nextRecordsUrl"],
                    identifier_is_url=True,
                    headers=headers,
                )
            )
            yield page

    def describe(self, object_name: str) -> dict:
        return self.call(lambda sf: getattr(sf, object_name).describe())
