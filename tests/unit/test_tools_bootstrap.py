"""The workshop scripts run from a checkout with a python that lacks the dependencies (re-run in .venv)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT / "examples" / "workshop-contract.json"


def test_generate_mysql_views_runs_under_the_base_python(tmp_path):
    base_python = Path(sys.base_prefix) / "bin" / "python3"
    out = tmp_path / "views.sql"
    proc = subprocess.run(
        [
            str(base_python),
            str(ROOT / "tools" / "generate_mysql_views.py"),
            "-c",
            str(CONTRACT),
            "-a",
            "-o",
            str(out),
            "--dialect",
            "mysql",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    for view in ("ddb_users_view", "ddb_products_view", "ddb_categories_view"):
        assert f"CREATE OR REPLACE VIEW {view} AS" in text
