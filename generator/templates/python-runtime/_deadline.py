"""A deadline for the blocking client's attempts that holds against a server dripping its status
line and headers. httpx's timeout bounds each socket read, so one byte every few seconds would
keep an attempt alive far past its timeout, and a blocking read cannot be interrupted; the async
client bounds the whole attempt with asyncio.wait_for. Here the attempt runs on a worker thread
and the calling thread waits for it until the deadline, then gives up with a timeout. The attempt
is an ordinary httpx call (public API only, nothing patched into httpx), so an httpx.Client the
caller also uses for anything else keeps httpx's own timeouts there.

An attempt given up on ends in the background: it sees `expired` and stops at its next chunk; a
read it is blocked in is woken by shutting its connection's socket down, where httpcore's `trace`
request extension named the connection it opened (else it ends with httpx's per-read timeout or
when the server ends its headers); a response it returns late is handed to `abandon` (to close it). Part of the Python SDK runtime: standard
library and httpx only."""
from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import time
from typing import Callable, Generic, List, Mapping, Optional, TypeVar

import httpx

T = TypeVar("T")


class Deadline:
    """`seconds` from now; restart() moves it to `seconds` from then (an upload's progress)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._given_up = False
        self._stream: object = None
        self.restart()

    def restart(self) -> None:
        self._at = time.monotonic() + self.seconds

    def left(self) -> float:
        return self._at - time.monotonic()

    @property
    def expired(self) -> bool:
        return self._given_up or self.left() <= 0

    def give_up(self) -> None:
        self._given_up = True
        self._shut_down()

    def trace(self, event: str, info: Mapping[str, object]) -> None:
        """httpcore's `trace` request extension (public, in httpcore 0.16 as in 1.x): keeps the
        network stream of a connection the attempt opens (a reused one is not named)."""
        if event.startswith("connection.") and event.endswith(".complete") and info.get("return_value") is not None:
            self._stream = info["return_value"]
            if self._given_up:
                self._shut_down()

    def _shut_down(self) -> None:
        # shutdown(), not close(): it wakes a read blocked on the socket in the worker, which then
        # fails and closes the connection itself; on a socket closed already it raises OSError.
        get_extra_info = getattr(self._stream, "get_extra_info", None)
        sock = get_extra_info("socket") if callable(get_extra_info) else None
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Outcome(Generic[T]):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.result: List[T] = []
        self.error: Optional[BaseException] = None
        self.given_up = False


def run_within(attempt: Callable[[Deadline], T], seconds: float, abandon: Optional[Callable[[T], None]] = None) -> T:
    """`attempt(deadline)`, run on a worker thread; raises httpx.TimeoutException if the deadline
    passes first. The worker runs in a copy of the caller's context (contextvars)."""
    deadline = Deadline(seconds)
    outcome: _Outcome[T] = _Outcome()
    context = contextvars.copy_context()

    def work() -> None:
        try:
            result = context.run(attempt, deadline)
        except BaseException as e:  # handed to the caller, who re-raises it
            outcome.error = e
            outcome.done.set()
            return
        with outcome.lock:
            outcome.result.append(result)
            outcome.done.set()
            late = outcome.given_up
        if late and abandon is not None:
            abandon(result)

    def give_up() -> None:
        deadline.give_up()
        with outcome.lock:
            outcome.given_up = True
            late = list(outcome.result)
        if late and abandon is not None:
            abandon(late[0])

    # A daemon: a worker stuck on a dripping server does not keep the interpreter from exiting.
    threading.Thread(target=work, name="lavendly-attempt", daemon=True).start()
    timed_out = False
    try:
        while not outcome.done.wait(max(deadline.left(), 0.0)):
            if deadline.left() <= 0:
                timed_out = True
                break
    except BaseException:
        give_up()  # a KeyboardInterrupt: the worker stops too
        raise
    if timed_out:
        give_up()
        raise httpx.TimeoutException(f"the attempt's deadline ({seconds} s) passed")
    if outcome.error is not None:
        raise outcome.error
    return outcome.result[0]
