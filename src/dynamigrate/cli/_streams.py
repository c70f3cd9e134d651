"""Standard streams that survive their reader going away.

``dynamigrate migrate ... 2>&1 | head -1``: once ``head`` exits, every write to the pipe raises
BrokenPipeError (Python ignores SIGPIPE). A migration must not die of that: what it prints is a view of
the run, the run itself (checkpoints, events.jsonl, reports in the run directory) is the record. So a
stream whose pipe broke drops everything written to it from then on, its file descriptor is pointed at
/dev/null (so the interpreter's final flush cannot fail either), and the command ends with the run's
true outcome and exit code.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)


def _is_broken_pipe(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EPIPE, errno.ECONNRESET)
    )


class PipeSafeStream:
    """A text stream that stops writing (silently) once its reader has gone away."""

    def __init__(self, inner: Any, name: str):
        self._inner = inner
        self.name = name
        self.broken = False

    @property
    def inner(self) -> Any:
        return self._inner

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._inner.write(text)
            except OSError as exc:
                if not _is_broken_pipe(exc):
                    raise
                self._broke()
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self._inner.flush()
        except OSError as exc:
            if not _is_broken_pipe(exc):
                raise
            self._broke()

    def _broke(self) -> None:
        self.broken = True
        # what the stream still buffers would fail again at the interpreter's last flush: the descriptor
        # now leads to /dev/null (https://docs.python.org/3/library/signal.html#note-on-sigpipe)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, self._inner.fileno())
            finally:
                os.close(devnull)
        log.info("%s was closed by its reader; the command goes on without printing there", self.name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def pipe_safe_std_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` pipe-safe for the duration (nested uses are no-ops)."""
    old_out, old_err = sys.stdout, sys.stderr
    if not isinstance(old_out, PipeSafeStream):
        sys.stdout = PipeSafeStream(old_out, "stdout")
    if not isinstance(old_err, PipeSafeStream):
        sys.stderr = PipeSafeStream(old_err, "stderr")
    try:
        yield
    finally:
        for name, old in (("stdout", old_out), ("stderr", old_err)):
            current = getattr(sys, name)
            if current is not old and isinstance(current, PipeSafeStream):
                with contextlib.suppress(OSError, ValueError):
                    current.flush()
                setattr(sys, name, old)
