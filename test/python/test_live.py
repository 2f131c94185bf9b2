"""The installed Python SDK against a live Lavendly server with its job worker (started by
python-sdk.test.ts): the create -> estimate -> generate -> wait -> render flow, a retried
idempotent call that creates one object, a 429 waited out, and a real webhook delivery verified
(and refused once tampered with). Environment: LAVENDLY_BASE_URL, LAVENDLY_API_KEY (the flow's
account), LAVENDLY_PROXY_URL (drops the answer to the first POST /workflows), LAVENDLY_LIMITED_KEY
(an account of its own for the rate limit) and LAVENDLY_HOOK_PORT (allowed as a webhook target)."""
from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Dict, Iterator, List, Tuple

import httpx
import pytest

from lavendly import (
    AsyncLavendly, Lavendly, NotFoundError, RateLimitedError, TooManyRequestsError, WebhookVerificationError,
    verify_webhook,
)

Delivery = Tuple[Dict[str, str], bytes]


@pytest.fixture()
def receiver() -> Iterator["queue.Queue[Delivery]"]:
    """An HTTP receiver on the allowed port, handing each delivery (headers, raw body) to the test."""
    got: "queue.Queue[Delivery]" = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            got.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", int(os.environ["LAVENDLY_HOOK_PORT"])), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


def test_flow_create_estimate_generate_wait_render_and_a_verified_webhook(receiver: "queue.Queue[Delivery]") -> None:
    # api_key and base_url from LAVENDLY_API_KEY / LAVENDLY_BASE_URL, as a user would set them.
    with Lavendly() as client:
        hook = client.webhooks.create_endpoint(url=f"http://127.0.0.1:{os.environ['LAVENDLY_HOOK_PORT']}/hook",
                                               events=["render.succeeded"])
        assert hook["secret"].startswith("whsec_")

        wf = client.workflows.create(name="Python fox", shots=[{"prompt": "a fox and a lantern", "duration_s": 1}])
        assert wf["id"].startswith("wf_") and len(wf["scenes"]) == 1
        estimate = client.generate.estimate_cost(wf["id"])
        assert estimate["total"] > 0 and estimate["sufficient"] is True

        job = client.generate.start(wf["id"])
        generated = client.generate.wait_for_generate_scene(job, interval=0.2, timeout=120)
        assert generated["status"] == "succeeded", generated

        render = client.renders.create(wf["id"], label="first cut")
        finished = client.renders.wait_for_create_render(render, interval=0.2, timeout=120)
        assert finished["status"] == "succeeded", finished
        assert finished.get("url")

        ids = [w["id"] for w in client.workflows.list(limit=1)]  # one item per page: follows cursors
        assert wf["id"] in ids

        with pytest.raises(NotFoundError) as missing:
            client.workflows.get("wf_doesnotexist")
        assert missing.value.status == 404 and missing.value.code == "not_found" and missing.value.request_id

    headers, body = receiver.get(timeout=60)
    event = verify_webhook(body, headers, hook["secret"])
    assert event["type"] == "render.succeeded"

    with pytest.raises(WebhookVerificationError):
        verify_webhook(body.replace(b"succeeded", b"failed"), headers, hook["secret"])
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, "whsec_" + "A" * 32)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(body, headers, hook["secret"], now=int(headers["webhook-timestamp"]) + 3600)
    for forged in ("9" * 5000, "\u00b2", "\u0661\u0662"):  # refused as such, not by int()'s ValueError
        with pytest.raises(WebhookVerificationError):
            verify_webhook(body, {**headers, "webhook-timestamp": forged}, hook["secret"])


def test_a_retried_idempotent_create_makes_one_workflow() -> None:
    # The proxy forwards the first POST /workflows, lets the server create the workflow, then drops
    # the connection instead of answering: the SDK retries with the same Idempotency-Key.
    name = f"retried-{uuid.uuid4()}"
    with Lavendly(base_url=os.environ["LAVENDLY_PROXY_URL"], initial_retry_delay=0.05) as client:
        created = client.workflows.create(name=name, shots=[{"prompt": "a fox", "duration_s": 1}])
    with Lavendly() as client:
        same = [w for w in client.workflows.list(limit=100) if w["name"] == name]
    assert [w["id"] for w in same] == [created["id"]]


def test_a_429_is_waited_out_as_retry_after_says() -> None:
    key = os.environ["LAVENDLY_LIMITED_KEY"]
    with Lavendly(api_key=key, max_retries=0) as impatient:
        with pytest.raises(RateLimitedError) as limited:
            for _ in range(1000):
                impatient.ledger.get().first_page()
    assert isinstance(limited.value, TooManyRequestsError) and limited.value.status == 429
    assert limited.value.retry_after is not None and limited.value.retry_after >= 1

    # The bucket refills continuously, so the next request may find a token again; call until one
    # is refused, then check the SDK slept for Retry-After before its retry (which succeeds).
    sent: List[float] = []
    refused: List[Tuple[float, float]] = []  # (when the 429 came, its Retry-After)

    def on_request(request: httpx.Request) -> None:
        sent.append(time.monotonic())

    def on_response(response: httpx.Response) -> None:
        if response.status_code == 429:
            refused.append((time.monotonic(), float(response.headers["retry-after"])))

    http = httpx.Client(event_hooks={"request": [on_request], "response": [on_response]})
    with Lavendly(api_key=key, max_retries=2, http_client=http) as patient:
        for _ in range(1000):
            page = patient.ledger.get().first_page()
            assert "data" in page
            if refused:
                break
    assert refused, "no request was refused"
    refused_at, wait = refused[0]
    retried_at = min(t for t in sent if t > refused_at)
    assert retried_at - refused_at >= wait * 0.9, (retried_at - refused_at, wait)


def test_async_client_against_the_server() -> None:
    async def main() -> None:
        async with AsyncLavendly() as client:
            wf = await client.workflows.create(name="Async fox", shots=[{"prompt": "a fox", "duration_s": 1}])
            got = await client.workflows.get(wf["id"])
            assert got["name"] == "Async fox"
            seen = [w["id"] async for w in client.workflows.list(limit=1)]
            assert wf["id"] in seen
            with pytest.raises(NotFoundError):
                await client.assets.get("ast_doesnotexist")

    asyncio.run(main())
