"""CPU time spent by validation's threads, process-wide (``time.thread_time`` of each thread).

``migrate`` validates a table while the next one loads, so the process's CPU during the load includes
validation's: a benchmark subtracts :data:`METER`'s growth to report the load's own CPU per item.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class CpuMeter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self.seconds = 0.0

    @contextlib.contextmanager
    def measured(self) -> Iterator[None]:
        """Count this thread's CPU inside the block (nested blocks of one thread count once)."""
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        t0 = time.thread_time() if depth == 0 else 0.0
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                spent = time.thread_time() - t0
                with self._lock:
                    self.seconds += spent


#: validation's CPU since the process started
METER = CpuMeter()
