"""The installed Python SDK against a Prism mock of spec/openapi.yaml (run by python-sdk.test.ts):
every operation once through its typed method. Prism (--errors) refuses a request off the spec,
so a call that succeeds sent a valid request; the answer is the spec's example, which must come
back unchanged. Fixtures (examples from the spec) come from the Node side: LAVENDLY_FIXTURES."""
from __future__ import annotations

import asyncio
import json
import os
import re
from typing import Callable, Dict, List

import httpx
import pytest

from lavendly import APIStatusError, AsyncLavendly, Lavendly, LavendlyError, NotFoundError
from lavendly._operations import OPERATIONS

with open(os.environ["LAVENDLY_FIXTURES"], encoding="utf-8") as f:
    FIX = json.load(f)
PRISM = os.environ["LAVENDLY_PRISM_URL"]
IDS: Dict[str, str] = FIX["ids"]
WF, AST, UPL, PUB, RSV = IDS["WorkflowId"], IDS["AssetId"], IDS["UploadId"], IDS["PublicationId"], IDS["ReservationId"]
WHE, WHD, NODE, TRK, RND = IDS["WebhookEndpointId"], IDS["WebhookDeliveryId"], IDS["NodeId"], IDS["TrackId"], IDS["RenderId"]
CHN, KEY = IDS["ChannelId"], IDS["ApiKeyId"]


def body(operation_id: str) -> Dict[str, object]:
    """The request body example of an operation, as keyword arguments."""
    value = FIX["ops"][operation_id]["request"]
    assert isinstance(value, dict), operation_id
    return dict(value)


exchanges: List[httpx.Response] = []


def record(response: httpx.Response) -> None:
    exchanges.append(response)


def client() -> Lavendly:
    http = httpx.Client(event_hooks={"response": [record]})
    return Lavendly(api_key="lv_test_contract", base_url=PRISM, max_retries=0, timeout=10, http_client=http)


Call = Callable[[Lavendly], object]

# One typed call per operation; the test below checks that together they cover the spec.
CALLS: Dict[str, Call] = {
    "list_workflows": lambda c: c.workflows.list(limit=2).first_page(),
    "create_workflow": lambda c: c.workflows.create(**body("create_workflow")),
    "get_workflow": lambda c: c.workflows.get(WF),
    "update_workflow": lambda c: c.workflows.update(WF, if_match='"2"', **body("update_workflow")),
    "delete_workflow": lambda c: c.workflows.delete(WF),
    "import_asset": lambda c: c.assets.import_(**body("import_asset")),
    "create_upload": lambda c: c.assets.create_upload(**body("create_upload")),
    "put_upload": lambda c: c.assets.upload(UPL, token="tok_example", body=b"ID3\x04"),
    "get_asset": lambda c: c.assets.get(AST),
    "estimate_cost": lambda c: c.generate.estimate_cost(WF, node_id=NODE),
    "generate_scene": lambda c: c.generate.start(WF, **body("generate_scene")),
    "get_generation_status": lambda c: c.generate.get_status(WF),
    "get_workflow_audio": lambda c: c.audio.get(WF),
    "set_clip_native_audio": lambda c: c.audio.set_native_audio(WF, NODE, **body("set_clip_native_audio")),
    "attach_track": lambda c: c.audio.attach_track(WF, NODE, **body("attach_track")),
    "detach_track": lambda c: c.audio.detach_track(WF, TRK),
    "update_track": lambda c: c.audio.update_track(WF, TRK, **body("update_track")),
    "list_renders": lambda c: c.renders.list(WF, limit=5).first_page(),
    "create_render": lambda c: c.renders.create(WF, **body("create_render")),
    "get_render": lambda c: c.renders.get(WF, RND),
    "update_render": lambda c: c.renders.update(WF, RND, **body("update_render")),
    "list_all_renders": lambda c: c.renders.list_all(status="succeeded").first_page(),
    "quality_check": lambda c: c.review.quality_check(WF, **body("quality_check")),
    "get_scene_frame": lambda c: c.review.get_scene_frame(WF, **body("get_scene_frame")),
    "review_scenes": lambda c: c.review.scenes(WF, **body("review_scenes")),
    "list_channels": lambda c: c.publish.list_channels(),
    "connect_channel": lambda c: c.publish.connect_channel(**body("connect_channel")),
    "start_channel_connection": lambda c: c.publish.start_channel_connection(**body("start_channel_connection")),
    "disconnect_channel": lambda c: c.publish.disconnect_channel(CHN),
    "publish_video": lambda c: c.publish.video(WF, **body("publish_video")),
    "get_publication": lambda c: c.publish.get_publication(PUB),
    "cancel_publication": lambda c: c.publish.cancel_publication(PUB),
    "get_ledger": lambda c: c.ledger.get(limit=3).first_page(),
    "update_account": lambda c: c.ledger.update_account(time_zone="Europe/Paris"),
    "reserve_credits": lambda c: c.ledger.reserve(**body("reserve_credits")),
    "commit_reserve": lambda c: c.ledger.commit(RSV, **body("commit_reserve")),
    "refund_reserve": lambda c: c.ledger.refund(RSV),
    "get_monthly_usage": lambda c: c.telemetry.get_monthly_usage(month="2026-01"),
    "get_top_spenders": lambda c: c.telemetry.get_top_spenders(month="2026-01", top=5),
    "get_status": lambda c: c.telemetry.get_status(),
    "get_schema": lambda c: c.telemetry.get_schema(),
    "list_webhook_endpoints": lambda c: c.webhooks.list_endpoints(limit=10).first_page(),
    "create_webhook_endpoint": lambda c: c.webhooks.create_endpoint(**body("create_webhook_endpoint")),
    "delete_webhook_endpoint": lambda c: c.webhooks.delete_endpoint(WHE),
    "list_webhook_deliveries": lambda c: c.webhooks.list_deliveries(WHE).first_page(),
    "replay_webhook_delivery": lambda c: c.webhooks.replay_delivery(WHD),
    "list_api_keys": lambda c: c.keys.list(limit=10).first_page(),
    "create_api_key": lambda c: c.keys.create(**body("create_api_key")),
    "revoke_api_key": lambda c: c.keys.revoke(KEY),
}


def path_matches(template: str, actual: str) -> bool:
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
    return re.match(pattern, actual) is not None


def test_the_calls_cover_every_operation_of_the_spec() -> None:
    assert sorted(CALLS) == sorted(FIX["ops"]) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation_id", sorted(FIX["ops"]))
def test_operation(operation_id: str) -> None:
    spec = FIX["ops"][operation_id]
    exchanges.clear()
    with client() as c:
        result = CALLS[operation_id](c)
    assert len(exchanges) == 1
    res = exchanges[0]
    assert res.request.method.lower() == spec["method"]
    assert path_matches(spec["path"], res.request.url.path), res.request.url.path
    assert "sl-violations" not in res.headers
    assert res.request.headers["authorization"] == "Bearer lv_test_contract"
    if spec["idempotent"]:
        assert res.request.headers["idempotency-key"].strip()
    assert str(res.status_code) == spec["status"]
    assert result == spec["response"]


def test_declared_error_responses_become_typed_errors() -> None:
    # Prism answers with a declared error response when asked for one by `Prefer: code=...`.
    with client() as c:
        with pytest.raises(NotFoundError) as e:
            c.workflows.get(WF, request_options={"headers": {"prefer": "code=404"}})
    assert e.value.status == 404 and e.value.code == "not_found" and e.value.request_id
    with client() as c:
        with pytest.raises(APIStatusError) as bad:
            c.workflows.create(name="", shots=[])  # off the spec: Prism refuses it itself
    assert bad.value.status in (400, 422)


def test_follows_next_cursor_page_by_page() -> None:
    exchanges.clear()
    with client() as c:
        pages = []
        for page in c.workflows.list(limit=2).pages():
            pages.append(page)
            if len(pages) == 2:
                break
    assert pages[0]["has_more"] is True
    cursors = [r.request.url.params.get("cursor") for r in exchanges]
    assert cursors == [None, pages[0]["next_cursor"]]


def test_caller_idempotency_key_is_sent() -> None:
    exchanges.clear()
    with client() as c:
        c.renders.create(WF, request_options={"idempotency_key": "wf:render:1"})
    assert exchanges[0].request.headers["idempotency-key"] == "wf:render:1"


def test_async_client_calls_pages_and_waits() -> None:
    async def main() -> None:
        seen: List[httpx.Response] = []

        async def hook(response: httpx.Response) -> None:
            seen.append(response)

        http = httpx.AsyncClient(event_hooks={"response": [hook]})
        async with AsyncLavendly(api_key="k", base_url=PRISM, max_retries=0, http_client=http) as c:
            wf = await c.workflows.get(WF)
            assert wf == FIX["ops"]["get_workflow"]["response"]
            first = await c.workflows.list(limit=2)
            assert first == FIX["ops"]["list_workflows"]["response"]
            # The mock answers every page with the same next_cursor: the pager refuses to loop.
            items = []
            with pytest.raises(LavendlyError) as loop:
                async for item in c.workflows.list(limit=2):
                    items.append(item)
            assert loop.value.code == "pagination_loop"
            assert items == first["data"] * 2
            render = await c.renders.create(WF)
            done = await c.renders.wait_for_create_render(render, interval=0.01, timeout=5)
            assert done["status"] in ("succeeded", "failed", "canceled")
        assert all(r.request.headers["authorization"] == "Bearer k" for r in seen)

    asyncio.run(main())


@pytest.mark.parametrize("timeout", [None, 0, -1, float("nan"), float("inf"), "30"])
def test_a_timeout_that_cannot_bound_an_attempt_is_refused_up_front(timeout: object) -> None:
    # Accepted, these failed inside the call: TypeError (None), OverflowError (inf), ValueError (NaN).
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        Lavendly(base_url=PRISM, timeout=timeout)  # type: ignore[arg-type]
    client = Lavendly(base_url=PRISM)
    with pytest.raises(ValueError, match="timeout must be a number of seconds"):
        client.workflows.get(WF, request_options={"timeout": timeout})  # type: ignore[typeddict-item]
