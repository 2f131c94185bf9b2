"""The errors the SDK raises that do not depend on the API's error codes, and the builder of typed
errors from an error response. Part of the Python SDK runtime: standard library and httpx only."""
from __future__ import annotations

import datetime
import email.utils
import math
import re
import time
from typing import Dict, Mapping, Optional, Type

import httpx


class LavendlyError(Exception):
    """Every error the SDK raises. `status` is 0 when no HTTP response was received."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "unknown_error",
        status: int = 0,
        request_id: Optional[str] = None,
        details: Optional[Dict[str, object]] = None,
        headers: Optional[httpx.Headers] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        # Every field of the error envelope besides code, message and request_id.
        self.details: Dict[str, object] = details if details is not None else {}
        self.headers = headers

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, request_id={self.request_id!r}, message={self.message!r})"


class APIStatusError(LavendlyError):
    """The API answered with an error status. Subclassed per status and per error code."""

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds the server asked us to wait (Retry-After), when it said."""
        return retry_after_seconds(self.headers)


class ServerError(APIStatusError):
    """Any 5xx answer."""


class InvalidResponseError(LavendlyError):
    """A success status whose body is not what the API documents: not JSON (a proxy's or captive
    portal's HTML page), truncated JSON (code `invalid_response`), larger than
    `max_response_bytes` (code `response_too_large`), or holding a number beyond a double such as
    1e400 or a 5000-digit integer (code `number_out_of_range`, `details["path"]`; json would make
    it inf, or refuse it past Python's digit limit). Never returned as if it were the answer. (In an
    error answer such a number is kept as its literal text, a string: the APIStatusError keeps its
    class, code and message.)"""


class APIConnectionError(LavendlyError):
    """No usable HTTP response: refused or reset connection, DNS failure."""


class APITimeoutError(APIConnectionError):
    """An attempt took longer than the timeout."""


class WaitTimeoutError(LavendlyError):
    """`wait_for_*` gave up before the job reached a terminal state. `last` is the last polled body."""

    def __init__(self, message: str, last: object) -> None:
        super().__init__(message, code="wait_timeout")
        self.last = last


class WebhookVerificationError(LavendlyError):
    """A webhook delivery whose headers, timestamp or signature do not check out (code
    `webhook_verification_failed`), or whose signed payload cannot be represented (code
    `number_out_of_range`)."""

    def __init__(self, message: str, code: str = "webhook_verification_failed", details: Optional[Dict[str, object]] = None) -> None:
        super().__init__(message, code=code, details=details)


# A plain decimal, as the TypeScript SDK reads these headers: float() alone would also take "nan",
# "-5", "1_000" and "inf" (NaN and -5 became an immediate retry, 1_000 a wait of 1000 s).
_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?\s*", re.ASCII)


def retry_after_seconds(headers: Optional[httpx.Headers]) -> Optional[float]:
    """`Retry-After-Ms`, or `Retry-After` as seconds or an HTTP date, in seconds."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms and _NUMBER.fullmatch(ms) and math.isfinite(float(ms)):
        return float(ms) / 1000
    text = headers.get("retry-after")
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return float(text)
    try:
        date = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if date.tzinfo is None:
        # An HTTP date is GMT; a naive one (no zone, or -0000) would be read in this machine's zone.
        date = date.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, float(date.timestamp()) - time.time())


def error_from_response(
    status: int,
    headers: httpx.Headers,
    body: object,
    by_code: Mapping[str, Type[APIStatusError]],
    by_status: Mapping[int, Type[APIStatusError]],
) -> APIStatusError:
    """The typed error for a non-2xx answer: by its envelope's code, else by its status."""
    envelope = body.get("error") if isinstance(body, dict) else None
    fields: Dict[str, object] = {str(k): v for k, v in envelope.items()} if isinstance(envelope, dict) else {}
    code = fields.pop("code", None)
    message = fields.pop("message", None)
    request_id = fields.pop("request_id", None)
    code_text = code if isinstance(code, str) else f"http_{status}"
    cls = by_code.get(code_text) or by_status.get(status) or (ServerError if status >= 500 else APIStatusError)
    text = message if isinstance(message, str) else _fallback_message(status, headers, body)
    if envelope is None and body is not None and body != "":
        fields["body"] = body
    return cls(
        text,
        code=code_text,
        status=status,
        request_id=request_id if isinstance(request_id, str) else headers.get("x-request-id"),
        details=fields,
        headers=headers,
    )


def _fallback_message(status: int, headers: httpx.Headers, body: object) -> str:
    """The message of an answer without the API's error envelope (a proxy's HTML page, plain text, a
    redirect): the status first, then what little the body says, markup and whitespace squeezed out."""
    location = headers.get("location") if 300 <= status < 400 else None
    if location:
        return f"HTTP {status}: redirected to {location[:200]}, which the SDK does not follow (set base_url to the final address)"
    if not isinstance(body, str):
        return f"HTTP {status}"
    # A bounded prefix: the patterns below must not see a huge body.
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", body[:4000], flags=re.I | re.S)
    text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return f"HTTP {status}: {text[:200]}" if text else f"HTTP {status}"
