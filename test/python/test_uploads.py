"""The installed SDK uploading a real video to a live server (run by uploads.test.ts, which sets
LAVENDLY_BASE_URL, LAVENDLY_API_KEY and LAVENDLY_VIDEO): from a path and from an open file,
blocking and async, streamed with its Content-Length; the stored asset's bytes are the file's."""
from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path
from typing import IO, List

import httpx

from lavendly import AsyncLavendly, Lavendly
from lavendly.types import Asset

VIDEO = Path(os.environ["LAVENDLY_VIDEO"])


def stored(asset: Asset) -> str:
    return hashlib.sha256(httpx.get(asset["url"]).content).hexdigest()


FILE_SHA = hashlib.sha256(VIDEO.read_bytes()).hexdigest()
SIZE = VIDEO.stat().st_size


def test_upload_file_from_a_path_streams_with_its_length_and_stores_the_file() -> None:
    sent: List[httpx.Headers] = []
    with httpx.Client(event_hooks={"request": [lambda r: sent.append(r.headers) if r.method == "PUT" else None]}) as http:
        client = Lavendly(http_client=http)
        asset = client.assets.upload_file(VIDEO, kind="video")
    assert (asset["kind"], asset["bytes"], asset["filename"]) == ("video", SIZE, VIDEO.name)
    assert stored(asset) == FILE_SHA
    assert [(h.get("content-length"), h.get("transfer-encoding")) for h in sent] == [(str(SIZE), None)]


def test_upload_file_takes_a_str_as_a_path() -> None:
    with Lavendly() as client:
        asset = client.assets.upload_file(str(VIDEO), kind="video")
    assert (asset["bytes"], asset["filename"]) == (SIZE, VIDEO.name)
    assert stored(asset) == FILE_SHA


def test_upload_file_from_an_open_file_sends_the_rest_of_it() -> None:
    with Lavendly() as client, open(VIDEO, "rb") as f:
        asset = client.assets.upload_file(f, kind="video")
    assert (asset["bytes"], asset["filename"]) == (SIZE, VIDEO.name)
    assert stored(asset) == FILE_SHA


def test_the_slot_carries_its_token_and_upload_takes_a_path() -> None:
    with Lavendly() as client:
        slot = client.assets.create_upload(kind="video", filename="clip.mp4", bytes=SIZE)
        assert f"token={slot['token']}" in slot["upload_url"]
        asset = client.assets.upload(slot["id"], token=slot["token"], body=VIDEO)
    assert stored(asset) == FILE_SHA


class SlowFile:
    """The video read a chunk at a time with a pause before each: the upload outlasts the timeout."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self.name = f.name

    def read(self, n: int = -1) -> bytes:
        time.sleep(0.4)
        return self._f.read(n)

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._f.seek(offset, whence)

    def tell(self) -> int:
        return self._f.tell()


def test_each_chunk_sent_restarts_the_timeout_blocking() -> None:
    # More than 4 chunks of 1 MiB at 0.4 s each: over the 1.5 s timeout in all, under it per chunk.
    assert SIZE > 4 << 20
    with Lavendly(timeout=1.5, max_retries=0) as client, open(VIDEO, "rb") as f:
        asset = client.assets.upload_file(SlowFile(f), kind="video")  # type: ignore[arg-type]
    assert stored(asset) == FILE_SHA


def test_async_upload_file_from_a_path_and_a_slow_file() -> None:
    async def main() -> None:
        async with AsyncLavendly() as client:
            asset = await client.assets.upload_file(VIDEO, kind="video")
            assert (asset["bytes"], asset["filename"]) == (SIZE, VIDEO.name)
            assert stored(asset) == FILE_SHA
        with open(VIDEO, "rb") as f:
            async with AsyncLavendly(timeout=1.5, max_retries=0) as slow:
                asset = await slow.assets.upload_file(SlowFile(f), kind="video")  # type: ignore[arg-type]
            assert stored(asset) == FILE_SHA

    asyncio.run(main())
