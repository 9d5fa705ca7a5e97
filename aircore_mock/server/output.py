"""Output that never holds up a server: a bounded queue and a writer thread of its own.

A server's event loop answers every client; if it wrote to a terminal, a pipe or a slow disk
itself, one reader that stops reading (`aircore-mock receive | less`, a full pipe) would stop
the server, SIGTERM included. So the loop only renders a line and queues it (`put`, which
never blocks), and a thread writes. When the queue is full the item is dropped and counted:
losing a line of output is better than stalling every sender.

Lines are rendered by `put`, on the caller's thread, not by the writer: a second thread
running Python code contends with the server's loop for the GIL at every system call the
loop makes, which cost `aircore-mock receive` ~6 us of CPU a request (measured, the
benchmarks' `bench_receive.py`); rendering a line costs ~1.5 us. The writer only joins
bytes and calls `os.write`, which releases the GIL.

The writer writes to a file descriptor with `os.write`, never through a Python file object:
a thread blocked inside a buffered file holds its lock, and the interpreter cannot flush
that file at exit. Before each write it waits, in short steps, until the descriptor can take
data, so that `close()` can give up on a reader that never reads again.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import select
import stat
import threading
import time
from collections.abc import Callable
from typing import IO, Any

DEFAULT_CAPACITY = 10_000
"""Items a writer holds before it drops new ones."""

_CHUNK = 4096  # PIPE_BUF: a pipe that polls writable takes this much without blocking
_POLL = 0.2  # seconds between checks whether the writer is being closed
_BATCH = 1024
_GATHER = 0.05  # seconds the writer lets items gather: one wake-up a batch, not one an item
_FINISH_LINE = 2.0  # seconds a line begun may take to finish after close() gave up

SLOW = "did not keep up"
CLOSED = "closed"
LATE = "not written in time"


class LineWriter:
    """Writes rendered items to a file descriptor from a thread, in order; `put` never blocks.

    `render(item)` turns an item into the bytes to write (a line, newline included); `put`
    calls it (see the module's notes), and a render that raises writes a line that says so
    instead. `on_broken` is called (on the writer thread) once if the reader goes away (EPIPE).
    """

    def __init__(
        self,
        target: int | IO[Any],
        render: Callable[[Any], bytes] = bytes,
        *,
        capacity: int = DEFAULT_CAPACITY,
        name: str = "output",
        on_broken: Callable[[], None] | None = None,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.fd = target if isinstance(target, int) else target.fileno()
        self.render = render
        self.capacity = capacity
        self.name = name
        self.on_broken = on_broken
        self.written = 0
        """Items written."""
        self.dropped_by: collections.Counter[str] = collections.Counter()
        """Items dropped, by cause: `did not keep up` (the queue was full), `closed` (the
        reader went away), `not written in time` (`close()` gave up on a reader), or the
        write's error (`No space left on device`, ...)."""
        self.broken = False
        """The reader went away (EPIPE); later items are dropped."""
        self.error: str | None = None
        """Why writing stopped, when it did (a broken pipe, a full disk, ...)."""
        self._queue: collections.deque[Any] = collections.deque()
        self._wake = threading.Condition(threading.Lock())
        self._closing = False
        self._abandon = False
        self._abandoned_at: float | None = None
        self._busy = False
        # poll, not select: select cannot watch a descriptor numbered above 1023, which a busy
        # server's log file may get. Without poll (Windows) writes simply block the thread.
        self._poller: Any = None
        if hasattr(select, "poll"):
            self._poller = select.poll()
            self._poller.register(self.fd, select.POLLOUT)
        self._thread = threading.Thread(target=self._run, name=f"aircore-mock {name}", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        """Items dropped, whatever the cause (see `dropped_by`)."""
        return sum(self.dropped_by.values())

    def _drop(self, count: int, cause: str) -> None:
        if count:
            self.dropped_by[cause] += count

    def put(self, item: Any) -> bool:
        """Render `item` and queue it for writing; False (and counted in `dropped`) if it
        cannot be."""
        # deque.append is atomic; the length check may let a few past the capacity under a
        # race, which is harmless: the bound is on memory, not exact.
        if self.broken:
            self._drop(1, CLOSED)
            return False
        if self._closing or len(self._queue) >= self.capacity:
            self._drop(1, SLOW)
            return False
        try:
            data = self.render(item)
        except Exception as exc:  # a render bug must not take the server down
            data = f"aircore-mock: cannot write output: {exc!r}\n".encode()
        self._queue.append(data)
        return True

    @property
    def pending(self) -> int:
        """Items queued and not written yet."""
        return len(self._queue)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything queued so far is written (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._wake:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._wake.wait(left)
        return True

    def close(self, timeout: float = 2.0) -> bool:
        """Write what is queued, waiting at most `timeout` s; True if everything was written.

        What cannot be written in time (a reader that stopped reading) is dropped and counted.
        """
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout)
        gave_up = self._thread.is_alive()
        if gave_up:
            self._abandon = True
            self._thread.join(_FINISH_LINE + _POLL * 2 + 0.1)
        left = len(self._queue)
        if left:
            self._drop(left, CLOSED if self.broken else LATE)
            self._queue.clear()
        return not gave_up and not left and not self.broken

    def _run(self) -> None:
        queue = self._queue
        while True:
            with self._wake:
                self._busy = False
                self._wake.notify_all()  # flush() waits for an empty queue and an idle writer
                # Woken by the clock, not by each put, and in batches: a server's loop that had
                # to hand the GIL to this thread for every request would lose much of its speed.
                if len(queue) < _BATCH and not self._closing:
                    self._wake.wait(_GATHER)
                while not queue and not self._closing:
                    self._wake.wait(_GATHER)
                if not queue:
                    return  # closing, and everything written
                self._busy = True
                batch = []
                while queue and len(batch) < _BATCH:
                    batch.append(queue.popleft())
            done = self._write_lines(batch)
            self.written += done
            if done < len(batch):
                cause = CLOSED if self.broken else LATE if self._abandon else self.error or "?"
                self._drop(len(batch) - done, cause)
                if self.broken or self._abandon:
                    self._drop(len(queue), CLOSED if self.broken else LATE)
                    queue.clear()
                    return

    def _write_lines(self, lines: list[bytes]) -> int:
        """Write whole lines, in chunks that end where a line ends; how many were written.

        A line is written whole or not at all: chunks of up to `_CHUNK` bytes of whole lines
        (a pipe takes each in one atomic write), a longer line on its own; when a write fails
        part-way (a full disk), a regular file is cut back to the end of the last whole line,
        so that the file stays valid JSONL when space comes back."""
        done = index = 0
        while index < len(lines):
            size, end = len(lines[index]), index + 1
            while end < len(lines) and size + len(lines[end]) <= _CHUNK:
                size += len(lines[end])
                end += 1
            chunk = lines[index]
            if end > index + 1:
                chunk = b"".join(lines[index:end])
            sent = self._write(chunk)
            if sent < len(chunk):
                # Count what went whole; take back a torn line where the target allows.
                whole = chunk.rfind(b"\n", 0, sent) + 1
                done += chunk.count(b"\n", 0, whole)
                if sent > whole:
                    self._take_back(sent - whole)
                return done
            done += end - index
            index = end
        return done

    def _take_back(self, size: int) -> None:
        # Only a regular file can be cut back (a pipe or a terminal cannot unsay bytes).
        with contextlib.suppress(OSError):
            info = os.fstat(self.fd)
            if stat.S_ISREG(info.st_mode):
                os.ftruncate(self.fd, max(0, info.st_size - size))

    def _write(self, data: bytes) -> int:
        """Write `data`; the bytes written (fewer when the target failed or was given up)."""
        view = memoryview(data)
        sent = 0
        while sent < len(data):
            # Given up (close() timed out) between lines, never inside one already begun on
            # a pipe: a pipe whose reader is slow still gets the line's end.
            if self._abandon and (sent == 0 or self._gave_up_on_line()):
                return sent
            if self._poller is not None and not self._poller.poll(_POLL * 1000):
                continue  # not writable yet (or an error, which the write below reports)
            try:
                done = os.write(self.fd, view[sent : sent + _CHUNK])
            except BlockingIOError:
                continue
            except OSError as exc:
                self._failed(exc)
                return sent
            sent += done
        return sent

    def _gave_up_on_line(self) -> bool:
        """After `close()` gave up: a line begun is finished for up to `_FINISH_LINE` s more."""
        if self._abandoned_at is None:
            self._abandoned_at = time.monotonic()
        return time.monotonic() - self._abandoned_at > _FINISH_LINE

    def _failed(self, exc: BaseException) -> bool:
        if isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.EBADF):
            self.broken = True
        self.error = str(exc.strerror if isinstance(exc, OSError) and exc.strerror else exc)
        if self.broken and self.on_broken is not None:
            with contextlib.suppress(Exception):
                self.on_broken()
        return False


SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "asyncio")
"""The loggers a server's own stack writes to (uvicorn's warnings and tracebacks, asyncio's
errors): by default they write to stderr themselves, and block when it is a full pipe."""

_routed: list[logging.Handler] = []


class WriterHandler(logging.Handler):
    """A logging handler that queues each record as a line on a `LineWriter` (never blocks:
    a record that cannot be written in time is dropped and counted, as any line)."""

    def __init__(self, writer: LineWriter) -> None:
        super().__init__()
        self.writer = writer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a broken record must not take the server down
            text = f"aircore-mock: a log record could not be formatted: {record.msg!r}"
        # One line a record: a traceback's lines joined, so that lines never interleave.
        self.writer.put(text.replace("\n", "\n  "))


def route_server_logs(writer: LineWriter) -> None:
    """Send the servers' own log records (see `SERVER_LOGGERS`) to `writer`, never straight
    to stderr; `AppServer` then leaves uvicorn's logging as it is set here."""
    unroute_server_logs()
    handler = WriterHandler(writer)
    handler.setFormatter(logging.Formatter("%(name)s: %(levelname)s: %(message)s"))
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        if name != "asyncio":
            logger.setLevel(logging.WARNING)
    _routed.append(handler)


def unroute_server_logs() -> None:
    """Undo `route_server_logs`."""
    if not _routed:
        return
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers = [h for h in logger.handlers if h not in _routed]
        logger.propagate = True
    _routed.clear()


def server_logs_routed() -> bool:
    """Whether `route_server_logs` is in force."""
    return bool(_routed)
