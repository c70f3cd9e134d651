"""contract check is linear in the number of attributes (issue 12: 20k attributes took 4.3 s, quadratic)."""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path

from dynamigrate.cli import main


def _seconds(tmp_path: Path, n: int) -> float:
    attrs = [{"name": "PK", "type": "S", "source_table": "t", "source_column": "id"}]
    attrs += [{"name": f"a{i}", "type": "S", "source_table": "t", "source_column": f"c{i}"} for i in range(n)]
    path = tmp_path / f"c{n}.json"
    data = {
        "tables": [
            {"table": "Big", "type": "single-entity", "source_table": "t", "pk": "PK", "attributes": attrs}
        ]
    }
    path.write_text(json.dumps(data))
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["contract", "check", str(path)]) == 0
        best = min(best, time.perf_counter() - t0)
    return best


def test_eight_times_the_attributes_costs_about_eight_times_the_time(tmp_path: Path) -> None:
    _seconds(tmp_path, 200)  # imports and caches out of the measurement
    small, large = _seconds(tmp_path, 2000), _seconds(tmp_path, 16000)
    # linear: ~8x; the quadratic duplicate-name scan made it ~40-60x
    assert large / small < 14, (small, large)
