"""The I/O of a download (see _downloads.py), once blocking and once async: `client.download(url)`
is a context manager whose `iter_bytes()` / `aiter_bytes()` give the file's bytes, and
`client.download_file(url, path)` writes them to a file. Every chunk received restarts the
attempt's timeout, so it bounds a stall, not the length of the file. Part of the Python SDK
runtime: standard library and httpx only."""
from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any, AsyncIterator, Awaitable, Callable, Iterator, Mapping, Optional, Type, TypeVar

import httpx

from ._deadline import Deadline, run_within
from ._decoding import aiter_decoded, iter_decoded
from ._downloads import ERROR_BODY_LIMIT, MAX_REDIRECTS, DownloadedFile, PathArg, TempFile, Transfer
from ._exceptions import InvalidResponseError, LavendlyError

if TYPE_CHECKING:
    from ._core import BaseClient

T = TypeVar("T")


class _Answer:
    """What both kinds of download tell of the answer: `size` is the length the server declared
    (None when it did not say)."""

    _t: Transfer

    @property
    def size(self) -> Optional[int]:
        return self._t.total

    @property
    def content_type(self) -> Optional[str]:
        return self._t.response.headers.get("content-type") if self._t.response is not None else None

    @property
    def headers(self) -> httpx.Headers:
        return self._t.response.headers if self._t.response is not None else httpx.Headers()


class Download(_Answer):
    """A blocking download: `with client.download(url) as d: for chunk in d.iter_bytes(): ...`.
    A dropped connection is resumed where the server allows it; where it does not, iter_bytes
    raises APIConnectionError (code `cannot_resume`): the bytes it gave cannot be taken back."""

    def __init__(self, client: BaseClient, http: httpx.Client, url: str, *, timeout: Optional[float] = None,
                 max_retries: Optional[int] = None, headers: Optional[Mapping[str, str]] = None,
                 on_restart: Optional[Callable[[], None]] = None) -> None:
        self._http = http
        self._t = Transfer(client, url, timeout=timeout, max_retries=max_retries, headers=headers, on_restart=on_restart)
        self._chunks: Optional[Iterator[bytes]] = None

    def __enter__(self) -> Download:
        self._open()
        return self

    def __exit__(self, kind: Optional[Type[BaseException]], value: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        self.close()

    def close(self) -> None:
        if self._t.response is not None:
            self._t.response.close()

    def iter_bytes(self) -> Iterator[bytes]:
        if self._chunks is None:
            self._open()  # used without `with`
        while True:
            try:
                # httpx's read timeout (the download's timeout) bounds a stall between chunks.
                chunk = next(self._chunks, None) if self._chunks is not None else None
                if chunk is None:
                    self._t.check_end()
                    self.close()
                    return
                if chunk:
                    yield self._t.count(chunk)
            except (httpx.HTTPError, LavendlyError) as e:
                error = self._t.failure(e)
                self.close()
                delay = None if isinstance(error, InvalidResponseError) else self._t.retry_delay(error)
                if delay is None:
                    raise error from (None if error is e else e)
                time.sleep(delay)
                self._open()

    def _open(self) -> None:
        while True:
            try:
                self._send()
                return
            except (httpx.HTTPError, LavendlyError) as e:
                error = self._t.failure(e)
                delay = self._t.retry_delay(error)
                if delay is None:
                    raise error from (None if error is e else e)
                time.sleep(delay)

    def _send(self) -> None:
        # Each hop's headers under one deadline (see _deadline.py); a hop answering late, after
        # the deadline was given up on, is closed.
        url = self._t.url
        for hop in range(MAX_REDIRECTS + 1):
            request, auth = self._t.request(self._http, url)
            response = run_within(lambda deadline: self._hop(request, auth, deadline), self._t.timeout,
                                  abandon=httpx.Response.close)
            try:
                target = self._t.redirect(response, url, hop)
                if target is None and not response.is_success:
                    raise self._t.error_of(response, _head(iter_decoded(response, self._t.timeout)))
            except BaseException:
                response.close()
                raise
            if target is None:
                break
            response.close()
            url = target
        try:
            self._t.accept(response)
        except BaseException:
            response.close()
            raise
        self._chunks = iter_decoded(response, self._t.timeout)

    def _hop(self, request: httpx.Request, auth: Any, deadline: Deadline) -> httpx.Response:
        """One hop's request and the headers of its answer, on _deadline.py's worker thread."""
        request.extensions = {**request.extensions, "trace": deadline.trace}
        response = self._http.send(request, stream=True, follow_redirects=False, auth=auth)
        if deadline.expired:
            response.close()
            raise httpx.TimeoutException("the attempt's deadline passed")
        return response


class AsyncDownload(_Answer):
    """An async download: `async with client.download(url) as d: async for chunk in d.aiter_bytes(): ...`."""

    def __init__(self, client: BaseClient, http: httpx.AsyncClient, url: str, *, timeout: Optional[float] = None,
                 max_retries: Optional[int] = None, headers: Optional[Mapping[str, str]] = None,
                 on_restart: Optional[Callable[[], None]] = None) -> None:
        self._http = http
        self._t = Transfer(client, url, timeout=timeout, max_retries=max_retries, headers=headers, on_restart=on_restart)
        self._chunks: Optional[AsyncIterator[bytes]] = None

    async def __aenter__(self) -> AsyncDownload:
        await self._open()
        return self

    async def __aexit__(self, kind: Optional[Type[BaseException]], value: Optional[BaseException], tb: Optional[TracebackType]) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._t.response is not None:
            await self._t.response.aclose()

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        if self._chunks is None:
            await self._open()  # used without `async with`
        while True:
            try:
                chunk = await self._within(self._chunks.__anext__()) if self._chunks is not None else None
            except StopAsyncIteration:
                chunk = None
            except (httpx.HTTPError, LavendlyError, asyncio.TimeoutError) as e:
                await self._retry(e)
                continue
            try:
                if chunk is None:
                    self._t.check_end()
                    await self.aclose()
                    return
            except LavendlyError as e:
                await self._retry(e)
                continue
            if chunk:
                yield self._t.count(chunk)

    async def _retry(self, e: Exception) -> None:
        error = self._t.failure(e)
        await self.aclose()
        delay = None if isinstance(error, InvalidResponseError) else self._t.retry_delay(error)
        if delay is None:
            raise error from (None if error is e else e)
        await asyncio.sleep(delay)
        await self._open()

    async def _within(self, step: Awaitable[T]) -> T:
        return await asyncio.wait_for(step, self._t.timeout)

    async def _open(self) -> None:
        while True:
            try:
                await self._within(self._send())
                return
            except (httpx.HTTPError, LavendlyError, asyncio.TimeoutError) as e:
                error = self._t.failure(e)
                delay = self._t.retry_delay(error)
                if delay is None:
                    raise error from (None if error is e else e)
                await asyncio.sleep(delay)

    async def _send(self) -> None:
        url = self._t.url
        for hop in range(MAX_REDIRECTS + 1):
            request, auth = self._t.request(self._http, url)
            response = await self._http.send(request, stream=True, follow_redirects=False, auth=auth)
            try:
                target = self._t.redirect(response, url, hop)
                if target is None and not response.is_success:
                    raise self._t.error_of(response, await _ahead(aiter_decoded(response, self._t.timeout)))
                if target is None:
                    self._t.accept(response)
            except BaseException:
                await response.aclose()
                raise
            if target is None:
                break
            await response.aclose()
            url = target
        self._chunks = aiter_decoded(response, self._t.timeout)


def _head(chunks: Iterator[bytes]) -> bytes:
    out = b""
    for chunk in chunks:
        out += chunk
        if len(out) >= ERROR_BODY_LIMIT:
            break
    return out[:ERROR_BODY_LIMIT]


async def _ahead(chunks: AsyncIterator[bytes]) -> bytes:
    out = b""
    async for chunk in chunks:
        out += chunk
        if len(out) >= ERROR_BODY_LIMIT:
            break
    return out[:ERROR_BODY_LIMIT]


def download_file(client: BaseClient, http: httpx.Client, url: str, path: PathArg, *, overwrite: bool,
                  timeout: Optional[float], max_retries: Optional[int], headers: Optional[Mapping[str, str]]) -> DownloadedFile:
    temp = TempFile(path, overwrite)
    try:
        with Download(client, http, url, timeout=timeout, max_retries=max_retries, headers=headers,
                      on_restart=temp.restart) as d:
            for chunk in d.iter_bytes():
                temp.write(chunk)
            content_type = d.content_type
        return DownloadedFile(temp.commit(), temp.written, content_type)
    except BaseException:
        temp.discard()
        raise


async def adownload_file(client: BaseClient, http: httpx.AsyncClient, url: str, path: PathArg, *, overwrite: bool,
                         timeout: Optional[float], max_retries: Optional[int],
                         headers: Optional[Mapping[str, str]]) -> DownloadedFile:
    temp = TempFile(path, overwrite)
    try:
        async with AsyncDownload(client, http, url, timeout=timeout, max_retries=max_retries, headers=headers,
                                 on_restart=temp.restart) as d:
            async for chunk in d.aiter_bytes():
                temp.write(chunk)
            content_type = d.content_type
        return DownloadedFile(temp.commit(), temp.written, content_type)
    except BaseException:
        temp.discard()
        raise
