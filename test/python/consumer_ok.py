"""A typed consumer of the installed package: mypy --strict must accept it."""
from __future__ import annotations

from typing import List

from lavendly import AsyncLavendly, Lavendly, LavendlyError, NotFoundError, verify_webhook
from lavendly.types import Shot, Workflow, WorkflowSummary


def flow(client: Lavendly) -> List[str]:
    shots: List[Shot] = [{"prompt": "a fox", "duration_s": 5}]
    wf: Workflow = client.workflows.create(name="Fox", shots=shots, request_options={"idempotency_key": "k1"})
    ids = [w["id"] for w in client.workflows.list(limit=5)]
    first: WorkflowSummary = next(iter(client.workflows.list()))
    job = client.generate.start(wf["id"])
    # on_poll gets each polled body typed as the poll operation's answer.
    done = client.generate.wait_for_generate_scene(job, timeout=30, on_poll=lambda s: print(s["progress"]))
    try:
        client.workflows.get("wf_missing")
    except NotFoundError as e:
        print(e.code, e.status, e.request_id)
    except LavendlyError:
        raise
    return ids + [first["id"], done["status"]]


async def async_flow(client: AsyncLavendly) -> int:
    page = await client.workflows.list(limit=2)
    count = len(page["data"])
    async for item in client.workflows.list():
        count += len(item["name"])
    return count


def hook(body: bytes, headers: dict[str, str], secret: str) -> str:
    event = verify_webhook(body, headers, secret)
    if event["type"] == "render.succeeded":
        return event["data"]["render_id"]  # narrowed to RenderSucceededEvent by its type
    return event["type"]
