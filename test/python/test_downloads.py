"""The installed SDK downloading (run by downloads.test.ts, which sets LAVENDLY_BASE_URL,
LAVENDLY_API_KEY and LAVENDLY_LINKS): a finished render's /files link, an asset's presigned link
to s3rver, forged and expired links of both, and a host that cuts answers short, lies about their
length, stalls or redirects; blocking and async. A failed download leaves no file behind."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Dict, List

import httpx
import pytest

from lavendly import (
    APIConnectionError, APITimeoutError, AsyncLavendly, DownloadedFile, ForbiddenError, InvalidResponseError,
    Lavendly, LavendlyError,
)

LINKS = json.loads(os.environ["LAVENDLY_LINKS"])
RENDER: Dict[str, str] = LINKS["render"]
ASSET: Dict[str, str] = LINKS["asset"]
FAKE: Dict[str, str] = LINKS["fake"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_client() -> Lavendly:
    """The fake's `api` listener is this client's own origin; `elsewhere` is another."""
    return Lavendly(api_key="sk_fake", base_url=FAKE["api"] + "/v1", initial_retry_delay=0.001, max_retry_delay=0.005)


def listing(tmp_path: Path) -> List[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_download_file_writes_the_finished_render(tmp_path: Path) -> None:
    with Lavendly() as client:
        got = client.download_file(RENDER["url"], tmp_path / "render.mp4")
    assert isinstance(got, DownloadedFile)
    assert (got.path, got.content_type, got.bytes) == (tmp_path / "render.mp4", "video/mp4", (tmp_path / "render.mp4").stat().st_size)
    assert sha(got.path) == RENDER["sha"]


def test_an_existing_file_is_kept_unless_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "render.mp4"
    target.write_bytes(b"mine")
    with Lavendly() as client:
        with pytest.raises(FileExistsError):
            client.download_file(RENDER["url"], str(target))
        assert target.read_bytes() == b"mine"
        client.download_file(RENDER["url"], target, overwrite=True)
    assert sha(target) == RENDER["sha"]
    assert listing(tmp_path) == ["render.mp4"]


def test_the_streaming_form_gives_the_bytes_and_their_size() -> None:
    digest = hashlib.sha256()
    with Lavendly() as client, client.download(RENDER["url"]) as download:
        for chunk in download.iter_bytes():
            digest.update(chunk)
        assert download.content_type == "video/mp4"
        size = download.size
    assert digest.hexdigest() == RENDER["sha"] and size is not None and size > 0


@pytest.mark.parametrize("link", [RENDER, ASSET], ids=["render", "s3"])
@pytest.mark.parametrize("kind,reason", [("forged", "invalid_signature"), ("expired", "expired")])
def test_a_forged_or_expired_link_raises_the_envelopes_code(tmp_path: Path, link: Dict[str, str], kind: str, reason: str) -> None:
    with Lavendly() as client, pytest.raises(ForbiddenError) as caught:
        client.download_file(link[kind], tmp_path / "file")
    assert (caught.value.code, caught.value.status, caught.value.details.get("reason")) == ("forbidden", 403, reason)
    assert listing(tmp_path) == []


def test_a_presigned_s3_link_downloads_without_the_api_key(tmp_path: Path) -> None:
    # s3rver refuses a request that carries an Authorization header besides the link's signature.
    with Lavendly() as client:
        got = client.download_file(ASSET["url"], tmp_path / "asset.png")
    assert sha(got.path) == ASSET["sha"]


def test_the_key_stays_on_the_apis_origin_across_a_redirect(tmp_path: Path) -> None:
    with fake_client() as client:
        got = client.download_file(FAKE["api"] + "/away", tmp_path / "away.bin")
    assert sha(got.path) == FAKE["sha"]  # downloads.test.ts checks what each host was sent


def test_an_http_clients_own_auth_and_headers_stay_off_another_origin(tmp_path: Path) -> None:
    # A client the caller set up for the API: its auth and headers are not for the host a redirect names.
    with httpx.Client(auth=("user", "secret"), headers={"authorization": "Bearer from-http-client"}) as http:
        client = Lavendly(api_key="sk_fake", base_url=FAKE["api"] + "/v1", http_client=http)
        got = client.download_file(FAKE["api"] + "/away", tmp_path / "away.bin")
    assert sha(got.path) == FAKE["sha"]  # downloads.test.ts checks that /file got no Authorization


@pytest.mark.parametrize("path", ["/cut-ranges", "/cut-norange"], ids=["resumed", "restarted"])
def test_a_dropped_connection_is_resumed_or_restarted(tmp_path: Path, path: str) -> None:
    with fake_client() as client:
        got = client.download_file(FAKE["api"] + path, tmp_path / "file.bin")
    assert sha(got.path) == FAKE["sha"]
    assert listing(tmp_path) == ["file.bin"]


@pytest.mark.parametrize("path,error,code,options", [
    ("/cut-always", APIConnectionError, "connection_error", {"max_retries": 2}),
    ("/long-length", APIConnectionError, "connection_error", {"max_retries": 1}),
    ("/bad-range", InvalidResponseError, "invalid_response", {}),
    ("/to-file-scheme", LavendlyError, "unsupported_scheme", {}),
    ("/stall", APITimeoutError, "timeout", {"timeout": 0.3, "max_retries": 0}),
], ids=["cut", "long-length", "bad-range", "file-scheme", "stall"])
def test_a_failed_download_leaves_no_file(tmp_path: Path, path: str, error: type, code: str, options: Dict[str, object]) -> None:
    with fake_client() as client, pytest.raises(error) as caught:
        client.download_file(FAKE["api"] + path, tmp_path / "file.bin", **options)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert listing(tmp_path) == []


def test_the_streaming_form_cannot_restart_after_giving_bytes() -> None:
    with fake_client() as client, client.download(FAKE["api"] + "/cut-norange-stream") as download:
        with pytest.raises(APIConnectionError) as caught:
            for _ in download.iter_bytes():
                pass
    assert caught.value.code == "cannot_resume"


def test_a_reader_slower_than_the_timeout_is_not_a_stall() -> None:
    """The deadline bounds the wait for each chunk, not what the caller does between them."""
    with Lavendly(api_key="sk_fake", base_url=FAKE["api"] + "/v1", timeout=0.3, max_retries=0) as client:
        with client.download(FAKE["api"] + "/plain") as download:
            chunks = download.iter_bytes()
            received = len(next(chunks))
            time.sleep(0.9)
            received += sum(len(chunk) for chunk in chunks)
            assert received == download.size


def test_async_download_file_and_stream(tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncLavendly() as client:
            got = await client.download_file(RENDER["url"], tmp_path / "render.mp4")
            assert sha(got.path) == RENDER["sha"]
            s3 = await client.download_file(ASSET["url"], tmp_path / "asset.png")
            assert sha(s3.path) == ASSET["sha"]
            digest = hashlib.sha256()
            async with client.download(RENDER["url"]) as download:
                async for chunk in download.aiter_bytes():
                    digest.update(chunk)
            assert digest.hexdigest() == RENDER["sha"]
            with pytest.raises(ForbiddenError):
                await client.download_file(ASSET["expired"], tmp_path / "old.png")
        async with AsyncLavendly(api_key="sk_fake", base_url=FAKE["api"] + "/v1", initial_retry_delay=0.001) as fake:
            resumed = await fake.download_file(FAKE["api"] + "/cut-ranges", tmp_path / "resumed.bin")
            assert sha(resumed.path) == FAKE["sha"]
            with pytest.raises(APIConnectionError):
                await fake.download_file(FAKE["api"] + "/cut-always", tmp_path / "cut.bin", max_retries=1)
            with pytest.raises(APITimeoutError):
                await fake.download_file(FAKE["api"] + "/stall", tmp_path / "stall.bin", timeout=0.3, max_retries=0)
    asyncio.run(main())
    assert listing(tmp_path) == ["asset.png", "render.mp4", "resumed.bin"]
