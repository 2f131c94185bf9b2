"""A deadline for the blocking client's attempts that holds against a server dripping its status
line and headers. httpx's timeout bounds each socket read, so one byte every few seconds would
keep an attempt alive far past its timeout; the async client bounds the whole attempt with
asyncio.wait_for, which a blocking call cannot do. Here the network streams under httpx cap every
connect, read and write at what is left of the attempt's deadline (a per-thread value, set only
while the SDK sends an attempt), so the same httpx.Client used for anything else, such as a
streaming download, keeps httpx's own timeouts. Part of the Python SDK runtime: standard library
and httpx only."""
from __future__ import annotations

import contextlib
import ssl
import threading
import time
from typing import Iterator, List, Optional, Protocol, Type, cast

import httpcore
import httpx

_current = threading.local()


@contextlib.contextmanager
def attempt_deadline(seconds: float) -> Iterator[None]:
    """Bounds the network I/O of this thread's requests by `seconds` from now, inside the block."""
    previous: Optional[float] = getattr(_current, "deadline", None)
    _current.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _current.deadline = previous


def restart_deadline(seconds: float) -> None:
    """Moves this thread's deadline, if one is set, to `seconds` from now (an upload's progress)."""
    if getattr(_current, "deadline", None) is not None:
        _current.deadline = time.monotonic() + seconds


def _left(timeout: Optional[float], expired: Type[Exception]) -> Optional[float]:
    """`timeout` capped at what is left of the deadline; `expired` raised once nothing is."""
    deadline: Optional[float] = getattr(_current, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the attempt's deadline passed")
    return left if timeout is None else min(timeout, left)


class _Stream(Protocol):
    """httpcore's NetworkStream (httpcore.backends.base in 0.16, httpcore._backends.base in 1.x)."""

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes: ...

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None: ...

    def close(self) -> None: ...

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: Optional[str] = None,
                  timeout: Optional[float] = None) -> _Stream: ...

    def get_extra_info(self, info: str) -> object: ...


class _Backend(Protocol):
    def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None, **kwargs: object) -> _Stream: ...

    def connect_unix_socket(self, path: str, timeout: Optional[float] = None, **kwargs: object) -> _Stream: ...

    def sleep(self, seconds: float) -> None: ...


class _DeadlineStream:
    def __init__(self, inner: _Stream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: Optional[str] = None,
                  timeout: Optional[float] = None) -> _DeadlineStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    def __init__(self, inner: _Backend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: Optional[float] = None, **kwargs: object) -> _DeadlineStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _left(timeout, httpcore.ConnectTimeout), **kwargs))

    def connect_unix_socket(self, path: str, timeout: Optional[float] = None, **kwargs: object) -> _DeadlineStream:
        return _DeadlineStream(self._inner.connect_unix_socket(path, _left(timeout, httpcore.ConnectTimeout), **kwargs))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_transports(client: httpx.Client) -> None:
    """Puts the deadline under every connection pool of `client` (its transport and its mounts, one
    per proxy). These are httpx's and httpcore's private attributes (the same from httpx 0.23 to
    0.28): where one is missing (a transport that is not httpx's own), that pool keeps httpx's
    per-read timeout. Connections a pool opened before keep theirs."""
    transports: List[object] = [getattr(client, "_transport", None)]
    mounts: object = getattr(client, "_mounts", None)
    if isinstance(mounts, dict):
        transports.extend(mounts.values())
    for transport in transports:
        pool: object = getattr(transport, "_pool", None)
        backend: object = getattr(pool, "_network_backend", None)
        if callable(getattr(backend, "connect_tcp", None)) and not isinstance(backend, _DeadlineBackend):
            setattr(pool, "_network_backend", _DeadlineBackend(cast(_Backend, backend)))
