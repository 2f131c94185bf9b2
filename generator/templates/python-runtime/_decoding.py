"""A response body decoded from its Content-Encoding in pieces of bounded size. httpx's own
decoding (iter_bytes) inflates each network read whole: a gzip bomb turns one 64 KiB read into
some 64 MiB at once, so a size cap counted on what it yields is overrun many times before it can
refuse. Here each raw read is inflated at most PIECE bytes at a time, so a caller counting the
pieces stops within PIECE of its cap. Public httpx API only (iter_raw, DecodingError). Part of the
Python SDK runtime: standard library and httpx only."""
from __future__ import annotations

import time
import zlib
from typing import AsyncIterator, Iterator, List, Optional

import httpx

PIECE = 64 * 1024
"""The most one step of decoding produces."""
ACCEPT_ENCODING = "gzip, deflate"
"""What the SDK asks for: what it can decode in bounded pieces (not br, nor zstd)."""
_MAX_LAYERS = 3
"""More encodings than this stacked on one body is no server's doing: each layer costs an inflater."""


class _Inflater:
    """One gzip or deflate layer. Deflate is zlib-wrapped as the RFC says, or raw as some servers send it."""

    def __init__(self, encoding: str) -> None:
        self._deflate = encoding == "deflate"
        self._started = False
        self._z = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else zlib.MAX_WBITS | 16)

    def feed(self, data: bytes) -> Iterator[bytes]:
        pending = data
        while True:
            try:
                out = self._z.decompress(pending, PIECE)
            except zlib.error as e:
                if not (self._deflate and not self._started):
                    raise httpx.DecodingError(f"the body does not decode: {e}") from e
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                self._started = True
                continue
            self._started = True
            pending = self._z.unconsumed_tail
            if out:
                yield out
            # A full piece may leave output inside zlib even with no input left.
            if not pending and len(out) < PIECE:
                return

    def flush(self) -> Iterator[bytes]:
        try:
            out = self._z.flush()
        except zlib.error as e:
            raise httpx.DecodingError(f"the body does not decode: {e}") from e
        for start in range(0, len(out), PIECE):
            yield out[start:start + PIECE]


class _Decoder:
    """The layers of one body, outermost (applied last) first."""

    def __init__(self, response: httpx.Response) -> None:
        names = [v.strip().lower() for v in response.headers.get_list("content-encoding", split_commas=True)]
        names = [n for n in names if n and n != "identity"]
        if len(names) > _MAX_LAYERS:
            raise httpx.DecodingError(f"the body has {len(names)} content encodings", request=response.request)
        unsupported = [n for n in names if n in ("br", "zstd", "compress")]
        if unsupported:
            # Not asked for: passed through, the compressed bytes would be taken for the body.
            raise httpx.DecodingError(f"the body is in content-encoding {unsupported[0]!r}, which the SDK did not ask for",
                                      request=response.request)
        # Other unknown names are passed through, as httpx does (a store's `aws-chunked` file).
        self._layers: List[_Inflater] = [_Inflater("deflate" if n == "deflate" else "gzip")
                                         for n in reversed(names) if n in ("gzip", "x-gzip", "deflate")]
        self._request = response.request

    def feed(self, data: bytes, layer: int = 0) -> Iterator[bytes]:
        if layer == len(self._layers):
            yield data
            return
        try:
            for piece in self._layers[layer].feed(data):
                yield from self.feed(piece, layer + 1)
        except httpx.DecodingError as e:
            raise httpx.DecodingError(str(e), request=self._request) from e.__cause__

    def flush(self) -> Iterator[bytes]:
        for layer in range(len(self._layers)):
            try:
                pieces = list(self._layers[layer].flush())
            except httpx.DecodingError as e:
                raise httpx.DecodingError(str(e), request=self._request) from e.__cause__
            for piece in pieces:
                yield from self.feed(piece, layer + 1)


class _Idle:
    """Raises once raw bytes have kept arriving for `seconds` without a decoded byte among them:
    httpx's read timeout bounds each read, not a drip of compressed bytes that decode to nothing."""

    def __init__(self, seconds: Optional[float], request: httpx.Request) -> None:
        self._seconds = seconds
        self._request = request
        self.touch()

    def touch(self) -> None:
        self._since = time.monotonic()

    def check(self) -> None:
        if self._seconds is not None and time.monotonic() - self._since > self._seconds:
            raise httpx.ReadTimeout(f"nothing decoded for {self._seconds} s", request=self._request)


def iter_decoded(response: httpx.Response, idle: Optional[float] = None) -> Iterator[bytes]:
    """The decoded body of a streamed response, in non-empty pieces of at most PIECE bytes."""
    decoder = _Decoder(response)
    watch = _Idle(idle, response.request)
    for raw in response.iter_raw():
        for piece in decoder.feed(raw):
            yield piece
            watch.touch()  # counted from here: the time the caller took is not the server's
        watch.check()
    yield from decoder.flush()


async def aiter_decoded(response: httpx.Response, idle: Optional[float] = None) -> AsyncIterator[bytes]:
    """iter_decoded for an httpx.AsyncClient's response."""
    decoder = _Decoder(response)
    watch = _Idle(idle, response.request)
    async for raw in response.aiter_raw():
        for piece in decoder.feed(raw):
            yield piece
            watch.touch()  # counted from here: the time the caller took is not the server's
        watch.check()
    for piece in decoder.flush():
        yield piece
