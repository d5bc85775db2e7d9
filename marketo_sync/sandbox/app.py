"""The sandbox's HTTP surface: the Salesforce REST paths simple-salesforce uses, SOAP
convertLead, Bulk API 2.0 queries, and the token-protected `/__sandbox__/` control API.

Shapes, status codes and headers follow the reference; every refusal is Salesforce's JSON error
array, never a 500 page. Faults injected through the control API apply to the next N matching
requests.
"""

import base64
import csv
import gzip
import hashlib
import hmac
import io
import json
import logging
import re
import secrets
import threading
import time
import urllib.parse
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException, ElementTree
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from marketo_sync.sandbox.schema import OBJECTS, SObject, sobject
from marketo_sync.sandbox.seed import seed_org
from marketo_sync.sandbox.soql import Compiled, SoqlError, compile_query
from marketo_sync.sandbox.store import (
    CHANGE_EVENT_ENTITIES,
    RecordError,
    Store,
    api_value,
    attributes,
    canonical_id,
    encode_id,
    format_datetime,
    to_millis,
)
from marketo_sync.sandbox.streaming import ChangeLog, CometdServer
from marketo_sync.sandbox.usage import DEFAULT_API_LIMIT, ApiUsage

ORG_ID = "00D5g0000000001EAA"
VERSIONS = ("57.0", "58.0", "59.0", "60.0", "61.0", "62.0")
LOCATOR_IDLE_SECONDS = 15 * 60
DEFAULT_SESSION_TIMEOUT = 2 * 3600.0
SOAP_NS = "urn:partner.soap.sforce.com"
ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
TRANSPORT_FAULTS = {"unavailable", "latency", "drop_connection"}
FAULT_KINDS = TRANSPORT_FAULTS | {
    "expired_session",
    "request_limit",
    "lock_row",
    "malformed_record",
}
UNAUTHENTICATED = {"token", "versions"}
API_PATH = re.compile(r"^/services/(?:data|Soap)(?:/|$)")
MAX_BULK_RECORDS = 50000
COLUMN_DELIMITERS = {
    "BACKQUOTE": "`", "CARET": "^", "COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "TAB": "\t",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
REFRESH_GRANTS = {"authorization_code", "refresh_token"}
GRANTS = {"client_credentials", "password", *REFRESH_GRANTS}
# Request bodies above this are refused (413) unread, so no request can grow the process.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Deeper JSON bodies are refused; nesting is otherwise bounded only by Python's recursion limit.
MAX_JSON_DEPTH = 64
TOO_LARGE = "EXCEEDED_MAX_SIZE_REQUEST"
# Salesforce's documented limits: a REST request's URI (414 beyond it) and a SOQL statement.
URI_MAX_BYTES = 16384
SOQL_MAX_CHARS = 100000
QUERY_SUBREQUEST = re.compile(
    r"^/services/data/v(?P<version>\d+\.\d)/(?P<kind>query|queryAll)/?\?(?P<q>.*)$"
)
logger = logging.getLogger(__name__)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SandboxRequest(Request):
    """A body announced above the cap raises 413 on reading; a streamed (chunked) one is read
    one byte past the cap at most, which `request_body` refuses (werkzeug stops reading at
    `max_content_length` without saying so)."""

    max_content_length = MAX_BODY_BYTES + 1


@dataclass
class Fault:
    kind: str
    remaining: int
    path: str | None
    options: dict

    def applies(self, path: str, authenticated: bool) -> bool:
        """Whether this fault answers a request for `path`.

        Salesforce never answers the token endpoint or the version list with session, limit or
        record errors, so those faults only hit authenticated API calls; an untargeted fault
        (no `path`) only hits those too. Transport faults (503, latency, a dropped connection)
        reach the token endpoint when a `path` aims them there.
        """
        if self.path is not None and re.search(self.path, path) is None:
            return False
        if authenticated:
            return True
        return self.path is not None and self.kind in TRANSPORT_FAULTS


@dataclass
class Cursor:
    compiled: Compiled
    rowids: "array[int]"
    version: str
    touched: float = field(default_factory=time.monotonic)


@dataclass
class BulkJob:
    id: str
    operation: str
    object_name: str
    compiled: Compiled
    rowids: "array[int]"
    created: str
    api_version: str
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    polls: int = 0
    aborted: bool = False

    @property
    def state(self) -> str:
        """Submitted, then in progress at the first poll, complete from the second."""
        if self.aborted:
            return "Aborted"
        return ("UploadComplete", "InProgress")[self.polls] if self.polls < 2 else "JobComplete"


class SandboxApp:
    """WSGI application holding the org's runtime state (sessions, cursors, faults, counts)."""

    def __init__(
        self, store: Store, base_url_hint: str = "", api_limit: int = DEFAULT_API_LIMIT
    ) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.base_url = base_url_hint
        self.client_id = store.meta("client_id") or "3MVG9sandbox" + secrets.token_hex(16)
        self.client_secret = store.meta("client_secret") or secrets.token_hex(32)
        self.control_token = secrets.token_urlsafe(32)
        self.password = store.meta("password") or "sandbox-" + secrets.token_urlsafe(12)
        for key in ("client_id", "client_secret", "password"):
            store.set_meta(key, getattr(self, key))
        self.sessions: dict[str, float] = {}
        self.authorization_codes: dict[str, str] = {}
        self.refresh_tokens: set[str] = set()
        self.session_timeout = DEFAULT_SESSION_TIMEOUT
        self.cursors: dict[str, Cursor] = {}
        self.jobs: dict[str, BulkJob] = {}
        self.faults: list[Fault] = []
        self.counts: Counter[str] = Counter()
        self.api_limit = api_limit
        self.usage = ApiUsage(store, api_limit)
        self.page_size: int | None = None
        self.changes = ChangeLog()
        self.cometd = CometdServer(self.changes, CHANGE_EVENT_ENTITIES)
        store.on_commit = self.changes.publish
        self.announced_instance_url: str | None = None
        self.routes: list[tuple[str, re.Pattern, Callable, str]] = []
        self._route_table()

    # -- plumbing ----------------------------------------------------------------------------

    def _route_table(self) -> None:
        data = r"^/services/data/v(?P<version>\d+\.\d)"
        table: list[tuple[str, str, Callable, str]] = [
            ("POST", r"^/services/oauth2/token/?$", self.token, "token"),
            ("GET", r"^/services/oauth2/authorize/?$", self.authorize, "token"),
            ("POST", r"^/services/oauth2/revoke/?$", self.revoke, "token"),
            ("GET", r"^/services/data/?$", self.versions, "versions"),
            ("GET", data + r"/?$", self.resources, "resources"),
            ("GET", data + r"/limits/?$", self.limits, "limits"),
            ("GET", data + r"/sobjects/?$", self.global_describe, "describe"),
            ("GET", data + r"/sobjects/(?P<obj>\w+)/describe/?$", self.describe, "describe"),
            ("GET", data + r"/sobjects/(?P<obj>\w+)/updated/?$", self.updated, "updated"),
            ("GET", data + r"/sobjects/(?P<obj>\w+)/deleted/?$", self.deleted, "deleted"),
            ("GET", data + r"/sobjects/(?P<obj>\w+)/?$", self.object_info, "describe"),
            ("POST", data + r"/sobjects/(?P<obj>\w+)/?$", self.create, "sobject"),
            ("GET", data + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?$", self.read, "sobject"),
            ("PATCH", data + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?$", self.patch, "sobject"),
            ("DELETE", data + r"/sobjects/(?P<obj>\w+)/(?P<id>\w+)/?$", self.remove, "sobject"),
            ("GET", data + r"/(?P<kind>query|queryAll)/?$", self.query, "query"),
            (
                "GET",
                data + r"/(?:query|queryAll)/(?P<locator>\w+)-(?P<offset>\d+)/?$",
                self.query_more,
                "query_more",
            ),
            ("POST", data + r"/composite/sobjects/?$", self.collection_create, "composite"),
            ("POST", data + r"/composite/?$", self.composite, "composite"),
            ("POST", data + r"/jobs/query/?$", self.bulk_create, "bulk2"),
            ("GET", data + r"/jobs/query/?$", self.bulk_list, "bulk2"),
            ("GET", data + r"/jobs/query/(?P<job>\w+)/?$", self.bulk_status, "bulk2"),
            ("PATCH", data + r"/jobs/query/(?P<job>\w+)/?$", self.bulk_abort, "bulk2"),
            ("DELETE", data + r"/jobs/query/(?P<job>\w+)/?$", self.bulk_delete, "bulk2"),
            ("GET", data + r"/jobs/query/(?P<job>\w+)/results/?$", self.bulk_results, "bulk2"),
            ("POST", r"^/services/Soap/u/(?P<version>\d+\.\d)/?$", self.soap, "soap"),
            ("POST", r"^/cometd/(?P<version>\d+\.\d)/?$", self.streaming, "cometd"),
            ("POST", r"^/__sandbox__/(?P<action>\w+)/?$", self.control, "control"),
        ]
        self.routes = [(m, re.compile(p), h, k) for m, p, h, k in table]

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        request = SandboxRequest(environ)
        try:
            if (request.content_length or 0) > MAX_BODY_BYTES:
                raise RequestEntityTooLarge
            response = self.dispatch(request)
        except RequestEntityTooLarge:
            response = too_large_response(request.path)
        except Exception:
            response = self.unexpected_error(request)
        if API_PATH.match(request.path):
            response.headers["Sforce-Limit-Info"] = self.usage.header()
        if request.accept_encodings["gzip"] and not response.is_streamed:
            compress(response)
        return response(environ, start_response)

    def unexpected_error(self, request: Request) -> Response:
        """A bug in the sandbox answers like Salesforce's own internal errors (500
        UNKNOWN_EXCEPTION with an ErrorId), not werkzeug's HTML page; the traceback is logged
        under the same ErrorId."""
        error_id = f"{secrets.randbelow(10**9)}-{secrets.randbelow(10**5)}"
        logger.exception("sandbox error %s on %s %s", error_id, request.method, request.path)
        message = (
            "An unexpected error occurred. Please include this ErrorId if you contact support: "
            f"{error_id}"
        )
        if request.path.startswith("/services/Soap/"):
            return soap_fault("UNKNOWN_EXCEPTION", message)
        return error_response(500, "UNKNOWN_EXCEPTION", message)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if len(request.full_path) > URI_MAX_BYTES:
            return error_response(414, "URI_TOO_LONG", "URI Too Long")
        allowed = False
        for method, pattern, handler, kind in self.routes:
            match = pattern.match(path)
            if not match:
                continue
            allowed = True
            if method != request.method:
                continue
            return self.handle(request, handler, kind, match.groupdict())
        if allowed:
            return error_response(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' "
                                  "not allowed. Allowed are GET,PATCH,DELETE,POST")
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")

    def handle(self, request: Request, handler: Callable, kind: str, args: dict) -> Response:
        if kind == "control":
            return self.guarded_control(request, handler, args)
        if kind == "cometd":
            with self.lock:
                self.counts[kind] += 1
            return handler(request)
        if "id" in args:
            args["id"] = canonical_id(args["id"])
        with self.lock:
            self.counts[kind] += 1
        counted = kind not in UNAUTHENTICATED
        try:
            fault = self.take_fault(request.path, authenticated=counted)
            if fault and fault.kind == "latency":
                time.sleep(float(fault.options.get("seconds", 1)))
                fault = None
            if counted:
                self.authenticate(request, soap=kind == "soap")
                self.charge_api_call()
            if fault:
                response = self.fault_response(fault, request, handler, args)
            else:
                response = handler(request, **args)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message)
            if kind == "soap":
                response = soap_fault(exc.code, exc.message)
        except RecordError as exc:
            response = json_response([exc.as_json()], exc.status)
        except SoqlError as exc:
            response = error_response(400, exc.code, exc.message)
        return response

    def take_fault(self, path: str, authenticated: bool) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.remaining > 0 and fault.applies(path, authenticated):
                    fault.remaining -= 1
                    return fault
        return None

    def fault_response(
        self, fault: Fault, request: Request, handler: Callable, args: dict
    ) -> Response:
        if fault.kind == "expired_session":
            token = bearer_token(request)
            with self.lock:
                self.sessions.pop(token or "", None)
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        if fault.kind == "unavailable":
            raise ApiError(503, "SERVER_UNAVAILABLE", "Server temporarily unavailable")
        if fault.kind == "request_limit":
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if fault.kind == "lock_row":
            raise ApiError(
                400, "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record"
            )
        response = handler(request, **args)
        if fault.kind == "malformed_record":
            body = json.loads(response.get_data())
            subresponses = body.get("compositeResponse") if isinstance(body, dict) else None
            pages = [sub.get("body") for sub in subresponses or []] or [body]
            for page in pages:
                records = page.get("records") if isinstance(page, dict) else None
                if records:
                    index = int(fault.options.get("index", 0)) % len(records)
                    records[index][fault.options.get("field", "Name")] = fault.options.get("value")
            response.set_data(json.dumps(body))
            return response
        return dropped_response(response.get_data())

    def authenticate(self, request: Request, soap: bool) -> None:
        token = soap_session_id(request) if soap else bearer_token(request)
        now = time.monotonic()
        key = token or ""
        with self.lock:
            last = self.sessions.get(key)
            if last is None or now - last > self.session_timeout:
                self.sessions.pop(key, None)
                raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")
            self.sessions[key] = now

    def charge_api_call(self) -> None:
        if not self.usage.charge():
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")

    def user_id(self) -> str | None:
        return self.store.meta("integration_user")

    def instance_url(self, request: Request) -> str:
        return self.announced_instance_url or self.base_url or request.host_url.rstrip("/")

    # -- OAuth -------------------------------------------------------------------------------

    def token(self, request: Request) -> Response:
        form = request.form
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if request.authorization and request.authorization.type == "basic":
            client_id = request.authorization.username
            client_secret = request.authorization.password
        grant = form.get("grant_type")
        if grant not in GRANTS:
            return oauth_error("unsupported_grant_type", "grant type not supported")
        if client_id != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(client_secret or "", self.client_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        refresh_token = None
        if grant == "authorization_code":
            with self.lock:
                redirect_uri = self.authorization_codes.pop(form.get("code", ""), None)
            if redirect_uri is None:
                return oauth_error("invalid_grant", "invalid authorization code")
            if form.get("redirect_uri") != redirect_uri:
                return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration")
            refresh_token = f"5Aep861{secrets.token_urlsafe(60)}"
            with self.lock:
                self.refresh_tokens.add(refresh_token)
        if grant == "refresh_token":
            with self.lock:
                known = form.get("refresh_token", "") in self.refresh_tokens
            if not known:
                return oauth_error("invalid_grant", "expired access/refresh token")
        if grant == "password":
            user = self.store.raw(OBJECTS["User"], self.user_id() or "")
            if (
                user is None
                or form.get("username") != user["Username"]
                or not hmac.compare_digest(form.get("password", ""), self.password)
            ):
                return oauth_error("invalid_grant", "authentication failure")
        access_token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(48)}"
        with self.lock:
            self.sessions[access_token] = time.monotonic()
        issued_at = str(int(time.time() * 1000))
        identity = f"{self.instance_url(request)}/id/{ORG_ID}/{self.user_id()}"
        signature = base64.b64encode(
            hmac.new(self.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
            .digest()
        ).decode()
        body = {
            "access_token": access_token,
            "instance_url": self.instance_url(request),
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
            "scope": "api refresh_token" if grant in REFRESH_GRANTS else "api",
        }
        if refresh_token:
            body["refresh_token"] = refresh_token
        return json_response(body)

    def authorize(self, request: Request) -> Response:
        """The web-server flow's consent step, approved at once as the integration user: the
        browser is sent back to `redirect_uri` with a single-use code."""
        args = request.args
        if args.get("response_type") != "code":
            return oauth_error("unsupported_response_type", "response type not supported")
        if args.get("client_id") != self.client_id:
            return oauth_error("invalid_client_id", "client identifier invalid")
        redirect_uri = args.get("redirect_uri", "")
        if not redirect_uri:
            return oauth_error("redirect_uri_missing", "redirect_uri must be provided")
        code = f"aPrx{secrets.token_urlsafe(48)}"
        with self.lock:
            self.authorization_codes[code] = redirect_uri
        query = {"code": code} | ({"state": args["state"]} if "state" in args else {})
        separator = "&" if "?" in redirect_uri else "?"
        location = redirect_uri + separator + urlencode(query)
        return Response(status=302, headers={"Location": location})

    def revoke(self, request: Request) -> Response:
        """Revoking a refresh token ends it; revoking an access token ends that session."""
        token = request.form.get("token") or request.args.get("token") or ""
        with self.lock:
            known = token in self.refresh_tokens or token in self.sessions
            self.refresh_tokens.discard(token)
            self.sessions.pop(token, None)
        if not known:
            return oauth_error("unsupported_token_type", "this token type is not supported")
        return Response(status=200)

    # -- metadata ----------------------------------------------------------------------------

    def versions(self, request: Request) -> Response:
        return json_response(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    def resources(self, request: Request, version: str) -> Response:
        base = f"/services/data/v{version}"
        names = ("sobjects", "query", "queryAll", "limits", "composite", "jobs")
        return json_response({name: f"{base}/{name}" for name in names})

    def limits(self, request: Request, version: str) -> Response:
        remaining = max(self.usage.limit - self.usage.used, 0)
        return json_response(
            {
                "DailyApiRequests": {"Max": self.usage.limit, "Remaining": remaining},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - len(self.jobs)},
                "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
                "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            }
        )

    def global_describe(self, request: Request, version: str) -> Response:
        return json_response(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [o.summary(version) for o in OBJECTS.values()],
            }
        )

    def describe(self, request: Request, version: str, obj: str) -> Response:
        return json_response(self.sobject(obj).describe(version))

    def object_info(self, request: Request, version: str, obj: str) -> Response:
        target = self.sobject(obj)
        return json_response({"objectDescribe": target.summary(version), "recentItems": []})

    def sobject(self, name: str) -> SObject:
        found = sobject(name)
        if found is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return found

    # -- records -----------------------------------------------------------------------------

    def create(self, request: Request, version: str, obj: str) -> Response:
        target = self.sobject(obj)
        (record_id,) = self.insert(target, [request_json(request)])
        response = json_response({"id": record_id, "success": True, "errors": []}, 201)
        response.headers["Location"] = attributes(target.name, record_id, version)["url"]
        return response

    def insert(self, target: SObject, payloads: list[dict]) -> list[str]:
        rows = [self.store.validate(target, p, creating=True) for p in payloads]
        with self.store.transaction():
            return self.store.insert_many(target, rows, self.user_id())

    def read(self, request: Request, version: str, obj: str, id: str) -> Response:
        target = self.sobject(obj)
        body = self.store.record(target, id, version)
        if body is None or body.get("IsDeleted"):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        wanted = request.args.get("fields")
        if wanted:
            names = [target.field(n.strip()) for n in wanted.split(",")]
            body = {"attributes": body["attributes"]} | {
                f.name: body[f.name] for f in names if f is not None
            }
        return json_response(body)

    def patch(self, request: Request, version: str, obj: str, id: str) -> Response:
        target = self.sobject(obj)
        changes = self.store.validate(target, request_json(request), creating=False)
        self.store.update(target, id, changes, self.user_id())
        return Response(status=204)

    def remove(self, request: Request, version: str, obj: str, id: str) -> Response:
        self.store.delete(self.sobject(obj), id, self.user_id())
        return Response(status=204)

    def collection_create(self, request: Request, version: str) -> Response:
        body = request_json(request)
        records = body.get("records") or []
        if len(records) > 200:
            raise ApiError(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more "
                           "than 200 records into this call")
        all_or_none = bool(body.get("allOrNone"))
        results: list[dict] = []
        with self.store.transaction():
            for record in records:
                try:
                    target = self.sobject((record.get("attributes") or {}).get("type", ""))
                    (record_id,) = self.insert(target, [record])
                    results.append({"id": record_id, "success": True, "errors": []})
                except (RecordError, ApiError) as exc:
                    code = exc.code
                    results.append({"success": False, "errors": [
                        {"statusCode": code, "message": exc.message,
                         "fields": getattr(exc, "fields", [])}]})
            if all_or_none and not all(r["success"] for r in results):
                self.store.db.execute("ROLLBACK")
                self.store.db.execute("BEGIN")
                results = [
                    r if not r["success"] else {"success": False, "errors": [
                        {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                         "message": "Record rolled back because not all records were valid "
                                    "and the request was using AllOrNone header",
                         "fields": []}]}
                    for r in results
                ]
        return json_response(results)

    def composite(self, request: Request, version: str) -> Response:
        body = request_json(request)
        subrequests = body.get("compositeRequest") or []
        if len(subrequests) > 25:
            raise ApiError(400, "INVALID_INPUT", "Composite request limited to 25 subrequests")
        all_or_none = bool(body.get("allOrNone"))
        references: dict[str, dict] = {}
        responses: list[dict] = []
        failed = False
        with self.store.transaction():
            for sub in subrequests:
                reference = sub.get("referenceId", "")
                if failed and all_or_none:
                    responses.append(processing_halted(reference))
                    continue
                url = substitute_references(sub.get("url", ""), references)
                payload = json.loads(substitute_references(json.dumps(sub.get("body")), references))
                status, result = self.sub_request(sub.get("method", "GET"), url, payload)
                if status >= 300:
                    failed = True
                else:
                    references[reference] = result if isinstance(result, dict) else {}
                responses.append({"body": result, "httpHeaders": {}, "httpStatusCode": status,
                                  "referenceId": reference})
            if failed and all_or_none:
                self.store.db.execute("ROLLBACK")
                self.store.db.execute("BEGIN")
                responses = [
                    r if r["httpStatusCode"] >= 300 else processing_halted(r["referenceId"])
                    for r in responses
                ]
        return json_response({"compositeResponse": responses})

    def sub_request(self, method: str, url: str, payload: dict | None) -> tuple[int, object]:
        query = QUERY_SUBREQUEST.match(url)
        if query and method == "GET":
            soql = urllib.parse.parse_qs(query["q"]).get("q", [""])[0]
            try:
                return 200, self.query_result(soql, query["version"], query["kind"], 2000)
            except ApiError as exc:
                return exc.status, [{"errorCode": exc.code, "message": exc.message}]
            except SoqlError as exc:
                return 400, [{"errorCode": exc.code, "message": exc.message}]
        match = re.match(
            r"^/services/data/v(?P<version>\d+\.\d)/sobjects/(?P<obj>\w+)(?:/(?P<id>\w+))?/?$",
            url,
        )
        if not match:
            return 400, [{"errorCode": "NOT_FOUND", "message": f"unsupported url {url}"}]
        record_id = canonical_id(match["id"] or "")
        try:
            target = self.sobject(match["obj"])
            if method == "POST":
                (record_id,) = self.insert(target, [payload or {}])
                return 201, {"id": record_id, "success": True, "errors": []}
            if method == "PATCH":
                changes = self.store.validate(target, payload or {}, creating=False)
                self.store.update(target, record_id, changes, self.user_id())
                return 204, None
            if method == "DELETE":
                self.store.delete(target, record_id, self.user_id())
                return 204, None
            body = self.store.record(target, record_id, match["version"])
            if body is None:
                raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
            return 200, body
        except RecordError as exc:
            return exc.status, [exc.as_json()]
        except ApiError as exc:
            return exc.status, [{"errorCode": exc.code, "message": exc.message}]

    # -- replication -------------------------------------------------------------------------

    def replication_window(self, request: Request) -> tuple[int, int]:
        try:
            start = parse_replication_date(request.args["start"])
            end = parse_replication_date(request.args["end"])
        except (KeyError, ValueError):
            raise ApiError(400, "INVALID_REPLICATION_DATE", "start and end are required "
                           "ISO-8601 dates") from None
        if start >= end:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "startDate must chronologically "
                           "precede endDate by more than one minute")
        return to_millis(start), to_millis(end)

    def updated(self, request: Request, version: str, obj: str) -> Response:
        start, end = self.replication_window(request)
        if end - start > 30 * 86400 * 1000:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "start date must be within 30 days")
        rows = self.store.modified_between(self.sobject(obj), start, end, deleted=False)
        return json_response(
            {"ids": [r[0] for r in rows], "latestDateCovered": format_datetime(end)}
        )

    def deleted(self, request: Request, version: str, obj: str) -> Response:
        start, end = self.replication_window(request)
        rows = self.store.modified_between(self.sobject(obj), start, end, deleted=True)
        earliest = to_millis(datetime.now(UTC) - timedelta(days=15))
        return json_response(
            {
                "deletedRecords": [{"id": i, "deletedDate": format_datetime(m)} for i, m in rows],
                "earliestDateAvailable": format_datetime(earliest),
                "latestDateCovered": format_datetime(end),
            }
        )

    # -- queries -----------------------------------------------------------------------------

    def batch_size(self, request: Request) -> int:
        if self.page_size:
            return self.page_size
        match = re.search(r"batchSize=(\d+)", request.headers.get("Sforce-Query-Options", ""))
        return min(max(int(match.group(1)), 200), 2000) if match else 2000

    def query(self, request: Request, version: str, kind: str) -> Response:
        return json_response(
            self.query_result(request.args.get("q"), version, kind, self.batch_size(request))
        )

    def query_result(self, soql: str | None, version: str, kind: str, size: int) -> dict:
        """The first page of a query, from `GET /query` or a composite subrequest."""
        if not soql:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        if len(soql) > SOQL_MAX_CHARS:
            raise ApiError(400, "MALFORMED_QUERY", "SOQL statements cannot be longer than "
                           f"{SOQL_MAX_CHARS} characters")
        compiled = compile_query(soql, include_deleted=kind == "queryAll")
        result = self.store.snapshot(compiled)
        if compiled.is_count:
            return {"totalSize": result, "done": True, "records": []}
        assert isinstance(result, array)  # row ids, since the query is no COUNT()
        locator = encode_id("01g", self.store.take_numbers("next_locator"))
        cursor = Cursor(compiled, result, version)
        with self.lock:
            self.expire_cursors()
            self.cursors[locator] = cursor
        return self.page(cursor, locator, 0, size)

    def query_more(self, request: Request, version: str, locator: str, offset: str) -> Response:
        with self.lock:
            self.expire_cursors()
            cursor = self.cursors.get(locator)
        if cursor is None or int(offset) > len(cursor.rowids):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.touched = time.monotonic()
        return json_response(self.page(cursor, locator, int(offset), self.batch_size(request)))

    def expire_cursors(self) -> None:
        now = time.monotonic()
        for key in [k for k, c in self.cursors.items() if now - c.touched > LOCATOR_IDLE_SECONDS]:
            del self.cursors[key]

    def page(self, cursor: Cursor, locator: str, offset: int, size: int) -> dict:
        chunk = cursor.rowids[offset : offset + size]
        records = [
            shape_record(cursor.compiled, row, cursor.version)
            for row in self.store.rows(cursor.compiled, chunk)
        ]
        done = offset + size >= len(cursor.rowids)
        body: dict = {"totalSize": len(cursor.rowids), "done": done}
        if done:
            with self.lock:
                self.cursors.pop(locator, None)
        else:
            body["nextRecordsUrl"] = (
                f"/services/data/v{cursor.version}/query/{locator}-{offset + size}"
            )
        body["records"] = records
        return body

    # -- Bulk API 2.0 ------------------------------------------------------------------------

    def bulk_create(self, request: Request, version: str) -> Response:
        body = request_json(request)
        operation = body.get("operation", "query")
        if operation not in {"query", "queryAll"}:
            raise ApiError(400, "INVALIDJOB", f"Invalid operation {operation}")
        content_type = body.get("contentType", "CSV")
        delimiter = body.get("columnDelimiter", "COMMA")
        line_ending = body.get("lineEnding", "LF")
        if content_type != "CSV":
            raise ApiError(400, "INVALIDJOB", f"Invalid contentType: {content_type}")
        if delimiter not in COLUMN_DELIMITERS:
            raise ApiError(400, "INVALIDJOB", f"Invalid columnDelimiter: {delimiter}")
        if line_ending not in LINE_ENDINGS:
            raise ApiError(400, "INVALIDJOB", f"Invalid lineEnding: {line_ending}")
        compiled = compile_query(body.get("query", ""), include_deleted=operation == "queryAll")
        if compiled.is_count:
            raise ApiError(400, "INVALIDJOB", "Aggregate queries are not supported")
        if any(spec.type == "address" for _, spec in compiled.columns):
            raise ApiError(400, "API_ERROR", "Selecting compound data not supported in Bulk Query")
        job_id = encode_id("750", self.store.take_numbers("next_job"))
        rowids = self.store.snapshot(compiled)
        assert isinstance(rowids, array)  # row ids, since the query is no COUNT()
        job = BulkJob(
            job_id, operation, compiled.sobject.name, compiled, rowids,
            format_datetime(to_millis(datetime.now(UTC))) or "", version, delimiter, line_ending,
        )
        with self.lock:
            self.jobs[job_id] = job
        return json_response(self.job_info(job))

    def job_info(self, job: BulkJob, detail: bool = False) -> dict:
        """A job as its creation answers it; `detail` adds what the job info and the job list
        carry (jobType, and the counts once complete)."""
        info: dict[str, object] = {
            "id": job.id, "operation": job.operation, "object": job.object_name,
            "createdById": self.user_id(), "createdDate": job.created,
            "systemModstamp": job.created, "state": job.state, "concurrencyMode": "Parallel",
            "contentType": "CSV", "apiVersion": float(job.api_version),
            "lineEnding": job.line_ending, "columnDelimiter": job.column_delimiter,
        }
        if detail:
            info["jobType"] = "V2Query"
        if detail and job.state == "JobComplete":
            info.update(numberRecordsProcessed=len(job.rowids), retries=0,
                        totalProcessingTime=len(job.rowids) // 100)
        return info

    def bulk_list(self, request: Request, version: str) -> Response:
        """All query jobs of the org, in one page (the sandbox keeps few)."""
        wanted = request.args.get("jobType")
        with self.lock:
            jobs = list(self.jobs.values())
        records = [self.job_info(j, detail=True) for j in jobs if wanted in (None, "V2Query")]
        return json_response({"done": True, "records": records, "nextRecordsUrl": None})

    def job(self, job_id: str) -> BulkJob:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def bulk_status(self, request: Request, version: str, job: str) -> Response:
        found = self.job(job)
        with self.lock:
            found.polls += 1
        return json_response(self.job_info(found, detail=True))

    def bulk_abort(self, request: Request, version: str, job: str) -> Response:
        found = self.job(job)
        found.aborted = True
        return json_response(self.job_info(found, detail=True))

    def bulk_delete(self, request: Request, version: str, job: str) -> Response:
        with self.lock:
            self.jobs.pop(self.job(job).id, None)
        return Response(status=204)

    def bulk_results(self, request: Request, version: str, job: str) -> Response:
        found = self.job(job)
        if found.polls < 2:
            raise ApiError(400, "INVALIDJOBSTATE", "Job is not complete")
        offset = bulk_parameter(request, "locator", 0, "INVALID_QUERY_LOCATOR")
        size = bulk_parameter(request, "maxRecords", MAX_BULK_RECORDS, "INVALID_INPUT")
        if offset > len(found.rowids) or size < 1:
            raise ApiError(400, "INVALID_INPUT" if size < 1 else "INVALID_QUERY_LOCATOR",
                           "maxRecords must be positive" if size < 1 else "invalid locator")
        chunk = found.rowids[offset : offset + size]
        output = io.StringIO()
        writer = csv.writer(
            output,
            quoting=csv.QUOTE_ALL,
            delimiter=COLUMN_DELIMITERS[found.column_delimiter],
            lineterminator=LINE_ENDINGS[found.line_ending],
        )
        writer.writerow([".".join(path) for path, _ in found.compiled.columns])
        for row in self.store.rows(found.compiled, chunk):
            writer.writerow(csv_values(found.compiled, row))
        response = Response(output.getvalue(), content_type="text/csv; charset=UTF-8")
        next_offset = offset + size
        response.headers["Sforce-NumberOfRecords"] = str(len(chunk))
        response.headers["Sforce-Locator"] = (
            str(next_offset) if next_offset < len(found.rowids) else "null"
        )
        return response

    # -- SOAP convertLead --------------------------------------------------------------------

    def soap(self, request: Request, version: str) -> Response:
        try:
            envelope = ElementTree.fromstring(request_body(request), forbid_dtd=True)
        except ElementTree.ParseError:
            raise ApiError(500, "INVALID_XML", "The SOAP request could not be parsed") from None
        except DefusedXmlException:
            return soap_fault("INVALID_XML", "DTDs and entities are not allowed", status=400)
        converts = envelope.findall(f".//{{{SOAP_NS}}}leadConverts")
        if not converts:
            raise ApiError(500, "INVALID_OPERATION", "Only convertLead is supported here")
        results = []
        for item in converts:
            def value(name: str, node: Element = item) -> str | None:
                found = node.find(f"{{{SOAP_NS}}}{name}")
                return found.text if found is not None and found.text else None

            try:
                created = self.store.convert_lead(
                    value("leadId") or "",
                    value("convertedStatus") or "",
                    value("ownerId"),
                    value("opportunityName"),
                    (value("doNotCreateOpportunity") or "false").lower() != "true",
                    self.user_id(),
                )
                results.append({"success": "true", **created})
            except RecordError as exc:
                results.append({"success": "false", "leadId": value("leadId"),
                                "error": (exc.code, exc.message)})
        return Response(convert_response_xml(results), content_type="text/xml; charset=utf-8")

    # -- Streaming API (Change Data Capture over CometD) ----------------------------------------

    def streaming(self, request: Request) -> Response:
        """Bayeux messages in, Bayeux messages out; not charged to the REST API limit. An
        invalid session gets 401 with Bayeux replies, so the client re-authenticates."""
        try:
            body = json.loads(request.get_data() or b"[]")
        except ValueError:
            body = None
        messages = [body] if isinstance(body, dict) else body
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            return json_response([{"successful": False, "error": "400::Invalid message"}], 400)
        try:
            self.authenticate(request, soap=False)
        except ApiError:
            replies = [
                {
                    "channel": m.get("channel"),
                    "id": m.get("id"),
                    "successful": False,
                    "error": "401::Authentication invalid",
                    "advice": {"reconnect": "none"},
                }
                for m in messages
            ]
            return json_response(replies, 401)
        replies = self.cometd.handle(messages)
        if self.cometd.take_drop():
            return dropped_response(json.dumps(replies).encode())
        return json_response(replies)

    # -- control API -------------------------------------------------------------------------

    def guarded_control(self, request: Request, handler: Callable, args: dict) -> Response:
        token = request.headers.get("X-Sandbox-Token", "")
        if not hmac.compare_digest(token, self.control_token):
            return json_response({"error": "a valid X-Sandbox-Token header is required"}, 403)
        try:
            return json_response({"result": handler(request_json(request), **args)})
        except RecordError as exc:
            return json_response({"error": exc.message, "code": exc.code}, exc.status)
        except (ApiError, SoqlError, ValueError, KeyError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)

    def control(self, body: dict, action: str) -> object:
        handler = getattr(self, f"control_{action}", None)
        if handler is None:
            raise ValueError(f"unknown control action {action!r}")
        for key in ("id", "master_id"):
            if isinstance(body.get(key), str):
                body[key] = canonical_id(body[key])
        if isinstance(body.get("loser_ids"), list):
            body["loser_ids"] = [canonical_id(str(i)) for i in body["loser_ids"]]
        return handler(**body)

    def editor(self) -> str | None:
        return self.store.meta("editor_user")

    def control_reset(self, seed: str = "tiny") -> dict:
        with self.lock:
            self.store.on_commit = None
            counts = seed_org(self.store, seed)
            self.store.on_commit = self.changes.publish
            self.changes.clear()
            self.cometd.forget_clients()
            self.cursors.clear()
            self.jobs.clear()
            self.faults.clear()
            self.counts.clear()
            self.page_size = None
            self.announced_instance_url = None
            self.session_timeout = DEFAULT_SESSION_TIMEOUT
            self.usage.set(self.api_limit, used=0)
            for key in ("client_id", "client_secret", "password"):
                self.store.set_meta(key, getattr(self, key))
        return counts

    def control_create(self, object_name: str, fields: dict) -> str:
        target = self.sobject(object_name)
        row = self.store.validate(target, fields, creating=True)
        return self.store.insert_many(target, [row], self.editor())[0]

    def control_bulk_create(self, object_name: str, rows: list[dict]) -> list[str]:
        target = self.sobject(object_name)
        clean = [self.store.validate(target, r, creating=True) for r in rows]
        with self.store.transaction():
            return self.store.insert_many(target, clean, self.editor())

    def control_update(self, object_name: str, id: str, fields: dict) -> None:
        target = self.sobject(object_name)
        self.store.update(target, id, self.store.validate(target, fields, False), self.editor())

    def control_delete(self, object_name: str, id: str) -> None:
        self.store.delete(self.sobject(object_name), id, self.editor())

    def control_undelete(self, object_name: str, id: str) -> None:
        self.store.undelete(self.sobject(object_name), id, self.editor())

    def control_purge(self, object_name: str, id: str) -> None:
        self.store.purge(self.sobject(object_name), id)

    def control_merge(self, object_name: str, master_id: str, loser_ids: list[str]) -> None:
        self.store.merge(self.sobject(object_name), master_id, loser_ids, self.editor())

    def control_set_formula(self, object_name: str, id: str, field: str, value: object) -> None:
        target = self.sobject(object_name)
        spec = target.field(field)
        if spec is None or not spec.calculated:
            raise ValueError(f"{field} is not a formula field of {target.name}")
        self.store.set_raw(target, id, {spec.name: value})

    def control_late_write(self, object_name: str, id: str, fields: dict, modstamp: str) -> None:
        target = self.sobject(object_name)
        stamp = to_millis(datetime.fromisoformat(modstamp.replace("Z", "+00:00")))
        self.store.update(
            target, id, self.store.validate(target, fields, False), self.editor(), stamp=stamp
        )

    def control_get(self, object_name: str, id: str) -> dict | None:
        return self.store.record(self.sobject(object_name), id, "59.0")

    def control_count(self, object_name: str, include_deleted: bool = False) -> int:
        return self.store.count(self.sobject(object_name), include_deleted)

    def control_inject_fault(
        self, kind: str, count: int = 1, path: str | None = None, **options: object
    ) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULT_KINDS)}")
        with self.lock:
            self.faults.append(Fault(kind, int(count), path, options))

    def control_clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def control_expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()
        self.cometd.forget_clients()

    def control_drop_stream(self, count: int = 1) -> None:
        self.cometd.drop_streams(count)

    def control_expire_replay_ids(self) -> None:
        self.changes.expire_replay_ids()

    def control_emit_gap(
        self, object_name: str, change_type: str, ids: list[str] | None = None
    ) -> None:
        target = self.sobject(object_name)
        self.changes.publish_gap(target.name, change_type, [canonical_id(i) for i in ids or []])

    def control_set_stream_poll_seconds(self, seconds: float) -> None:
        self.cometd.poll_seconds = float(seconds)

    def control_last_replay_id(self) -> int:
        return self.changes.last_replay_id

    def control_revoke_refresh_tokens(self, token: str | None = None) -> int:
        """Revoke one refresh token, or all of them (a user's "Revoke" on the connected app)."""
        with self.lock:
            revoked = self.refresh_tokens & {token} if token else set(self.refresh_tokens)
            self.refresh_tokens -= revoked
        return len(revoked)

    def control_set_session_timeout(self, seconds: float) -> None:
        self.session_timeout = float(seconds)

    def control_set_api_limit(self, max_calls: int, used: int | None = None) -> None:
        self.usage.set(int(max_calls), None if used is None else int(used))

    def control_request_counts(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)

    def control_reset_counts(self) -> None:
        with self.lock:
            self.counts.clear()

    def control_set_page_size(self, size: int | None) -> None:
        self.page_size = int(size) if size else None

    def control_set_instance_url(self, url: str | None) -> None:
        """The instance_url the token endpoint announces (None: the sandbox's own), so a test
        can check what a client does with a hostile one."""
        self.announced_instance_url = str(url) if url else None


# -- helpers ---------------------------------------------------------------------------------


def compress(response: Response) -> None:
    """Gzip the body, as Salesforce does for a client that accepts it. Level 1: the sandbox
    stands in for a fast server, and most of gzip's saving on JSON comes at the lowest level."""
    data = response.get_data()
    if data:
        response.set_data(gzip.compress(data, compresslevel=1))
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")


def json_response(body: object, status: int = 200) -> Response:
    return Response(
        json.dumps(body), status=status, content_type="application/json;charset=UTF-8"
    )


def error_response(status: int, code: str, message: str) -> Response:
    return json_response([{"message": message, "errorCode": code}], status)


def oauth_error(code: str, description: str) -> Response:
    return json_response({"error": code, "error_description": description}, 400)


def processing_halted(reference: str) -> dict:
    return {
        "body": [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back "
                  "since another operation in the same transaction failed."}],
        "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference,
    }


def substitute_references(text: str, references: dict[str, dict]) -> str:
    def lookup(match: re.Match) -> str:
        found = references.get(match.group(1), {})
        return str(found.get(match.group(2), match.group(0)))

    return re.sub(r"@\{(\w+)\.(\w+)\}", lookup, text)


def request_body(request: Request) -> bytes:
    data = request.get_data()
    if len(data) > MAX_BODY_BYTES:
        raise RequestEntityTooLarge
    return data


def request_json(request: Request) -> dict:
    data = request_body(request)
    if not data:
        return {}
    try:
        body = json.loads(data, parse_constant=refuse_constant)
    except ValueError:
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    except RecursionError:
        body = None
    if body is None or json_depth(body) > MAX_JSON_DEPTH:
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"The request body nests deeper than {MAX_JSON_DEPTH} levels"
        )
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def json_depth(value: object) -> int:
    """How deep objects and arrays nest (a scalar: 0), without recursion."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def too_large_response(path: str) -> Response:
    """413 in the shape the endpoint answers errors in: OAuth, SOAP, control or REST.

    The body was not read, so the connection closes with the answer: kept alive, the server
    would read the refused body to find the next request.
    """
    message = f"The request body exceeds the maximum size of {MAX_BODY_BYTES} bytes"
    if path.startswith("/services/oauth2/"):
        response = json_response({"error": TOO_LARGE, "error_description": message}, 413)
    elif path.startswith("/services/Soap/"):
        response = soap_fault(TOO_LARGE, message, status=413)
    elif path.startswith("/__sandbox__/"):
        response = json_response({"error": message, "code": TOO_LARGE}, 413)
    else:
        response = error_response(413, TOO_LARGE, message)
    response.headers["Connection"] = "close"
    return response


def bulk_parameter(request: Request, name: str, default: int, code: str) -> int:
    """A non-negative integer query parameter of Bulk results, or a 400 with `code`."""
    text = request.args.get(name) or ""
    if not text:
        return default
    if not text.isascii() or not text.isdigit():
        raise ApiError(400, code, f"invalid {name}: {text[:40]}")
    return int(text)


def refuse_constant(name: str) -> float:
    """NaN and Infinity are not JSON; Salesforce's parser refuses them."""
    raise ValueError(f"{name} is not a JSON value")


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("Authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def soap_session_id(request: Request) -> str | None:
    match = re.search(rb"<(?:\w+:)?sessionId>([^<]+)</", request_body(request))
    return match.group(1).decode() if match else None


def parse_replication_date(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def shape_record(compiled: Compiled, row: tuple, version: str) -> dict:
    """A query result record: attributes naming the real Id (selected or not), canonical names in
    SELECT order, nested parents. `row` is a `Store.rows` row: the Id, then the columns."""
    values: dict = {}
    position = 1
    for path, spec in compiled.columns:
        if len(path) == 1:
            values[spec.name] = api_value(spec, row[position])
            position += 1
            continue
        lookup = compiled.sobject.relationship(path[0])
        assert lookup is not None and lookup.reference_to is not None  # resolved when compiled
        parent_value, parent_id = row[position], row[position + 1]
        position += 2
        key = lookup.relationship
        parent_type = lookup.reference_to
        if parent_id is None:
            values[key] = None
            continue
        nested = values.get(key) or {"attributes": attributes(parent_type, parent_id, version)}
        nested[spec.name] = api_value(spec, parent_value)
        values[key] = nested
    return {"attributes": attributes(compiled.sobject.name, row[0], version), **values}


def csv_values(compiled: Compiled, row: tuple) -> list[str]:
    """One CSV line of a Bulk result from a `Store.rows` row (the Id first, then the columns)."""
    values = []
    position = 1
    for path, spec in compiled.columns:
        raw = row[position]
        position += 1 if len(path) == 1 else 2
        value = api_value(spec, raw)
        if value is None:
            values.append("")
        elif isinstance(value, bool):
            values.append("true" if value else "false")
        elif spec.type == "datetime":
            values.append(str(value).replace("+0000", "Z"))
        else:
            values.append(str(value))
    return values


def soap_fault(code: str, message: str, status: int = 500) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV_NS}" '
        f'xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>sf:{xml_escape(code)}</faultcode><faultstring>{xml_escape(code)}: "
        f"{xml_escape(message)}</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status=status, content_type="text/xml; charset=utf-8")


def convert_response_xml(results: list[dict]) -> str:
    items = []
    for result in results:
        parts = []
        for key in ("accountId", "contactId", "leadId", "opportunityId"):
            value = result.get(key)
            parts.append(
                f"<{key}>{xml_escape(value)}</{key}>" if value else f'<{key} xsi:nil="true"/>'
            )
        if "error" in result:
            code, message = result["error"]
            parts.append(
                f"<errors><message>{xml_escape(message)}</message>"
                f"<statusCode>{xml_escape(code)}</statusCode></errors>"
            )
        parts.append(f"<success>{result['success']}</success>")
        items.append(f"<result>{''.join(parts)}</result>")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{ENV_NS}" '
        f'xmlns="{SOAP_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><convertLeadResponse>{''.join(items)}</convertLeadResponse>"
        f"</soapenv:Body></soapenv:Envelope>"
    )


def xml_escape(value: object) -> str:
    return escape(str(value))


def dropped_response(data: bytes) -> Response:
    """Announce the whole body, send half, then fail: the client sees a broken connection."""

    def stream() -> Iterator[bytes]:
        yield data[: len(data) // 2]
        raise ConnectionAbortedError("sandbox fault: connection dropped mid-response")

    response = Response(stream(), content_type="application/json;charset=UTF-8")
    response.headers["Content-Length"] = str(len(data))
    return response

