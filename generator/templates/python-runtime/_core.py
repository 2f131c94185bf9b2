"""The HTTP core under the generated clients: requests built from operation descriptors, retries
with backoff and jitter that honour Retry-After, one idempotency key across the attempts of a
call, typed errors, cursor pages and job polling; once blocking (httpx.Client) and once async
(httpx.AsyncClient). Part of the Python SDK runtime: standard library and httpx only."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pathlib
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import (
    AsyncIterator, Awaitable, Callable, Dict, Generator, Generic, Iterator, List, Literal, Mapping, NotRequired, Optional,
    Tuple, Type, TypedDict, TypeVar, Union, cast,
)
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from ._auth import SecurityScheme, apply_auth_headers, credentials_for
from ._json import MAY_OVERFLOW_BYTES, beyond_double_at, loads as json_loads
from ._deadline import Deadline, run_within
from ._decoding import ACCEPT_ENCODING, aiter_decoded, iter_decoded
from ._exceptions import (
    APIConnectionError, APIStatusError, APITimeoutError, InvalidResponseError, LavendlyError, WaitTimeoutError,
    error_from_response,
)
from ._download_streams import AsyncDownload, Download, adownload_file, download_file
from ._downloads import DownloadedFile, PathArg
from ._uploads import FileBody, UploadFile, file_body


class NotGiven:
    """The value of an argument that was not passed: left out of the request (None is sent as null)."""

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()


class ArgBinding(TypedDict):
    """Where one argument goes on the wire."""

    location: Literal["path", "query", "header", "body"]
    name: str
    explode: bool


class AsyncJob(TypedDict):
    poll: str
    args: Dict[str, str]
    status_field: str
    terminal: List[str]


class _OperationFacts(TypedDict):
    method: str
    path: str
    security: NotRequired[List[List[str]]]
    """The credentials the operation takes: alternatives, each the names of the security schemes sent
    together ([]: public). Absent when the spec's schemes are all Bearer: the API key then goes with
    every request."""
    args: Dict[str, ArgBinding]
    body_mode: Literal["none", "flat", "single"]
    body_required: bool
    content_type: Optional[str]
    idempotency_header: Optional[str]
    pagination: Optional[str]
    async_job: Optional[AsyncJob]
    response_json: bool
    """Every documented success answer is JSON: one that is not raises InvalidResponseError."""
    response_keys: Optional[List[str]]
    """Every documented success answer is a JSON object with these keys: one that is not raises
    InvalidResponseError (None: not checked)."""


class Operation(_OperationFacts, total=False):
    form_encoding: Dict[str, str]
    """A form body's fields not sent as form fields (a list's key repeated), as the spec's
    `encoding` declares: "deepObject" in brackets, "json" as one JSON text. Absent: none."""


class RequestOptions(TypedDict, total=False):
    """Per-call options, the last argument of every method."""

    idempotency_key: str
    """Idempotent operations: one is generated when absent; reused on every retry."""
    timeout: float
    max_retries: int
    headers: Mapping[str, str]


@dataclass(frozen=True)
class ClientConfig:
    """What the generated client's constructor was given (None: from the environment, else the spec)."""

    api_key: Optional[str] = None
    credentials: Mapping[str, object] = field(default_factory=dict)
    """By security scheme name: a string (API key, bearer token) or BasicCredentials."""
    base_url: Optional[str] = None
    timeout: float = 60.0
    max_retries: int = 2
    headers: Mapping[str, str] = field(default_factory=dict)
    initial_retry_delay: float = 0.5
    max_retry_delay: float = 8.0
    max_retry_after: float = 60.0
    max_response_bytes: int = 32 * 1024 * 1024


class SlotUpload(TypedDict):
    """How a generated `x-sdk-upload` helper sends a file through an upload slot: `send` is the
    operation that takes the bytes (its `body_arg`), `args` its arguments taken from the slot
    (argument -> field), `size` and `filename` the slot-opening arguments the file fills in."""

    send: str
    body_arg: str
    args: Dict[str, str]
    size: Optional[str]
    filename: Optional[str]


class ClientDefaults(TypedDict):
    name: str
    version: str
    base_url: str
    env_prefix: str
    errors_by_code: Mapping[str, Type[APIStatusError]]
    errors_by_status: Mapping[int, Type[APIStatusError]]
    security_schemes: NotRequired[Mapping[str, SecurityScheme]]
    """The spec's security schemes the SDK can send (absent: every scheme is Bearer)."""
    security: NotRequired[List[List[str]]]
    """The document's default requirement: what a download from the API's origin carries."""


class _Request:
    """One call, ready to send as many times as the retry policy allows. Sent with
    follow_redirects=False whatever the httpx client says: the API never redirects, and a followed
    3xx would take the body, an upload and the `headers` given to the SDK to whatever host the
    Location names (httpx drops only Authorization)."""

    def __init__(self, method: str, url: str, headers: Dict[str, str], content: Union[None, bytes, FileBody],
                 files: Optional[List[Tuple[str, Tuple[Optional[str], Union[bytes, str]]]]], retriable: bool,
                 max_retries: int, timeout: float, response_json: bool,
                 response_keys: Optional[List[str]]) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.content = content
        self.files = files
        # A file read as it is sent can be sent again only if it can be read again from its start.
        self.retriable = retriable and (not isinstance(content, FileBody) or content.rewindable)
        self.max_retries = max_retries
        self.timeout = timeout
        self.response_json = response_json
        self.response_keys = response_keys

    def body(self, deadline: Deadline) -> Optional[bytes | Iterator[bytes]]:
        """What the blocking client sends: a file's chunks each restart the attempt's deadline."""
        if isinstance(self.content, FileBody):
            return self.content.chunks(deadline.restart)
        return self.content

    def async_body(self, on_chunk: Callable[[], None]) -> Optional[bytes | AsyncIterator[bytes]]:
        return self.content.achunks(on_chunk) if isinstance(self.content, FileBody) else self.content

    def shown_url(self) -> str:
        """The URL as messages show it: without its query, which may carry a credential (an upload
        token is one), and without user info. Error messages end up in logs."""
        parts = urlsplit(self.url)
        return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))

    def describe(self) -> str:
        return f"{self.method} {self.shown_url()}"


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}


def _checked_base_url(url: str, example: str) -> str:
    """The base URL as given, when requests can be built on it (an http(s) address with a host).
    Without this, `127.0.0.1:8090/v1` failed only at the first call, as an `APIConnectionError`
    about an unsupported protocol."""
    parts = urlsplit(url)
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return url
    if url == "":
        raise ValueError("base_url is required: the API description names no server address to default to")
    shown = url if len(url) <= 100 else url[:100] + "…"
    like = f" such as {example!r}" if example.lower().startswith(("http://", "https://")) else ""
    raise ValueError(f"base_url must be an http:// or https:// address{like}, not {shown!r}")


class BaseClient:
    """What the blocking and the async client share: configuration, request building and the
    retry policy. Neither sends anything itself."""

    def __init__(self, operations: Mapping[str, Operation], defaults: ClientDefaults, config: ClientConfig) -> None:
        prefix = defaults["env_prefix"]
        self._operations = operations
        self._defaults = defaults
        self.api_key = config.api_key if config.api_key is not None else os.environ.get(f"{prefix}_API_KEY") or None
        self._credentials = dict(config.credentials)
        self._schemes: Mapping[str, SecurityScheme] = defaults.get("security_schemes") or {}
        self._download_security = defaults.get("security", []) if "security_schemes" in defaults else None
        self.base_url = _checked_base_url(
            (config.base_url or os.environ.get(f"{prefix}_BASE_URL") or defaults["base_url"]).rstrip("/"), defaults["base_url"]
        )
        self.timeout = _seconds(config.timeout)
        self.max_retries = config.max_retries
        # Lowercase, as every header this client sets: a `Cookie` given here and the `cookie` an API key
        # adds would else be two keys, sent as two Cookie headers (a server reads one of them).
        self._headers = {k.lower(): v for k, v in config.headers.items()}
        self._initial_delay = config.initial_retry_delay
        self._max_delay = config.max_retry_delay
        self._max_retry_after = config.max_retry_after
        self._max_response_bytes = config.max_response_bytes
        self._user_agent = f"{defaults['name']}-python/{defaults['version']}"

    def _operation(self, operation_id: str) -> Operation:
        op = self._operations.get(operation_id)
        if op is None:
            raise TypeError(f"unknown operation {operation_id!r}")
        return op

    def _build(self, operation_id: str, params: Mapping[str, object], options: Optional[RequestOptions]) -> _Request:
        op = self._operation(operation_id)
        opts: RequestOptions = options or {}
        path_values: Dict[str, object] = {}
        query: List[Tuple[str, str]] = []
        # Only the encodings _decoding.py inflates in bounded pieces (httpx would add br if installed).
        headers: Dict[str, str] = {"accept": "application/json, */*;q=0.5", "accept-encoding": ACCEPT_ENCODING,
                                   "user-agent": self._user_agent}
        headers.update(self._headers)
        auth = credentials_for(op.get("security"), self._schemes, self._credentials, self.api_key)
        apply_auth_headers(headers, auth)
        flat: Dict[str, object] = {}
        single: object = NOT_GIVEN
        for arg, value in params.items():
            if isinstance(value, NotGiven):
                continue
            binding = op["args"].get(arg)
            if binding is None:
                raise TypeError(f"{operation_id}: unknown argument {arg!r}")
            where = binding["location"]
            if where == "path":
                path_values[binding["name"]] = value
            elif where == "query":
                query.extend(_query_pairs(binding, value))
            elif where == "header":
                if value is not None:
                    headers[binding["name"].lower()] = _scalar(value)
            elif op["body_mode"] == "single":
                single = value
            else:
                flat[binding["name"]] = value
        headers.update({k.lower(): v for k, v in (opts.get("headers") or {}).items()})
        key_header = op["idempotency_header"]
        if key_header and key_header.lower() not in headers:
            # One key for every attempt of this call: that is what makes the retries safe.
            headers[key_header.lower()] = opts.get("idempotency_key") or str(uuid.uuid4())
        body: object = single if op["body_mode"] == "single" else (flat if flat or op["body_required"] else NOT_GIVEN)
        content, files = _encode_body(op, body, headers)
        url = self.base_url + _expand_path(op["path"], path_values)
        # Messages show the URL without its query (shown_url), so an API key sent there stays out of them.
        query.extend(auth.query)
        if query:
            url += "?" + urlencode(query)
        method = op["method"].upper()
        return _Request(
            method, url, headers, content, files,
            retriable=key_header is not None or method in _SAFE_METHODS,
            max_retries=opts.get("max_retries", self.max_retries),
            timeout=_seconds(opts.get("timeout", self.timeout)),
            response_json=op.get("response_json", False),
            response_keys=op.get("response_keys"),
        )

    def _download_headers(self) -> Dict[str, str]:
        """The client's headers and the credentials a download from the API's origin carries: the
        document's default requirement's (its cookie joined to a client-wide Cookie), never a query
        key (that would change a signed link's query)."""
        out: Dict[str, str] = dict(self._headers)
        apply_auth_headers(out, credentials_for(self._download_security, self._schemes, self._credentials, self.api_key))
        return out

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: a random delay between half and all of initial * 2^attempt."""
        ceiling: float = min(self._max_delay, self._initial_delay * 2 ** attempt)
        return ceiling / 2 + random.random() * ceiling / 2

    def _retry_delay(self, req: _Request, attempt: int, error: LavendlyError, never_sent: bool = False) -> Optional[float]:
        """Seconds to wait before the next attempt, or None to give up with `error`."""
        if attempt >= req.max_retries:
            return None
        if isinstance(error, APIConnectionError):
            # A request that never reached the server is always safe to repeat.
            return self._backoff(attempt) if req.retriable or never_sent else None
        if error.status == 429 or (req.retriable and (
                error.code == "idempotency_key_in_progress" or (error.status >= 500 and error.status != 501))):
            asked = error.retry_after if isinstance(error, APIStatusError) else None
            wait = asked if asked is not None else self._backoff(attempt)
            return wait if wait <= self._max_retry_after else None
        return None

    def _reader(self, req: _Request, response: httpx.Response, deadline: Optional[Deadline] = None) -> _BodyReader:
        return _BodyReader(req, response, self._max_response_bytes, deadline)

    def _result(self, req: _Request, response: httpx.Response, data: bytes | bytearray) -> object:
        status = response.status_code
        # An error envelope is the server's word on a failure: a number beyond a double in it is kept as
        # its literal text ("1e400") so the error keeps its class, code and message (see _json.loads).
        kind, body = _parse_body(response, data, literals=not response.is_success)
        if response.is_success:
            # A 204 or 205 carries no body: fine unless the operation documents an object, which
            # the caller would get as None typed as that object.
            if (kind == "text" and _labelled_json(response)) or (req.response_json and kind != "json" and (
                    status not in (204, 205) or req.response_keys is not None)):
                what = "nothing" if kind == "none" else f"a body that is not JSON ({response.headers.get('content-type') or 'no content type'})"
                raise InvalidResponseError(
                    f"{req.describe()}: HTTP {status} answered {what} where the API documents JSON",
                    code="invalid_response", status=status, request_id=response.headers.get("x-request-id"),
                    details={"body": body[:500]} if isinstance(body, str) else {}, headers=response.headers)
            beyond = beyond_double_at(body) if kind == "json" and MAY_OVERFLOW_BYTES.search(data) else None
            if beyond is not None:
                raise InvalidResponseError(
                    f"{req.describe()}: HTTP {status} answered a number beyond a double (±1.8e308) at {beyond}, which the SDK cannot represent",
                    code="number_out_of_range", status=status, request_id=response.headers.get("x-request-id"),
                    details={"path": beyond}, headers=response.headers)
            if kind == "json" and req.response_keys is not None:
                _check_keys(req, response, body, req.response_keys)
            return body
        raise error_from_response(status, response.headers, body,
                                  self._defaults["errors_by_code"], self._defaults["errors_by_status"])

    def _transport_error(self, req: _Request, e: Exception) -> LavendlyError:
        """The SDK's error for what httpx (or the attempt's deadline) raised."""
        if isinstance(e, LavendlyError):
            return e
        if isinstance(e, (httpx.TimeoutException, asyncio.TimeoutError)):
            return APITimeoutError(f"{req.describe()} timed out after {req.timeout} s", code="timeout")
        return APIConnectionError(f"{req.describe()} failed: {repr(e).replace(req.url, req.shown_url())}", code="connection_error")

    def _poll_params(self, operation_id: str, job: object) -> Tuple[str, AsyncJob, Dict[str, object]]:
        spec = self._operation(operation_id)["async_job"]
        if spec is None:
            raise TypeError(f"operation {operation_id!r} does not return a job")
        poll = self._operation(spec["poll"])
        params: Dict[str, object] = {}
        for param, field in spec["args"].items():
            value = _get_field(job, field)
            if value is None:
                raise TypeError(f"{operation_id}: the job has no {field!r} to poll {spec['poll']} with")
            arg = next((a for a, b in poll["args"].items() if b["name"] == param and b["location"] in ("path", "query")), param)
            params[arg] = value
        return spec["poll"], spec, params

    def _cursor_arg(self, operation_id: str) -> str:
        args = self._operation(operation_id)["args"]
        return next((a for a, b in args.items() if b["location"] == "query" and b["name"] == "cursor"), "cursor")


def _seconds(timeout: object) -> float:
    """A timeout as given, checked: every attempt needs a finite deadline (None, 0, NaN or infinity
    would otherwise fail deep inside the call with a TypeError, ValueError or OverflowError)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e9:
        raise ValueError(f"timeout must be a number of seconds above 0 and below 1e9, not {timeout!r}")
    return float(timeout)


def _never_sent(e: Exception) -> bool:
    return isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout))


def _is_terminal(body: object, spec: AsyncJob) -> bool:
    status = _get_field(body, spec["status_field"])
    return isinstance(status, str) and status in spec["terminal"]


class SyncAPIClient(BaseClient):
    """The blocking client core (httpx.Client)."""

    def __init__(self, operations: Mapping[str, Operation], defaults: ClientDefaults, config: ClientConfig,
                 http_client: Optional[httpx.Client]) -> None:
        super().__init__(operations, defaults, config)
        self._http = http_client or httpx.Client()

    def call(self, operation_id: str, params: Mapping[str, object], options: Optional[RequestOptions] = None) -> object:
        """Calls an operation with its flattened arguments; returns the parsed response body."""
        req = self._build(operation_id, params, options)
        attempt = 0
        while True:
            try:
                return self._attempt(req)
            except (httpx.RequestError, APIConnectionError) as e:
                # RequestError: transport failures, and bodies that do not decode (a bad gzip stream).
                error: LavendlyError = self._transport_error(req, e)
                delay = self._retry_delay(req, attempt, error, _never_sent(e))
                if delay is None:
                    if error is e:
                        raise
                    raise error from e
            except APIStatusError as e:
                delay = self._retry_delay(req, attempt, e)
                if delay is None:
                    raise
            time.sleep(delay)
            attempt += 1

    def _attempt(self, req: _Request) -> object:
        """One request, from connecting to its body's last byte, under the attempt's deadline, and
        its body under the size cap. (httpx's timeout bounds each read, so a server dripping a byte
        at a time would otherwise never time out; see _deadline.py.) The body is parsed here, out
        of the deadline: a large one that arrived in time is not thrown away while parsed."""
        response, data = run_within(lambda deadline: self._receive(req, deadline), req.timeout)
        return self._result(req, response, data)

    def _receive(self, req: _Request, deadline: Deadline) -> Tuple[httpx.Response, bytearray]:
        """The attempt's I/O, on _deadline.py's worker thread."""
        with self._http.stream(req.method, req.url, headers=req.headers, content=req.body(deadline), files=req.files,
                               timeout=req.timeout, follow_redirects=False,
                               extensions={"trace": deadline.trace}) as response:
            reader = self._reader(req, response, deadline)
            for chunk in iter_decoded(response):
                reader.add(chunk)
            return response, reader.data()

    def upload_via_slot(self, open_id: str, spec: SlotUpload, file: UploadFile, params: Mapping[str, object],
                        options: Optional[RequestOptions] = None) -> object:
        """Opens an upload slot with `open_id` and sends `file` to it; returns what the send answers."""
        body, open_params = _slot_request(spec, file, params)
        slot = self.call(open_id, open_params, options)
        return self.call(spec["send"], _send_params(open_id, spec, slot, body), _send_options(options))

    def download(self, url: str, *, timeout: Optional[float] = None, max_retries: Optional[int] = None,
                 headers: Optional[Mapping[str, str]] = None) -> Download:
        """Streams what a signed `url` of the API points at (a render's, asset's or still's):
        `with client.download(url) as d: for chunk in d.iter_bytes(): ...`. The API key goes only
        to the API's own origin, never to a store's presigned link."""
        return Download(self, self._http, url, timeout=timeout, max_retries=max_retries, headers=headers)

    def download_file(self, url: str, path: PathArg, *, overwrite: bool = False, timeout: Optional[float] = None,
                      max_retries: Optional[int] = None, headers: Optional[Mapping[str, str]] = None) -> DownloadedFile:
        """Downloads `url` into the file `path`: streamed to a temporary file beside it, renamed into
        place once complete. Raises FileExistsError for an existing file unless `overwrite`."""
        return download_file(self, self._http, url, path, overwrite=overwrite, timeout=timeout,
                             max_retries=max_retries, headers=headers)

    def paginate(self, operation_id: str, params: Mapping[str, object],
                 options: Optional[RequestOptions] = None) -> SyncPager[object, object]:
        cursor_arg = self._cursor_arg(operation_id)

        def fetch(cursor: Optional[str]) -> object:
            page = dict(params)
            if cursor is not None:
                page[cursor_arg] = cursor
            return self.call(operation_id, page, options)

        return SyncPager(fetch)

    def wait_for_job(self, operation_id: str, job: object, *, timeout: float = 600, interval: float = 2,
                     on_poll: Optional[Callable[[object], None]] = None) -> object:
        """Polls the job's poll operation until its status is terminal; returns the last polled body."""
        poll, spec, params = self._poll_params(operation_id, job)
        deadline = time.monotonic() + timeout
        while True:
            last = self.call(poll, params)
            if on_poll is not None:
                on_poll(last)
            if _is_terminal(last, spec):
                return last
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(f"{poll}: the job was not finished after {timeout} s", last)
            time.sleep(interval)

    def close(self) -> None:
        self._http.close()


class AsyncAPIClient(BaseClient):
    """The async client core (httpx.AsyncClient)."""

    def __init__(self, operations: Mapping[str, Operation], defaults: ClientDefaults, config: ClientConfig,
                 http_client: Optional[httpx.AsyncClient]) -> None:
        super().__init__(operations, defaults, config)
        self._http = http_client or httpx.AsyncClient()

    async def call(self, operation_id: str, params: Mapping[str, object], options: Optional[RequestOptions] = None) -> object:
        """Calls an operation with its flattened arguments; returns the parsed response body."""
        req = self._build(operation_id, params, options)
        attempt = 0
        while True:
            try:
                # The whole attempt under one deadline: headers dripped slowly count as well.
                return await self._within_deadline(req)
            except (httpx.RequestError, APIConnectionError, asyncio.TimeoutError) as e:
                # RequestError: transport failures, and bodies that do not decode (a bad gzip stream).
                error: LavendlyError = self._transport_error(req, e)
                delay = self._retry_delay(req, attempt, error, _never_sent(e))
                if delay is None:
                    if error is e:
                        raise
                    raise error from e
            except APIStatusError as e:
                delay = self._retry_delay(req, attempt, e)
                if delay is None:
                    raise
            await asyncio.sleep(delay)
            attempt += 1

    async def _within_deadline(self, req: _Request) -> object:
        """The attempt, cancelled (asyncio.TimeoutError) `req.timeout` after it began or, for a
        file body, after the last chunk of it went out."""
        if not isinstance(req.content, FileBody):
            return await asyncio.wait_for(self._attempt(req, lambda: None), req.timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + req.timeout

        def progress() -> None:
            nonlocal deadline
            deadline = loop.time() + req.timeout

        task = asyncio.ensure_future(self._attempt(req, progress))
        try:
            while not task.done():
                left = deadline - loop.time()
                if left <= 0:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                    raise asyncio.TimeoutError()
                await asyncio.wait({task}, timeout=left)
        except asyncio.CancelledError:
            task.cancel()  # the caller's cancellation goes to the attempt too
            raise
        return task.result()

    async def _attempt(self, req: _Request, progress: Callable[[], None]) -> object:
        content = req.async_body(progress)
        async with self._http.stream(req.method, req.url, headers=req.headers, content=content,
                                     files=req.files, timeout=req.timeout, follow_redirects=False) as response:
            reader = self._reader(req, response)
            async for chunk in aiter_decoded(response):
                reader.add(chunk)
            return self._result(req, response, reader.data())

    async def upload_via_slot(self, open_id: str, spec: SlotUpload, file: UploadFile, params: Mapping[str, object],
                              options: Optional[RequestOptions] = None) -> object:
        """Opens an upload slot with `open_id` and sends `file` to it; returns what the send answers."""
        body, open_params = _slot_request(spec, file, params)
        slot = await self.call(open_id, open_params, options)
        return await self.call(spec["send"], _send_params(open_id, spec, slot, body), _send_options(options))

    def download(self, url: str, *, timeout: Optional[float] = None, max_retries: Optional[int] = None,
                 headers: Optional[Mapping[str, str]] = None) -> AsyncDownload:
        """Streams what a signed `url` of the API points at (a render's, asset's or still's):
        `async with client.download(url) as d: async for chunk in d.aiter_bytes(): ...`. The API
        key goes only to the API's own origin, never to a store's presigned link."""
        return AsyncDownload(self, self._http, url, timeout=timeout, max_retries=max_retries, headers=headers)

    async def download_file(self, url: str, path: PathArg, *, overwrite: bool = False, timeout: Optional[float] = None,
                            max_retries: Optional[int] = None, headers: Optional[Mapping[str, str]] = None) -> DownloadedFile:
        """Downloads `url` into the file `path`: streamed to a temporary file beside it, renamed into
        place once complete. Raises FileExistsError for an existing file unless `overwrite`."""
        return await adownload_file(self, self._http, url, path, overwrite=overwrite, timeout=timeout,
                                    max_retries=max_retries, headers=headers)

    def paginate(self, operation_id: str, params: Mapping[str, object],
                 options: Optional[RequestOptions] = None) -> AsyncPager[object, object]:
        cursor_arg = self._cursor_arg(operation_id)

        async def fetch(cursor: Optional[str]) -> object:
            page = dict(params)
            if cursor is not None:
                page[cursor_arg] = cursor
            return await self.call(operation_id, page, options)

        return AsyncPager(fetch)

    async def wait_for_job(self, operation_id: str, job: object, *, timeout: float = 600, interval: float = 2,
                           on_poll: Optional[Callable[[object], None]] = None) -> object:
        """Polls the job's poll operation until its status is terminal; returns the last polled body."""
        poll, spec, params = self._poll_params(operation_id, job)
        deadline = time.monotonic() + timeout
        while True:
            last = await self.call(poll, params)
            if on_poll is not None:
                on_poll(last)
            if _is_terminal(last, spec):
                return last
            if time.monotonic() + interval > deadline:
                raise WaitTimeoutError(f"{poll}: the job was not finished after {timeout} s", last)
            await asyncio.sleep(interval)

    async def close(self) -> None:
        await self._http.aclose()


PageT = TypeVar("PageT")
ItemT = TypeVar("ItemT")


def _page_step(page: object, seen: set[str]) -> Optional[str]:
    """The cursor of the page after `page`, or None at the end (a repeated cursor is an error)."""
    if not isinstance(page, dict) or page.get("has_more") is False:
        return None
    cursor = page.get("next_cursor")
    if not isinstance(cursor, str) or not cursor:
        return None
    if cursor in seen:
        raise LavendlyError(f"the server returned cursor {cursor!r} twice", code="pagination_loop")
    seen.add(cursor)
    return cursor


def _items(page: object) -> List[object]:
    data = page.get("data") if isinstance(page, dict) else None
    return list(data) if isinstance(data, list) else []


class SyncPager(Generic[PageT, ItemT]):
    """A cursor-paginated list. Iterating it yields every item of every page; `first_page()` is
    the first page and `pages()` iterates whole pages. Nothing is sent before either is used."""

    def __init__(self, fetch: Callable[[Optional[str]], object]) -> None:
        self._fetch = fetch

    def first_page(self) -> PageT:
        return cast(PageT, self._fetch(None))

    def pages(self) -> Iterator[PageT]:
        seen: set[str] = set()
        page = self._fetch(None)
        while True:
            yield cast(PageT, page)
            cursor = _page_step(page, seen)
            if cursor is None:
                return
            page = self._fetch(cursor)

    def __iter__(self) -> Iterator[ItemT]:
        for page in self.pages():
            yield from cast(List[ItemT], _items(page))


class AsyncPager(Generic[PageT, ItemT]):
    """A cursor-paginated list: `await` it for the first page, `async for` over it for every item
    of every page, `pages()` for whole pages. Nothing is sent before one of those."""

    def __init__(self, fetch: Callable[[Optional[str]], Awaitable[object]]) -> None:
        self._fetch = fetch

    async def first_page(self) -> PageT:
        return cast(PageT, await self._fetch(None))

    def __await__(self) -> Generator[object, None, PageT]:
        return self.first_page().__await__()

    async def pages(self) -> AsyncIterator[PageT]:
        seen: set[str] = set()
        page = await self._fetch(None)
        while True:
            yield cast(PageT, page)
            cursor = _page_step(page, seen)
            if cursor is None:
                return
            page = await self._fetch(cursor)

    async def __aiter__(self) -> AsyncIterator[ItemT]:
        async for page in self.pages():
            for item in cast(List[ItemT], _items(page)):
                yield item


def _slot_request(spec: SlotUpload, file: UploadFile, params: Mapping[str, object]) -> Tuple[object, Dict[str, object]]:
    """The body to send and the slot-opening arguments, with the file's size (so an oversized file
    fails before it is sent) and name filled in where the caller left them out. A `str` names a
    file here, as in most upload helpers: `upload_file("fox.mp4")` sending the seven characters
    "fox.mp4" would surprise everyone (the plain send operation still takes a str as content)."""
    if isinstance(file, str):
        file = pathlib.Path(file)
    streamed = file_body(file)
    size = streamed.size if streamed else len(file) if isinstance(file, bytes) else len(file.encode("utf-8")) if isinstance(file, str) else None
    name = streamed.name if streamed else None
    out = dict(params)
    for arg, value in ((spec["size"], size), (spec["filename"], name)):
        if arg and value is not None and isinstance(out.get(arg, NOT_GIVEN), NotGiven):
            out[arg] = value
    return (streamed or file), out


def _send_params(open_id: str, spec: SlotUpload, slot: object, body: object) -> Dict[str, object]:
    out: Dict[str, object] = {spec["body_arg"]: body}
    for arg, name in spec["args"].items():
        value = slot.get(name) if isinstance(slot, dict) else None
        if value is None:
            raise InvalidResponseError(f"{open_id}: the slot has no {name!r} for {spec['send']}", code="invalid_response")
        out[arg] = value
    return out


def _send_options(options: Optional[RequestOptions]) -> Optional[RequestOptions]:
    """The options for sending: the idempotency key was the slot's; a slot takes one file, which
    makes sending it idempotent by itself."""
    if not options:
        return options
    out = cast(RequestOptions, {k: v for k, v in options.items() if k != "idempotency_key"})
    return out


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _deep_pairs(pairs: List[Tuple[str, str]], key: str, value: object, depth: int) -> None:
    """A deepObject form field: each nested field in brackets, list items by index (`a[b][0][c]=v`)."""
    if value is None:
        return
    if isinstance(value, dict) and depth <= 32:
        for k, v in value.items():
            _deep_pairs(pairs, f"{key}[{k}]", v, depth + 1)
    elif isinstance(value, list) and depth <= 32:
        for i, v in enumerate(value):
            _deep_pairs(pairs, f"{key}[{i}]", v, depth + 1)
    else:
        pairs.append((key, _scalar(value)))


def _query_pairs(binding: ArgBinding, value: object) -> List[Tuple[str, str]]:
    if value is None:
        return []
    if isinstance(value, list):
        if binding["explode"]:
            return [(binding["name"], _scalar(v)) for v in value]
        return [(binding["name"], ",".join(_scalar(v) for v in value))]
    if isinstance(value, dict):
        # form style, exploded: each property becomes its own parameter
        return [(str(k), _scalar(v)) for k, v in value.items() if v is not None]
    return [(binding["name"], _scalar(value))]


def _expand_path(template: str, values: Mapping[str, object]) -> str:
    out = template
    for name, value in values.items():
        if value is None:
            raise TypeError(f"missing path parameter {name!r} for {template}")
        segment = quote(_scalar(value), safe="")
        # httpx resolves dot segments before sending: ".../tracks/.." goes out as the workflow's own
        # URL, so a DELETE meant for a track would remove the whole workflow. An empty segment names
        # another route too. No id is any of these.
        if segment in ("", ".", ".."):
            raise ValueError(f"path parameter {name!r} for {template} cannot be {segment!r}: it would change which URL is called")
        out = out.replace("{" + name + "}", segment)
    if "{" in out:
        raise TypeError(f"missing path parameter in {out}")
    return out


def _encode_body(op: Operation, body: object, headers: Dict[str, str]) -> Tuple[Union[None, bytes, FileBody], Optional[List[Tuple[str, Tuple[Optional[str], Union[bytes, str]]]]]]:
    if isinstance(body, NotGiven):
        return None, None
    content_type = op["content_type"] or "application/json"
    # Encoded by the declared type/subtype, whatever its case and parameters
    # (`Application/X-WWW-Form-Urlencoded`, `...; charset=utf-8`); the header sends it as declared.
    bare = content_type.split(";")[0].strip().lower()
    streamed = file_body(body)
    if streamed is not None:
        headers.setdefault("content-type", content_type)
        if streamed.size is not None:
            headers["content-length"] = str(streamed.size)  # else httpx sends it chunked
        return streamed, None
    if isinstance(body, (bytes, bytearray, str)):
        headers.setdefault("content-type", content_type)
        return (body.encode("utf-8") if isinstance(body, str) else bytes(body)), None
    if bare == "multipart/form-data" and isinstance(body, dict):
        files: List[Tuple[str, Tuple[Optional[str], Union[bytes, str]]]] = []
        for key, value in body.items():
            for item in value if isinstance(value, list) else [value]:
                if item is None:
                    continue
                if isinstance(item, bytes):
                    files.append((str(key), ("file", item)))
                else:
                    files.append((str(key), (None, _scalar(item))))
        return None, files
    if bare == "application/x-www-form-urlencoded" and isinstance(body, dict):
        headers["content-type"] = content_type
        # As the spec's `encoding` says (the server decodes it so): a list is its key repeated
        # (OpenAPI's default for a form field); a deepObject field in brackets (`meta[key]=v`,
        # `items[0][price]=x`); a JSON-typed one, and any other dict, as one JSON text.
        styles = op.get("form_encoding") or {}
        pairs: List[Tuple[str, str]] = []
        for k, v in body.items():
            style = styles.get(str(k))
            if style == "deepObject":
                _deep_pairs(pairs, str(k), v, 0)
            elif style == "json":
                if v is not None:
                    pairs.append((str(k), json.dumps(v, separators=(",", ":"))))
            else:
                pairs.extend((str(k), _scalar(item)) for item in (v if isinstance(v, list) else [v]) if item is not None)
        return urlencode(pairs).encode("ascii"), None
    # A wildcard (`application/*`, `*/*`) or any type that is not JSON: the dict goes as JSON, labelled so.
    headers.setdefault("content-type", content_type if "json" in bare else "application/json")
    return json.dumps(body).encode("utf-8"), None


class _BodyReader:
    """Collects a streamed body, refusing one past the size cap or the attempt's deadline."""

    def __init__(self, req: _Request, response: httpx.Response, limit: int, deadline: Optional[Deadline]) -> None:
        self._req = req
        self._response = response
        self._limit = limit
        # The blocking client's deadline began with the attempt (and the worker stops once it is
        # given up); the async client's attempt is cancelled by asyncio.wait_for.
        self._deadline = deadline or Deadline(req.timeout)
        # One buffer, not a list of chunks joined at the end: the join would hold the body twice.
        self._buffer = bytearray()
        try:
            declared = int(response.headers.get("content-length", ""))
        except ValueError:
            declared = 0
        self._check(declared)

    def add(self, chunk: bytes) -> None:
        self._check(len(self._buffer) + len(chunk))
        self._buffer += chunk
        if self._deadline.expired:
            raise APITimeoutError(f"{self._req.describe()} timed out after {self._req.timeout} s", code="timeout")

    def data(self) -> bytearray:
        return self._buffer

    def _check(self, size: int) -> None:
        if size > self._limit:
            status = self._response.status_code
            raise InvalidResponseError(
                f"{self._req.describe()}: HTTP {status} with a body over {self._limit} bytes (max_response_bytes)",
                code="response_too_large", status=status, request_id=self._response.headers.get("x-request-id"),
                headers=self._response.headers)


def _check_keys(req: _Request, response: httpx.Response, body: object, keys: List[str]) -> None:
    """Refuses a success body that is not the documented object: caller code indexing it by the
    TypedDict's keys would otherwise fail far from the call, with a KeyError or a TypeError."""
    if isinstance(body, dict):
        missing = [k for k in keys if k not in body]
        if not missing:
            return
        what = "an object without " + ", ".join(repr(k) for k in missing[:10]) + ", which the API documents"
    else:
        what = ("null" if body is None else f"a JSON {type(body).__name__}") + " where the API documents an object"
        missing = keys
    status = response.status_code
    raise InvalidResponseError(
        f"{req.describe()}: HTTP {status} answered {what}",
        code="invalid_response", status=status, request_id=response.headers.get("x-request-id"),
        details={"missing": missing}, headers=response.headers)


def _labelled_json(response: httpx.Response) -> bool:
    # Media types are case-insensitive: `Application/JSON` is JSON.
    return "json" in response.headers.get("content-type", "").lower()


def _parse_body(response: httpx.Response, data: bytes | bytearray, literals: bool = False) -> Tuple[Literal["none", "json", "text", "bytes"], object]:
    """The body by its content type: JSON parsed (numbers beyond a double as _json.loads reads them
    with `literals`), text (also JSON-labelled text that does not parse), else bytes."""
    if response.status_code in (204, 205, 304):
        return "none", None
    # Media types are case-insensitive and may carry parameters: `Text/Plain; Charset=UTF-8` is text.
    bare = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if _labelled_json(response) or bare.startswith("text/") or bare == "":
        text = _decode(data, response.charset_encoding)
        if not text:
            return "none", None
        if _labelled_json(response):
            try:
                return "json", json_loads(text, literals)
            except (ValueError, RecursionError):
                # Not JSON, or nested deeper than the parser's stack, or an integer past Python's digit limit.
                pass
        return "text", text
    return "bytes", bytes(data)


def _decode(data: bytes | bytearray, charset: Optional[str]) -> str:
    """The body as text in the charset its content type names, else (also for a charset that is
    no text encoding: `rot13`, `base64`, `zlib` raise LookupError from decode, `idna` a
    UnicodeError with errors="replace") as UTF-8."""
    try:
        return data.decode(charset or "utf-8", errors="replace")
    except (LookupError, ValueError):  # UnicodeError is a ValueError
        return data.decode("utf-8", errors="replace")


def _get_field(value: object, path: str) -> object:
    current = value
    for key in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(key)
    return current
