"""Downloading what the API links to (a render's, asset's or still's signed `url`): streamed, checked
against the length the server declared, resumed with Range after a dropped connection where the
server allows it (else started over), and, for download_file, written to a temporary file beside
the target that is renamed into place only once complete. The API key and the client's headers go
only to the API's own origin: a presigned link to a store elsewhere carries its own credential.
Part of the Python SDK runtime: standard library and httpx only."""
from __future__ import annotations

import os
import pathlib
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, Union
from urllib.parse import urljoin, urlsplit

import httpx

from ._json import loads as json_loads
from ._exceptions import (
    APIConnectionError, APIStatusError, APITimeoutError, InvalidResponseError, LavendlyError, error_from_response,
)

if TYPE_CHECKING:
    from ._core import BaseClient

MAX_REDIRECTS = 5
ERROR_BODY_LIMIT = 64 * 1024
"""An error answer is read for its envelope, never more than this."""

PathArg = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class DownloadedFile:
    """What download_file wrote."""

    path: pathlib.Path
    bytes: int
    content_type: Optional[str]


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


def _check_scheme(url: str, what: str) -> None:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise LavendlyError(f"{what} is a {scheme or 'scheme-less'} URL; the SDK downloads only http and https",
                            code="unsupported_scheme")


def _store_error(status: int, text: str) -> Optional[Dict[str, object]]:
    """An S3-style XML error as the API's own envelope for the same case: a refused link is
    `forbidden` (reason `expired` or `invalid_signature`, as the API's /files answers), a missing object
    `not_found`."""
    if not re.match(r"\s*(<\?xml[^>]*>\s*)?<Error>", text):
        return None
    found = re.search(r"<Code>([^<]{0,500})</Code>", text)
    if not found:
        return None
    store_code = found.group(1)
    message_match = re.search(r"<Message>([^<]{0,500})</Message>", text)
    message = message_match.group(1) if message_match else store_code
    if status == 403:
        reason = "expired" if "expired" in message.lower() or store_code == "ExpiredToken" else "invalid_signature"
        return {"error": {"code": "forbidden", "message": f"The store refused the link: {message}", "reason": reason,
                          "store_code": store_code}}
    if status == 404:
        return {"error": {"code": "not_found", "message": f"The store has no such file: {message}", "store_code": store_code}}
    return {"error": {"code": f"http_{status}", "message": f"The store answered {status}: {message}", "store_code": store_code}}


class Transfer:
    """One download's state and decisions, shared by the blocking and the async driver (which do
    the I/O): which headers each hop gets, whether an answer continues the file, when to retry."""

    def __init__(self, client: BaseClient, url: str, *, timeout: Optional[float], max_retries: Optional[int],
                 headers: Optional[Mapping[str, str]], on_restart: Optional[Callable[[], None]]) -> None:
        self.client = client
        self.url = urljoin(client.base_url + "/", url)
        _check_scheme(self.url, "the link")
        self.timeout = float(timeout if timeout is not None else client.timeout)
        self.max_retries = max_retries if max_retries is not None else client.max_retries
        self.headers = dict(headers or {})
        self.on_restart = on_restart
        self.offset = 0
        """Bytes handed out so far."""
        self.total: Optional[int] = None
        """The file's whole size, once a server declared it."""
        self.attempt = 0
        self.response: Optional[httpx.Response] = None
        self._validator: Optional[str] = None
        self._ranges = False
        self._resuming = False
        parts = urlsplit(self.url)
        # As messages show it: the query carries the link's signature, and messages end up in logs.
        self.shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        self.what = f"GET {self.shown}"

    def request_headers(self, url: str) -> Dict[str, str]:
        """The headers of one hop: Authorization and the client's headers for the API's origin only."""
        if _origin(url) == _origin(self.client.base_url):
            out = {"user-agent": self.client._user_agent, **self.client._download_headers()}
        else:
            out = {"user-agent": self.client._user_agent}
        if _origin(url) == _origin(self.url):
            out.update(self.headers)
        # The bytes as stored: a compressed answer's length says nothing of the file's.
        out.update({"accept": "*/*", "accept-encoding": "identity"})
        self._resuming = self.offset > 0 and self._ranges and self._validator is not None
        if self._resuming:
            out.update({"range": f"bytes={self.offset}-", "if-range": self._validator or ""})
        return out

    def request(self, http: Union[httpx.Client, httpx.AsyncClient], url: str) -> Tuple[httpx.Request, Any]:
        """The request of one hop, and the auth to send it with. To another origin than the API's it
        is built bare: an http_client's own default headers, cookies and auth are meant for the API
        and stay off a presigned link (auth None: no auth flow; the default: the client's)."""
        headers = self.request_headers(url)
        if _origin(url) == _origin(self.client.base_url):
            return http.build_request("GET", url, headers=headers, timeout=self.timeout), httpx.USE_CLIENT_DEFAULT
        timeout = httpx.Timeout(self.timeout).as_dict()
        return httpx.Request("GET", url, headers=headers, extensions={"timeout": timeout}), None

    def redirect(self, response: httpx.Response, url: str, hop: int) -> Optional[str]:
        """The next hop's URL, or None when `response` is not a redirect."""
        location = response.headers.get("location") if 300 <= response.status_code < 400 else None
        if location is None:
            return None
        if hop >= MAX_REDIRECTS:
            raise LavendlyError(f"{self.what}: more than {MAX_REDIRECTS} redirects", code="http_redirect",
                                status=response.status_code)
        target = urljoin(url, location)
        _check_scheme(target, f"{self.what}: the redirect")
        return target

    def accept(self, response: httpx.Response) -> None:
        """Takes a 2xx answer as (the rest of) the file: raises if it is not, restarts if it is the whole file again."""
        start = 0
        if response.status_code == 206:
            found = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", response.headers.get("content-range", ""))
            if not self._resuming or not found or int(found.group(1)) != self.offset or (
                    self.total is not None and int(found.group(3)) != self.total):
                raise self.invalid(f"answered a range that is not the rest of the file "
                                   f"({response.headers.get('content-range') or 'no Content-Range'})", response)
            start = self.offset
        if start == 0 and self.offset > 0:
            if self.on_restart is None:
                raise APIConnectionError(f"{self.what} was cut off after {self.offset} bytes and the server cannot resume it",
                                         code="cannot_resume")
            self.on_restart()
            self.offset = 0
        length = response.headers.get("content-length", "")
        # A body the server compressed anyway is decoded (_decoding.py): its length is not the file's.
        declared = int(length) if length.isdigit() and not response.headers.get("content-encoding") else None
        if start == 0:
            self.total = declared
            # A Range counts the bytes as sent: of a compressed answer, not the decoded ones counted here.
            self._ranges = "bytes" in response.headers.get("accept-ranges", "").lower() and not response.headers.get("content-encoding")
            etag = response.headers.get("etag")
            self._validator = etag if etag and not etag.startswith("W/") else response.headers.get("last-modified")
        elif declared is not None and self.total is not None and start + declared != self.total:
            raise self.invalid(f"answered {declared} bytes from {start} of a {self.total}-byte file", response)
        self.response = response

    def count(self, chunk: bytes) -> bytes:
        self.offset += len(chunk)
        if self.total is not None and self.offset > self.total:
            raise self.invalid(f"answered more than the {self.total} bytes it declared", self.response)
        return chunk

    def check_end(self) -> None:
        if self.total is not None and self.offset != self.total:
            # Ended cleanly but short: as good as a dropped connection.
            raise APIConnectionError(f"{self.what}: the answer ended after {self.offset} of {self.total} bytes",
                                     code="incomplete_body")

    def error_of(self, response: httpx.Response, data: bytes) -> LavendlyError:
        """The typed error of an error answer: the API's envelope, or a store's XML error in its terms."""
        text = data.decode("utf-8", errors="replace")
        body: object = text
        # Media types are case-insensitive: an envelope labelled `Application/JSON` is JSON.
        if "json" in response.headers.get("content-type", "").lower():
            try:
                # As any error envelope (_core._result): a number beyond a double kept as its literal text.
                body = json_loads(text, literals=True)
            except (ValueError, RecursionError):
                pass
        else:
            body = _store_error(response.status_code, text) or text
        defaults = self.client._defaults
        error = error_from_response(response.status_code, response.headers, body,
                                    defaults["errors_by_code"], defaults["errors_by_status"])
        if response.status_code == 416 and self.offset > 0:
            # The file is no longer as long as it was: start over without a range.
            self._validator = None
            return APIConnectionError(f"{self.what}: the rest of the file is gone (416)", code="connection_error")
        return error

    def failure(self, e: Exception) -> LavendlyError:
        if isinstance(e, LavendlyError):
            return e
        if isinstance(e, (httpx.TimeoutException, TimeoutError)):
            return APITimeoutError(f"{self.what} timed out after {self.timeout} s without progress", code="timeout")
        return APIConnectionError(f"{self.what} failed after {self.offset} bytes: {type(e).__name__}: {e}".replace(self.url, self.shown),
                                  code="connection_error")

    def retry_delay(self, error: LavendlyError) -> Optional[float]:
        """Seconds to wait before the next attempt, or None to give up with `error`."""
        if self.attempt >= self.max_retries:
            return None
        if isinstance(error, APIConnectionError) and error.code != "cannot_resume":
            wait: Optional[float] = self.client._backoff(self.attempt)
        elif isinstance(error, APIStatusError) and (error.status == 429 or (error.status >= 500 and error.status != 501)):
            wait = error.retry_after if error.retry_after is not None else self.client._backoff(self.attempt)
        else:
            return None
        if wait is None or wait > self.client._max_retry_after:
            return None
        self.attempt += 1
        return wait

    def invalid(self, message: str, response: Optional[httpx.Response]) -> InvalidResponseError:
        return InvalidResponseError(f"{self.what} {message}", code="invalid_response",
                                    status=response.status_code if response is not None else 0,
                                    headers=response.headers if response is not None else None)


class TempFile:
    """The temporary file beside `target` that a download is written to, named into place at the end."""

    def __init__(self, target: PathArg, overwrite: bool) -> None:
        self.target = pathlib.Path(os.fspath(target)).absolute()
        self.overwrite = overwrite
        # Before any byte is fetched; the final link checks again, atomically.
        if not overwrite and os.path.lexists(self.target):
            raise FileExistsError(17, "the file exists (pass overwrite=True to replace it)", str(self.target))
        self.path = self.target.with_name(f".{self.target.name}.{uuid.uuid4().hex[:8]}.download")
        self.file = open(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb")
        self.written = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.written += len(chunk)

    def restart(self) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.written = 0

    def commit(self) -> pathlib.Path:
        self.file.flush()
        # On disk before it is named: a crash after the rename must not leave a file of zeros.
        os.fsync(self.file.fileno())
        self.file.close()
        if self.overwrite:
            os.replace(self.path, self.target)
            return self.target
        try:
            # link fails if the name was taken meanwhile; rename would replace it.
            os.link(self.path, self.target)
        except FileExistsError:
            raise FileExistsError(17, "the file exists (pass overwrite=True to replace it)", str(self.target)) from None
        except OSError:
            # A file system without hard links: check, then rename.
            if os.path.lexists(self.target):
                raise FileExistsError(17, "the file exists (pass overwrite=True to replace it)", str(self.target)) from None
            os.rename(self.path, self.target)
            return self.target
        os.unlink(self.path)
        return self.target

    def discard(self) -> None:
        self.file.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

