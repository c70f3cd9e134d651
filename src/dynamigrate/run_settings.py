"""A run's own settings: what ``migrate`` used (endpoint, region, database, contract...), saved in
``run.json`` and taken as the default by every later command on the run (validate, rollback, cleanup,
markers), so that ``dynamigrate validate --run RUN`` without ``--config`` talks to the same DynamoDB
endpoint, region and database as the run did.

Secrets are never saved: the MySQL password (and AWS credentials) come from the environment or the
config file again; :func:`missing_secret_hint` says so when one is missing.

Precedence for a command on a run: flag > environment > config file > the run's settings > defaults.
"""

from __future__ import annotations

import logging
from dataclasses import fields, replace
from typing import Any

from dynamigrate.config import AwsSettings, Config, MigrationSettings, MySQLSettings

log = logging.getLogger(__name__)

#: settings saved with a run (never secrets), as ``section -> fields``
SAVED: dict[str, tuple[str, ...]] = {
    "mysql": ("host", "port", "user", "database"),
    "aws": (
        "region",
        "endpoint_url",
        "dynamodb_endpoint_url",
        "profile",
        "account_id",
        "s3_bucket",
        "glue_role",
        "glue_connection",
        "s3_script_prefix",
    ),
    "migration": ("contract_file", "marker_attribute", "version_attribute", "dialect", "tables"),
}
_SECTIONS = {"mysql": MySQLSettings, "aws": AwsSettings, "migration": MigrationSettings}
assert all(set(v) <= {f.name for f in fields(_SECTIONS[k])} for k, v in SAVED.items())


def run_settings(cfg: Config) -> dict[str, Any]:
    """The effective non-secret settings of ``cfg`` as dotted keys (``None`` values left out), plus
    ``secrets``: the names of the secrets that were set (never their values)."""
    out: dict[str, Any] = {}
    for section, names in SAVED.items():
        obj = getattr(cfg, section)
        for name in names:
            value = getattr(obj, name)
            if name == "contract_file" and value:
                value = str(cfg.resolve_path(value).resolve())  # type: ignore[union-attr]
            if isinstance(value, tuple):
                value = list(value)
            if value not in (None, "", []):
                out[f"{section}.{name}"] = value
    out["secrets"] = ["mysql.password"] if cfg.mysql.password else []
    return out


def saved_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """The settings a run saved; for runs older than ``settings`` in run.json, the non-secret values of
    the masked config file it recorded."""
    if isinstance(meta.get("settings"), dict):
        return dict(meta["settings"])
    raw: dict[str, Any] = meta["config"] if isinstance(meta.get("config"), dict) else {}
    out: dict[str, Any] = {}
    for section, names in SAVED.items():
        block: dict[str, Any] = raw[section] if isinstance(raw.get(section), dict) else {}
        for name in names:
            value = block.get(name)
            if value not in (None, "", "***", []):
                out[f"{section}.{name}"] = value
    return out


def with_run_settings(cfg: Config, meta: dict[str, Any], run_id: str = "") -> Config:
    """``cfg`` with every setting that no flag, environment variable or config file gave taken from the
    run; a setting given explicitly that differs from the run's is kept, with a warning."""
    saved = saved_settings(meta)
    changes: dict[str, dict[str, Any]] = {}
    origins = dict(cfg.origins)
    for dotted, value in saved.items():
        section, _, name = dotted.partition(".")
        if section not in SAVED or name not in SAVED[section]:
            continue
        current = getattr(getattr(cfg, section), name)
        if dotted in cfg.origins:
            shown = list(current) if isinstance(current, tuple) else current
            if shown != value and name != "contract_file":
                log.warning(
                    "%s is %s (%s), run %s used %s: using %s",
                    dotted,
                    shown,
                    cfg.origins[dotted],
                    run_id or "",
                    value,
                    shown,
                )
            continue
        if name == "port":
            value = int(value)
        elif name == "tables":
            value = tuple(value)
        changes.setdefault(section, {})[name] = value
        origins[dotted] = "run"
    if not changes:
        return cfg
    sections = {s: replace(getattr(cfg, s), **kw) for s, kw in changes.items()}
    return replace(cfg, origins=origins, **sections)


def missing_secret_hint(cfg: Config, meta: dict[str, Any]) -> str | None:
    """When the run used a MySQL password and none is given now: where to give it (secrets are never
    saved with a run)."""
    if "mysql.password" in (saved_settings(meta).get("secrets") or []) and not cfg.mysql.password:
        return (
            "the run used a MySQL password, and secrets are never saved with a run: give it again "
            "(MYSQL_PASSWORD, mysql.password in --config, or --password where the command has it)"
        )
    return None
