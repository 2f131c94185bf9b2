"""The installed SDK in front of a hostile or broken server (hostile.test.ts serves it at
LAVENDLY_HOSTILE_URL; the first path segment picks the misbehaviour). Every case ends in a typed
LavendlyError, in bounded time and memory."""
import asyncio
import base64
import os
import time

import httpx
import pytest

from lavendly import (
    APIConnectionError, APIStatusError, APITimeoutError, AsyncLavendly, InvalidResponseError, Lavendly, ServerError,
    WebhookVerificationError, sign_webhook, verify_webhook,
)

URL = os.environ["LAVENDLY_HOSTILE_URL"]


def client(case: str, **kw: object) -> Lavendly:
    return Lavendly(api_key="sk_secret", base_url=f"{URL}/{case}/v1", initial_retry_delay=0.01, max_retry_delay=0.02, **kw)  # type: ignore[arg-type]


def test_a_server_dripping_bytes_times_out_at_the_attempt_timeout() -> None:
    # One byte every 200 ms never trips httpx's per-read timeout; the attempt's deadline must.
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as e:
        client("drip", timeout=1.0, max_retries=0).workflows.get("wf_1")
    assert time.monotonic() - started < 5
    assert e.value.code == "timeout"


def test_headers_dripped_a_byte_at_a_time_time_out_at_the_attempt_timeout() -> None:
    # The server takes 12 s to finish its headers; httpx's timeout alone bounds only each read.
    started = time.monotonic()
    with pytest.raises(APITimeoutError) as e:
        client("driphead", timeout=1.0, max_retries=1).workflows.get("wf_1")
    assert time.monotonic() - started < 5  # two attempts of 1 s and a backoff of at most 0.02 s
    assert e.value.code == "timeout"


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


def test_the_async_client_times_out_a_drip_as_well() -> None:
    async def main() -> None:
        c = AsyncLavendly(api_key="k", base_url=f"{URL}/drip/v1", timeout=1.0, max_retries=0)
        try:
            await c.workflows.get("wf_1")
        finally:
            await c.close()

    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        asyncio.run(main())
    assert time.monotonic() - started < 5


def test_a_body_without_end_stops_at_max_response_bytes() -> None:
    with pytest.raises(InvalidResponseError) as e:
        client("endless", max_response_bytes=1 << 20).workflows.get("wf_1")
    assert (e.value.status, e.value.code) == (200, "response_too_large")


def test_a_captive_portal_page_is_not_returned_as_the_object() -> None:
    with pytest.raises(InvalidResponseError) as e:
        client("portal").workflows.get("wf_1")
    assert (e.value.status, e.value.code, e.value.request_id) == (200, "invalid_response", "req_portal")
    assert "text/html" in e.value.message


def test_a_success_that_is_not_the_documented_object_is_refused() -> None:
    # Handed back, it would fail later in the caller's code, as a KeyError on wf["name"].
    cases = (("array", 200, "a JSON list where"), ("null", 200, "null where"), ("partial", 200, "without 'name'"),
             ("204", 204, "answered nothing"))
    for case, status, what in cases:
        with pytest.raises(InvalidResponseError) as e:
            client(f"shape-{case}").workflows.get("wf_1")
        assert (e.value.status, e.value.code) == (status, "invalid_response")
        assert what in e.value.message
    with pytest.raises(InvalidResponseError) as nan:  # NaN is Python's extension, not JSON
        client("shape-nan").workflows.get("wf_1")
    assert "not JSON" in nan.value.message


def test_a_number_beyond_a_double_is_refused_as_the_typescript_sdk_refuses_it() -> None:
    # Before: 1e400 came back as inf, and 5000 digits as "a body that is not JSON".
    for case in ("huge-exponent", "huge-integer"):
        with pytest.raises(InvalidResponseError) as e:
            client(case).workflows.get("wf_1")
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


def test_an_http_1_0_body_ends_where_the_connection_closes() -> None:
    assert client("http10").workflows.get("wf_1")["name"] == "Fox"
    with pytest.raises(InvalidResponseError) as e:
        client("http10cut").workflows.get("wf_1")
    assert (e.value.status, e.value.code) == (200, "invalid_response")


def test_json_nested_past_the_parser_stack_is_an_sdk_error() -> None:
    with pytest.raises(InvalidResponseError):
        client("deep").workflows.get("wf_1")
    with pytest.raises(ServerError) as e:
        client("deep500", max_retries=0).workflows.get("wf_1")
    assert e.value.status == 500


def test_a_body_that_does_not_decompress_is_a_connection_error() -> None:
    with pytest.raises(APIConnectionError) as e:
        client("badgzip", max_retries=0).workflows.get("wf_1")
    assert "DecodingError" in e.value.message


def test_an_html_502_and_a_redirect_have_clear_messages() -> None:
    with pytest.raises(ServerError) as e:
        client("html502", max_retries=0).workflows.get("wf_1")
    assert e.value.message == "HTTP 502: 502 Bad Gateway nginx"
    with pytest.raises(APIStatusError) as r:
        client("redirect").workflows.get("wf_1")
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


def test_an_upload_token_in_the_query_stays_out_of_error_messages() -> None:
    # Error messages end up in logs; the token is the upload's only credential.
    with pytest.raises(InvalidResponseError) as portal:
        client("portal").assets.upload("upl_1", token="tok_SECRET", body=b"bytes")
    with pytest.raises(APIConnectionError) as failed:
        client("badgzip", max_retries=0).assets.upload("upl_1", token="tok_SECRET", body=b"bytes")
    with pytest.raises(InvalidResponseError) as userinfo:
        with_user = Lavendly(base_url=URL.replace("//", "//user:pw_SECRET@") + "/portal/v1")
        with_user.assets.upload("upl_1", token="tok_SECRET", body=b"bytes")
    for e in (portal.value, failed.value, userinfo.value):
        assert e.message.startswith(f"PUT {URL}/")
        assert "SECRET" not in e.message


@pytest.mark.parametrize("track_id", ["..", ".", ""])
def test_a_dot_or_empty_path_parameter_is_refused_before_sending(track_id: str) -> None:
    # httpx resolves ".../tracks/.." to the workflow's own URL: the DELETE would remove the workflow.
    with pytest.raises(ValueError, match="path parameter 'track_id'"):
        client("portal").audio.detach_track("wf_1", track_id)
