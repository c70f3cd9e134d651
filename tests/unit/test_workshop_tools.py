"""The workshop's command forms, unchanged, against tools/: generate_mysql_views.py (positional or
--contract, -t/-a required, "SQL written to X", view names read the workshop's way), the script copied
alone, and create_glue_and_run.py with the workshop's config.json keys."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools"
CONTRACT = ROOT / "examples" / "workshop-contract.json"
BASE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), **extra}


def _run(argv: list[str], cwd: Path, python: str | Path = sys.executable, env: dict[str, str] | None = None):
    return subprocess.run(
        [str(python), *argv], cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=120
    )


def _tables() -> list[str]:
    return [t["table"] for t in json.loads(CONTRACT.read_text())["tables"]]


def _workshop_view_names(sql: str) -> list[str]:
    """How the workshop's contract_driven_migration_glue_mcp.py reads the generator's output."""
    statements, current = [], ""
    for line in sql.split("\n"):
        line = line.strip()
        if not line or line.startswith("--"):
            continue
        if "CREATE OR REPLACE VIEW" in line:
            if current:
                statements.append(current.strip())
            current = line
        else:
            current += "\n" + line
        if line.endswith(";"):
            statements.append(current.strip())
            current = ""
    return [s.split("VIEW ")[1].split(" AS")[0].strip() for s in statements]


def test_generate_views_workshop_forms(tmp_path: Path) -> None:
    script = str(TOOLS / "generate_mysql_views.py")
    expected = [f"ddb_{name.lower()}_view" for name in _tables()]

    # the workshop's migration script: python3 generate_mysql_views.py --contract C --all, SQL on stdout
    proc = _run([script, "--contract", str(CONTRACT), "--all"], tmp_path, python=BASE_PYTHON)
    assert proc.returncode == 0, proc.stderr
    assert _workshop_view_names(proc.stdout) == expected

    # positional contract, --output: the file, and "SQL written to X" on stdout
    proc = _run([script, str(CONTRACT), "-a", "-o", "views.sql"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "SQL written to views.sql\n"
    assert _workshop_view_names((tmp_path / "views.sql").read_text()) == expected

    # one table
    proc = _run([script, "-c", str(CONTRACT), "-t", "Users", "-o", "users.sql"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert _workshop_view_names((tmp_path / "users.sql").read_text()) == ["ddb_users_view"]

    # neither -t nor -a: the workshop's error
    proc = _run([script, str(CONTRACT)], tmp_path)
    assert proc.returncode == 2
    assert "either --table or --all is required" in proc.stderr

    # a table the contract does not have
    proc = _run([script, "-c", str(CONTRACT), "-t", "Nope"], tmp_path)
    assert proc.returncode == 2 and "Nope" in proc.stderr and "Traceback" not in proc.stderr


def test_generate_views_copied_alone(tmp_path: Path) -> None:
    tools = tmp_path / "their-project" / "tools"
    tools.mkdir(parents=True)
    shutil.copy(TOOLS / "generate_mysql_views.py", tools)
    (tools / "contract.json").write_text(CONTRACT.read_text())

    # a python with dynamigrate: runs
    proc = _run(["generate_mysql_views.py", "contract.json", "--all", "-o", "v.sql"], tools)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "SQL written to v.sql\n" and (tools / "v.sql").exists()

    # a python without it: says exactly what to install, into which python
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _run(["generate_mysql_views.py", "contract.json", "--all"], tools, python=BASE_PYTHON, env=env)
    assert proc.returncode == 2
    assert "needs the dynamigrate package" in proc.stderr
    assert f"{BASE_PYTHON} -m pip install -e <dynamigrate checkout>" in proc.stderr
    assert "Traceback" not in proc.stderr and "_bootstrap" not in proc.stderr


def _workshop_config(tmp_path: Path, **aws: Any) -> Path:
    """The workshop's tools/config.json layout (its keys, placeholders filled in)."""
    raw = {
        "aws": {
            "account_id": "123456789012",
            "region": "us-east-2",
            "s3_bucket": "modernizer-bucket",
            "glue_role": "GlueMigrationRole",
            "vpc_id": "vpc-0abc",
            "subnet_ids": ["subnet-0abc"],
            "security_group_ids": ["sg-0abc"],
            "endpoint_url": "http://127.0.0.1:1",  # nothing listens: no AWS call can succeed
            **aws,
        },
        "mysql": {
            "public_host": "127.0.0.1",
            "private_host": "10.0.1.23",
            "port": 1,  # no MySQL either: the load plan is skipped
            "user": "dbuser",
            "password": "pw-not-printed",
            "database": "online_shopping_store",
        },
        "migration": {
            "contract_file": str(CONTRACT),
            "view_generator": "generate_mysql_views.py",
            "s3_script_prefix": "etl-scripts/",
            "output_dir": str(tmp_path / "runs"),
        },
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return path


def test_create_glue_and_run_with_the_workshop_config(tmp_path: Path) -> None:
    script = str(TOOLS / "create_glue_and_run.py")
    env = _env(AWS_ACCESS_KEY_ID="dummy", AWS_SECRET_ACCESS_KEY="dummy")
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):  # the config's region alone
        env.pop(name, None)
    config = _workshop_config(tmp_path)

    proc = _run(
        [script, "--config", str(config), "--tables", "Users,Products", "--dry-run"], tmp_path, env=env
    )
    assert proc.returncode == 0, proc.stderr
    # no Glue connection: said plainly
    assert "the Glue jobs will not reach MySQL" in proc.stdout
    # the keys that mean something are used: the role ARN from account_id and glue_role
    creates = [line for line in proc.stdout.splitlines() if "glue.create_job(" in line]
    assert len(creates) == 2
    assert all('"Role": "arn:aws:iam::123456789012:role/GlueMigrationRole"' in line for line in creates)
    # the others are named as not used
    assert "aws.vpc_id, aws.subnet_ids, aws.security_group_ids not used" in proc.stderr
    assert "mysql.private_host (10.0.1.23) not used" in proc.stderr
    assert "pw-not-printed" not in proc.stdout + proc.stderr
    # nothing answers at the endpoint: one warning for that one cause, naming every resource
    (unchecked,) = [line for line in proc.stderr.splitlines() if "region check: could not check" in line]
    assert "could not check 5 resources" in unchecked
    for resource in ("DynamoDB table Users", "DynamoDB table Products", "S3 bucket modernizer-bucket"):
        assert resource in unchecked

    # a real run without a connection stops before anything is created
    proc = _run([script, "--config", str(config)], tmp_path, env=env)
    assert proc.returncode == 2
    assert "the Glue jobs would not reach MySQL" in proc.stderr and "Traceback" not in proc.stderr

    # with the workshop's connection: no warning about it; the connection is attached to each job
    config = _workshop_config(tmp_path, glue_connection="mysql-modernizer-connection")
    proc = _run([script, "--config", str(config), "--tables", "Users", "--dry-run"], tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "will not reach MySQL" not in proc.stdout
    (create,) = [line for line in proc.stdout.splitlines() if "glue.create_job(" in line]
    assert '"Connections": {"Connections": ["mysql-modernizer-connection"]}' in create


def test_migrate_engine_glue_plan_with_the_workshop_config(tmp_path: Path) -> None:
    env = _env(AWS_ACCESS_KEY_ID="dummy", AWS_SECRET_ACCESS_KEY="dummy")
    config = _workshop_config(tmp_path)
    argv = ["-m", "dynamigrate", "migrate", "--config", str(config), "--engine", "glue", "--dry-run"]
    proc = _run(argv, tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "the Glue jobs will not reach MySQL" in proc.stdout
    assert "aws.vpc_id, aws.subnet_ids, aws.security_group_ids not used" in proc.stdout
