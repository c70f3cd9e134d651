"""Run a command under a pseudo-terminal of a given size and read what it drew (not collected)."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence

# CSI (cursor moves, erase, colours, ?25l...), OSC (titles, hyperlinks), and single ESC sequences
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


def run_in_pty(
    argv: Sequence[str], env: dict[str, str], columns: int = 80, rows: int = 40, timeout: float = 240
) -> tuple[int, str]:
    """(exit code, everything written to the terminal) of ``argv`` run with stdin, stdout and stderr
    on a pty of ``columns`` x ``rows``."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {**env, "COLUMNS": str(columns), "LINES": str(rows), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        else:
            proc.kill()
            raise AssertionError("timed out:\n" + b"".join(chunks).decode("utf-8", "replace")[-3000:])
    finally:
        os.close(master)
    code = proc.wait(timeout=30)
    return code, b"".join(chunks).decode("utf-8", "replace")


def screen_lines(raw: str) -> list[str]:
    """The text lines drawn, escape sequences removed; a carriage return starts a new line (a redraw
    overwrites from the start of the line)."""
    text = _ANSI.sub("", raw)
    return [line for line in re.split(r"\r\n|\n|\r", text)]


def final_screen(raw: str, columns: int = 80, rows: int = 40) -> list[str]:
    """What a terminal of that size shows at the end, with the lines scrolled off above it: the output
    fed through a VT100 emulator (pyte), so overwritten text is gone as it would be on screen."""
    import pyte

    screen = pyte.HistoryScreen(columns, rows, history=10_000)
    stream = pyte.Stream(screen)
    stream.feed(raw.replace("\n", "\r\n") if "\r\n" not in raw else raw)
    history = ["".join(ch.data for ch in (line[x] for x in range(columns))) for line in screen.history.top]
    return [line.rstrip() for line in [*history, *screen.display]]
