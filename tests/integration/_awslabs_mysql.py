"""The real awslabs.mysql-mcp-server's surroundings for the tests: tools/awslabs_mysql_local.py (the
demo runs the same), imported from there (not collected by pytest)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from awslabs_mysql_local import AwsLabsMysqlRig, running_rig, server_exe, start_rig

__all__ = ["AwsLabsMysqlRig", "running_rig", "server_exe", "start_rig"]
