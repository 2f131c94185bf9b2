"""The installed SDK in front of a hostile or broken server (hostile.test.ts serves it at
LAVENDLY_HOSTILE_URL; the first path segment picks the misbehaviour). Every case ends in a typed
LavendlyError, in bounded time and memory, with the blocking and the async client alike."""
import asyncio
import base64
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, List
from urllib.parse import quote

import httpx
import pytest

from lavendly import (
    APIConnectionError, APIStatusError, APITimeoutError, AsyncLavendly, InvalidResponseError, Lavendly, ServerError,
    WebhookVerificationError, sign_webhook, verify_webhook,
)

URL = os.environ["LAVENDLY_HOSTILE_URL"]


def client(case: str, **kw: object) -> Lavendly:
    return Lavendly(api_key="sk_secret", base_url=f"{URL}/{case}/v1", initial_retry_delay=0.01, max_retry_delay=0.02, **kw)  # type: ignore[arg-type]


BOTH = pytest.mark.parametrize("mode", ["sync", "async"])


def call(mode: str, case: str, op: Callable[[Any], Any] = lambda c: c.workflows.get("wf_1"), **kw: Any) -> Any:
    """`op(client)` on the blocking client, or awaited on the async client, configured alike."""
    config: Any = dict(api_key="sk_secret", base_url=f"{URL}/{case}/v1", initial_retry_delay=0.01, max_retry_delay=0.02)
    config.update(kw)
    if mode == "sync":
        with Lavendly(**config) as c:
            return op(c)

    async def main() -> Any:
        async with AsyncLavendly(**config) as c:
            return await op(c)

    return asyncio.run(main())


@BOTH
def test_a_server_dripping_bytes_times_out_at_the_attempt_timeout(mode: str) -> None:
    # One byte every 200 ms never trips httpx's per-read timeout; the attempt's deadline must.
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as e:
        call(mode, "drip", timeout=1.0, max_retries=0)
    assert time.monotonic() - started < 5
    assert e.value.code == "timeout"


@BOTH
def test_headers_dripped_a_byte_at_a_time_time_out_at_the_attempt_timeout(mode: str) -> None:
    # The server takes 12 s to finish its headers; httpx's timeout alone bounds only each read.
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as e:
        call(mode, "driphead", timeout=1.0, max_retries=1)
    assert time.monotonic() - started < 5  # two attempts of 1 s and a backoff of at most 0.02 s
    assert e.value.code == "timeout"


def test_an_attempt_given_up_on_does_not_linger_on_the_dripping_connection() -> None:
    # The attempt's worker thread, blocked reading the dripped headers, is woken by shutting its
    # socket down: it would otherwise hold a thread and a pooled connection for the server's 12 s.
    with pytest.raises(APITimeoutError):
        client("driphead", timeout=0.5, max_retries=0).workflows.get("wf_1")
    workers = [t for t in threading.enumerate() if t.name == "lavendly-attempt"]
    for worker in workers:
        worker.join(3)
    assert not [w for w in workers if w.is_alive()]


class CountingTransport(httpx.BaseTransport):
    """A transport of the caller's own around httpx's: it has none of httpx's private attributes."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_the_deadline_holds_on_an_http_client_with_a_transport_of_its_own() -> None:
    # It used to be set into httpx's connection pool through private attributes: a transport
    # without them kept only the per-read timeout, and the dripped headers took their 12 s.
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        client("driphead", timeout=1.0, max_retries=0,
               http_client=httpx.Client(transport=CountingTransport())).workflows.get("wf_1")
    assert time.monotonic() - started < 5


def test_the_deadline_does_not_cut_a_download_on_the_same_httpx_client() -> None:
    # The deadline holds only while the SDK sends; the caller's own streaming download on the
    # httpx.Client it handed to the SDK keeps httpx's per-read timeout, even between SDK calls.
    http = httpx.Client(timeout=1.0)
    sdk = Lavendly(api_key="k", base_url=f"{URL}/portal/v1", timeout=0.5, max_retries=0, http_client=http)
    received = b""
    with http.stream("GET", f"{URL}/slowfile") as download:
        for chunk in download.iter_bytes():
            received += chunk
            with pytest.raises(InvalidResponseError):
                sdk.workflows.get("wf_1")
    assert received == b"b" * 10


@BOTH
def test_a_body_without_end_stops_at_max_response_bytes(mode: str) -> None:
    with pytest.raises(InvalidResponseError) as e:
        call(mode, "endless", max_response_bytes=1 << 20)
    assert (e.value.status, e.value.code) == (200, "response_too_large")


# Run in a fresh interpreter, so that its peak resident size is this call's alone.
BOMB_CHILD = """
import asyncio, resource, sys
from lavendly import AsyncLavendly, InvalidResponseError, Lavendly
url, mode = sys.argv[1], sys.argv[2]
config = dict(api_key="k", base_url=url, max_retries=0, max_response_bytes=1 << 20)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    if mode == "sync":
        Lavendly(**config).workflows.get("wf_1")
    else:
        async def main():
            async with AsyncLavendly(**config) as c:
                await c.workflows.get("wf_1")
        asyncio.run(main())
except InvalidResponseError as e:
    print(e.code, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024)
"""


@BOTH
@pytest.mark.parametrize("kind", ["gzip", "deflate", "twice"])
def test_a_compression_bomb_is_refused_near_the_cap_in_memory(mode: str, kind: str) -> None:
    # 256 MiB decoded from a few hundred KiB: httpx inflated each 64 KiB read whole, so the 1 MiB
    # cap was checked only after some 64 MiB (a gigabyte for `twice`) were in memory.
    r = subprocess.run([sys.executable, "-c", BOMB_CHILD, f"{URL}/bomb/{kind}/v1", mode],
                       capture_output=True, text=True, timeout=60)
    code, grew_mib = r.stdout.split()
    assert code == "response_too_large", r.stderr
    assert int(grew_mib) < 16, r.stdout


@BOTH
def test_a_download_compressed_anyway_comes_in_bounded_pieces(mode: str) -> None:
    # A download asks for identity; a server compressing anyway is decoded a piece at a time
    # (not one 64 MiB piece per read), and the file is what it decodes to.
    sizes: List[int] = []
    if mode == "sync":
        with client("portal").download(f"{URL}/bomb/gzip/file") as d:
            sizes.extend(len(chunk) for chunk in d.iter_bytes())
    else:
        async def main() -> None:
            async with AsyncLavendly(api_key="k", base_url=f"{URL}/portal/v1") as c:
                async with c.download(f"{URL}/bomb/gzip/file") as d:
                    async for chunk in d.aiter_bytes():
                        sizes.append(len(chunk))

        asyncio.run(main())
    assert sum(sizes) == (256 << 20) + len('{"id":""}')
    assert max(sizes) <= 64 * 1024


def lcg_file() -> bytes:
    """What /gzcut/ serves gzipped (hostile.test.ts): the high bytes of an LCG."""
    out = bytearray()
    seed = 1
    for _ in range(200_000):
        seed = (seed * 1103515245 + 12345) % (1 << 32)
        out.append(seed >> 24)
    return bytes(out)


@BOTH
def test_a_compressed_download_cut_off_is_restarted_not_resumed(mode: str, tmp_path: Path) -> None:
    # A Range counts the gzip bytes, the SDK counted decoded ones: resuming asked for the wrong
    # place and fed the middle of a gzip stream to a fresh decoder (a DecodingError per retry).
    target = tmp_path / "file.bin"
    if mode == "sync":
        got = client("portal").download_file(f"{URL}/gzcut/{mode}/file", target)
    else:
        async def main() -> Any:
            async with AsyncLavendly(api_key="k", base_url=f"{URL}/portal/v1", initial_retry_delay=0.01) as c:
                return await c.download_file(f"{URL}/gzcut/{mode}/file", target)

        got = asyncio.run(main())
    assert target.read_bytes() == lcg_file()
    assert got.bytes == 200_000


@BOTH
@pytest.mark.parametrize(("after", "after_ms", "attempts"), [
    ("9" * 400, "-", 1),  # past max_retry_after: not retried, and no OverflowError
    ("Fri, 31 Dec 9999 23:59:59 GMT", "-", 1),
    ("Wed, 21 Oct 2015 07:28:00 GMT", "-", 3),  # a date past: retried at once
    ("1_000", "-", 3),  # not a number of seconds: the backoff (it was read as 1000 s, not retried)
    ("1e400", "-", 3),  # likewise (it was read as infinity)
    ("-5", "-", 3),
    ("nan", "-", 3),
    ("0", "inf", 3),  # a Retry-After-Ms that is no number is left for Retry-After (it was infinity)
    ("0", "99999999999999999999", 1),
])
def test_retry_after_values_a_server_can_send(mode: str, after: str, after_ms: str, attempts: int) -> None:
    sent: List[str] = []
    hooks = {"request": [lambda request: sent.append(request.method)]}
    http: Any
    if mode == "sync":
        http = httpx.Client(event_hooks=hooks)
    else:
        async def hook(request: httpx.Request) -> None:
            sent.append(request.method)

        http = httpx.AsyncClient(event_hooks={"request": [hook]})
    with pytest.raises(ServerError) as e:
        call(mode, f"retry/{quote(after, safe='')}/{quote(after_ms, safe='')}", max_retries=2, http_client=http)
    assert e.value.status == 503
    assert len(sent) == attempts


@BOTH
@pytest.mark.parametrize("charset", ["rot13", "base64", "idna", "no-such-charset"])
def test_a_charset_that_is_no_text_encoding_is_read_as_utf_8(mode: str, charset: str) -> None:
    # bytes.decode("rot13") raised LookupError, "idna" a UnicodeError: out of the SDK, untyped.
    assert call(mode, f"charset/{charset}")["name"] == "Fox"


@BOTH
def test_a_captive_portal_page_is_not_returned_as_the_object(mode: str) -> None:
    with pytest.raises(InvalidResponseError) as e:
        call(mode, "portal")
    assert (e.value.status, e.value.code, e.value.request_id) == (200, "invalid_response", "req_portal")
    assert "text/html" in e.value.message


@BOTH
def test_a_success_that_is_not_the_documented_object_is_refused(mode: str) -> None:
    # Handed back, it would fail later in the caller's code, as a KeyError on wf["name"].
    cases = (("array", 200, "a JSON list where"), ("null", 200, "null where"), ("partial", 200, "without 'name'"),
             ("204", 204, "answered nothing"))
    for case, status, what in cases:
        with pytest.raises(InvalidResponseError) as e:
            call(mode, f"shape-{case}")
        assert (e.value.status, e.value.code) == (status, "invalid_response")
        assert what in e.value.message
    with pytest.raises(InvalidResponseError) as nan:  # NaN is Python's extension, not JSON
        call(mode, "shape-nan")
    assert "not JSON" in nan.value.message


@BOTH
def test_a_number_beyond_a_double_is_refused_as_the_typescript_sdk_refuses_it(mode: str) -> None:
    # Before: 1e400 came back as inf, and 5000 digits as "a body that is not JSON".
    for case in ("huge-exponent", "huge-integer"):
        with pytest.raises(InvalidResponseError) as e:
            call(mode, case)
        assert (e.value.status, e.value.code, e.value.details) == (200, "number_out_of_range", {"path": "version"})
        assert "answered a number beyond a double (±1.8e308) at version, which the SDK cannot represent" in e.value.message


def test_a_number_beyond_a_double_in_an_error_envelope_is_kept_as_its_literal_text() -> None:
    # Before: details {"limit": -inf, "big": inf, ...}; the error keeps its class, code and message.
    with pytest.raises(APIStatusError) as e:
        client("huge-error", max_retries=0).workflows.get("wf_1")
    assert (type(e.value).__name__, e.value.status, e.value.code, e.value.message, e.value.request_id) == ("ConflictError", 409, "conflict", "taken", "req_1")
    assert e.value.details == {"limit": "-1E+400", "big": "9" * 5000, "ok": 1.5, "s": "1e400"}


def test_a_signed_webhook_event_holding_a_number_beyond_a_double_is_refused() -> None:
    # Before: verify_webhook returned {"data": {"credits": inf}}.
    secret = "whsec_" + base64.b64encode(b"secret").decode()
    ts = int(time.time())

    def verify(payload: str) -> object:
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts), "webhook-signature": sign_webhook(secret, "msg_1", ts, payload)}
        return verify_webhook(payload, headers, secret)

    with pytest.raises(WebhookVerificationError) as e:
        verify('{"type":"render.completed","data":{"note":"1e400","credits":1e400}}')
    assert (e.value.code, e.value.details) == ("number_out_of_range", {"path": "data.credits"})
    assert e.value.message == "webhook payload holds a number beyond a double (±1.8e308) at data.credits, which the SDK cannot represent"
    assert verify('{"type":"render.completed","data":{"note":"1e400","credits":1.7e308}}') == {"type": "render.completed", "data": {"note": "1e400", "credits": 1.7e308}}
    # Before: NaN (Python's extension) came back as nan, and deep nesting raised a raw RecursionError.
    for payload in ('{"type":"x","n":NaN}', '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"):
        with pytest.raises(WebhookVerificationError, match="webhook payload is not JSON"):
            verify(payload)


@BOTH
def test_an_http_1_0_body_ends_where_the_connection_closes(mode: str) -> None:
    assert call(mode, "http10")["name"] == "Fox"
    with pytest.raises(InvalidResponseError) as e:
        call(mode, "http10cut")
    assert (e.value.status, e.value.code) == (200, "invalid_response")


@BOTH
def test_json_nested_past_the_parser_stack_is_an_sdk_error(mode: str) -> None:
    with pytest.raises(InvalidResponseError):
        call(mode, "deep")
    with pytest.raises(ServerError) as e:
        call(mode, "deep500", max_retries=0)
    assert e.value.status == 500


@BOTH
def test_a_body_that_does_not_decompress_is_a_connection_error(mode: str) -> None:
    with pytest.raises(APIConnectionError) as e:
        call(mode, "badgzip", max_retries=0)
    assert "DecodingError" in e.value.message


@BOTH
def test_an_html_502_and_a_redirect_have_clear_messages(mode: str) -> None:
    with pytest.raises(ServerError) as e:
        call(mode, "html502", max_retries=0)
    assert e.value.message == "HTTP 502: 502 Bad Gateway nginx"
    with pytest.raises(APIStatusError) as r:
        call(mode, "redirect")
    assert r.value.status == 307
    assert r.value.message.startswith("HTTP 307: redirected to http://elsewhere.example/")


def test_a_redirect_is_not_followed_even_by_an_httpx_client_that_follows_them() -> None:
    # Followed, the 307 would carry the body and the SDK's `headers` (a gateway's key) to another host.
    http = httpx.Client(follow_redirects=True)
    sdk = Lavendly(api_key="k", base_url=f"{URL}/redirect/v1", headers={"x-gateway-key": "gw_SECRET"}, http_client=http)
    with pytest.raises(APIStatusError) as e:
        sdk.workflows.create(name="n", shots=[])
    assert e.value.status == 307

    async def main() -> None:
        async with AsyncLavendly(api_key="k", base_url=f"{URL}/redirect/v1",
                                 http_client=httpx.AsyncClient(follow_redirects=True)) as c:
            await c.assets.upload("upl_1", token="tok_1", body=b"bytes")

    with pytest.raises(APIStatusError) as a:
        asyncio.run(main())
    assert a.value.status == 307


@BOTH
def test_an_upload_token_in_the_query_stays_out_of_error_messages(mode: str) -> None:
    # Error messages end up in logs; the token is the upload's only credential.
    def upload(c: Any) -> Any:
        return c.assets.upload("upl_1", token="tok_SECRET", body=b"bytes")

    with pytest.raises(InvalidResponseError) as portal:
        call(mode, "portal", upload)
    with pytest.raises(APIConnectionError) as failed:
        call(mode, "badgzip", upload, max_retries=0)
    with pytest.raises(InvalidResponseError) as userinfo:
        call(mode, "portal", upload, base_url=URL.replace("//", "//user:pw_SECRET@") + "/portal/v1")
    for e in (portal.value, failed.value, userinfo.value):
        assert e.message.startswith(f"PUT {URL}/")
        assert "SECRET" not in e.message


@pytest.mark.parametrize("track_id", ["..", ".", ""])
def test_a_dot_or_empty_path_parameter_is_refused_before_sending(track_id: str) -> None:
    # httpx resolves ".../tracks/.." to the workflow's own URL: the DELETE would remove the workflow.
    with pytest.raises(ValueError, match="path parameter 'track_id'"):
        client("portal").audio.detach_track("wf_1", track_id)


@pytest.mark.parametrize("base_url", ["127.0.0.1:8090/v1", "localhost:8090/v1", "ftp://example.org/v1", "/v1"])
def test_a_base_url_that_is_not_an_http_address_is_refused_when_the_client_is_made(base_url: str) -> None:
    # Before, the client was made and the first call failed as an APIConnectionError about an
    # unsupported protocol; the async client the same.
    for make in (Lavendly, AsyncLavendly):
        with pytest.raises(ValueError, match="base_url must be an http:// or https:// address such as 'http://localhost:8090/v1'"):
            make(api_key="sk", base_url=base_url)  # type: ignore[operator]
    assert Lavendly(api_key="sk", base_url="HTTPS://api.example.org/v1/").base_url == "HTTPS://api.example.org/v1"


def test_a_retry_after_date_without_a_zone_is_read_as_gmt(monkeypatch: pytest.MonkeyPatch) -> None:
    # parsedate_to_datetime gives a naive datetime for a date without a zone (or -0000), which
    # .timestamp() read in the machine's zone: five hours off in New York.
    from lavendly._exceptions import retry_after_seconds

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S", time.gmtime(time.time() + 60))
        for value in (in_a_minute, in_a_minute + " -0000"):
            wait = retry_after_seconds(httpx.Headers({"retry-after": value}))
            assert wait is not None and 50 < wait <= 61, (value, wait)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
