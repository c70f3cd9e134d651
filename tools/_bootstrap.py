"""Make the workshop scripts run from a checkout with any ``python``.

The scripts are thin wrappers over the ``dynamigrate`` package. When the interpreter that runs them
does not have the package's dependencies (a system ``python3``), they re-run themselves under the
checkout's ``.venv`` (made by ``scripts/setup.sh``), or say exactly what to install.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("pymysql", "boto3", "sqlglot")


def ensure_package(script: str) -> None:
    src = ROOT / "src"
    if src.is_dir() and str(src) not in sys.path:
        sys.path.insert(0, str(src))
    try:
        for module in REQUIRED:
            __import__(module)
        import dynamigrate  # noqa: F401
    except ImportError as exc:
        venv_python = ROOT / ".venv" / "bin" / "python"
        if venv_python.exists() and Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
            os.execv(str(venv_python), [str(venv_python), script, *sys.argv[1:]])
        print(
            f"error: {Path(script).name} needs the dynamigrate package and its dependencies ({exc.name} "
            "is missing)\n  hint: run ./scripts/setup.sh once (creates .venv), or `pip install -e .` in "
            "this checkout",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
