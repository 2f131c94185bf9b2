"""Files sent as request bodies: a path or an open binary file is read in chunks as it is sent,
never whole into memory, with its length known up front where it can be (sent as Content-Length,
so a server's size limit refuses an oversized file before the transfer). Each chunk handed to
the connection restarts the attempt's clock, so a long upload is bounded by its progress, not
its size. Part of the Python SDK runtime: standard library and httpx only."""
from __future__ import annotations

import os
import stat
from typing import IO, AsyncIterator, Callable, Iterator, Optional, Union, cast

UploadFile = Union[bytes, str, "os.PathLike[str]", IO[bytes]]
"""What a file-body argument takes: the bytes themselves, a path, or a file opened in binary mode."""

CHUNK_BYTES = 1 << 20


class FileBody:
    """A file to send: a path is opened afresh for every attempt, an open file is rewound to where
    it stood when the call began (one that cannot seek is sent once, never retried)."""

    def __init__(self, source: Union[os.PathLike[str], IO[bytes]]) -> None:
        self._path: Optional[str] = None
        self._file: Optional[IO[bytes]] = None
        self._start: Optional[int] = None
        self.size: Optional[int] = None
        """Bytes to send, when known up front (then sent as Content-Length)."""
        self.name: Optional[str] = None
        if isinstance(source, os.PathLike):
            self._path = os.fspath(source)
            info = os.stat(self._path)  # a missing file fails here, before a slot or a request
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{self._path} is not a regular file")
            self.size = info.st_size
            self.name = os.path.basename(self._path) or None
            return
        self._file = source
        self.name = os.path.basename(str(getattr(source, "name", "") or "")) or None
        if source.seekable():
            self._start = source.tell()
            end = source.seek(0, os.SEEK_END)
            source.seek(self._start)
            self.size = max(0, end - self._start)

    @property
    def rewindable(self) -> bool:
        return self._path is not None or self._start is not None

    def chunks(self, on_chunk: Callable[[], None]) -> Iterator[bytes]:
        """The file's bytes for one attempt; `on_chunk` runs before each chunk goes out."""
        if self._path is not None:
            with open(self._path, "rb") as f:
                yield from self._read(f, on_chunk)
        else:
            assert self._file is not None
            if self._start is not None:
                self._file.seek(self._start)
            yield from self._read(self._file, on_chunk)

    async def achunks(self, on_chunk: Callable[[], None]) -> AsyncIterator[bytes]:
        """`chunks` for the async client (local reads of at most a chunk, made in the loop)."""
        for chunk in self.chunks(on_chunk):
            yield chunk

    def _read(self, f: IO[bytes], on_chunk: Callable[[], None]) -> Iterator[bytes]:
        left = self.size
        while left is None or left > 0:
            chunk = f.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            on_chunk()
            yield chunk
        if left:
            # The Content-Length already sent promised more: stop instead of leaving the server waiting.
            raise OSError(f"the file ended {left} bytes short of the {self.size} it had when the upload began")


def file_body(body: object) -> Optional[FileBody]:
    """`body` as a FileBody when it is a path or an open binary file, else None."""
    if isinstance(body, FileBody):
        return body
    if isinstance(body, os.PathLike):
        return FileBody(body)
    if callable(getattr(body, "read", None)) and callable(getattr(body, "seekable", None)):
        return FileBody(cast("IO[bytes]", body))
    return None
