"""Configuration, resolved in layers: CLI flag > environment > config file > defaults.

The file layout is compatible with the workshop's ``config.json`` (``aws.*``, ``mysql.*``,
``migration.*``) and may carry an ``mcpServers`` block in the form AI assistants use. Secrets are held
in :class:`Secret`, whose ``str``/``repr`` never reveal the value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from dynamigrate.errors import ConfigError

SECRET_KEYS = ("password", "secret", "token", "key")


class Secret:
    """A string that never prints. Use ``.reveal()`` at the one place the value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value or ""

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class MySQLSettings:
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: Secret = field(default_factory=lambda: Secret(""))
    database: str = ""
    connect_timeout: int = 10

    def connect_kwargs(self) -> dict[str, Any]:
        """Arguments for ``pymysql.connect`` (the only place the password is revealed)."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password.reveal(),
            "database": self.database or None,
            "connect_timeout": self.connect_timeout,
            "charset": "utf8mb4",
        }


@dataclass(frozen=True)
class AwsSettings:
    region: str | None = None
    endpoint_url: str | None = None
    dynamodb_endpoint_url: str | None = None
    profile: str | None = None
    account_id: str | None = None
    s3_bucket: str | None = None
    glue_role: str | None = None
    glue_connection: str | None = None
    s3_script_prefix: str = "etl-scripts/"

    @property
    def dynamodb_endpoint(self) -> str | None:
        return self.dynamodb_endpoint_url or self.endpoint_url


@dataclass(frozen=True)
class MigrationSettings:
    contract_file: str | None = None
    output_dir: str = "dynamigrate-runs"
    engine: str = "local"
    write_mode: str = "insert"
    version_attribute: str | None = None
    marker_attribute: str = "_dm_marker"
    dialect: str | None = None  # mysql | mariadb; detected from the server when connected
    billing_mode: str = "PAY_PER_REQUEST"
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Config:
    mysql: MySQLSettings = field(default_factory=MySQLSettings)
    aws: AwsSettings = field(default_factory=AwsSettings)
    migration: MigrationSettings = field(default_factory=MigrationSettings)
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_path: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def masked(self) -> dict[str, Any]:
        """The configuration as a dict with every secret masked, for logs and reports."""
        return mask_secrets(self.raw)

    def resolve_path(self, value: str | None) -> Path | None:
        """Paths in the config file are relative to the file itself."""
        if value is None:
            return None
        p = Path(value)
        if not p.is_absolute() and self.source_path:
            p = Path(self.source_path).parent / p
        return p


def mask_secrets(value: Any, _key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: mask_secrets(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, _key) for v in value]
    if isinstance(value, Secret):
        return "***"
    if isinstance(value, str) and value and any(s in _key.lower() for s in SECRET_KEYS):
        return "***"
    return value


def _pick(cls: type, data: dict[str, Any], section: str) -> dict[str, Any]:
    known = {f.name for f in fields(cls)}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in known:
            out[key] = value
    return out


def _env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


def load_config(
    path: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None
) -> Config:
    """Load a config file (optional), apply environment variables, then ``overrides``.

    ``overrides`` uses dotted keys (``"mysql.host"``, ``"aws.region"``, ``"migration.write_mode"``);
    ``None`` values are ignored so that unset CLI flags do not mask lower layers.
    """
    raw: dict[str, Any] = {}
    if path:
        p = Path(path)
        try:
            raw = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"config file not found: {p}", hint="pass --config with an existing file"
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"config file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                file=str(p),
                hint="fix the JSON syntax (a trailing comma is the usual culprit)",
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError("config file must hold a JSON object", file=str(p))

    mysql_raw = dict(raw.get("mysql") or {})
    aws_raw = dict(raw.get("aws") or {})
    mig_raw = dict(raw.get("migration") or {})
    # workshop layout: public_host is what a laptop reaches, private_host what Glue reaches
    if "host" not in mysql_raw and mysql_raw.get("public_host"):
        mysql_raw["host"] = mysql_raw["public_host"]
    if "glue_connection" not in aws_raw and aws_raw.get("glue_connection_name"):
        aws_raw["glue_connection"] = aws_raw["glue_connection_name"]
    if "s3_script_prefix" in mig_raw and "s3_script_prefix" not in aws_raw:
        aws_raw["s3_script_prefix"] = mig_raw["s3_script_prefix"]

    env_layer = {
        "mysql.host": _env("DYNAMIGRATE_MYSQL_HOST", "MYSQL_HOST"),
        "mysql.port": _env("DYNAMIGRATE_MYSQL_PORT", "MYSQL_PORT"),
        "mysql.user": _env("DYNAMIGRATE_MYSQL_USER", "MYSQL_USER"),
        "mysql.password": _env("DYNAMIGRATE_MYSQL_PASSWORD", "MYSQL_PASSWORD", "MYSQL_PWD"),
        "mysql.database": _env("DYNAMIGRATE_MYSQL_DATABASE", "MYSQL_DATABASE"),
        "aws.region": _env("AWS_REGION", "AWS_DEFAULT_REGION"),
        "aws.profile": _env("AWS_PROFILE"),
        "aws.endpoint_url": _env("AWS_ENDPOINT_URL"),
        "aws.dynamodb_endpoint_url": _env("AWS_ENDPOINT_URL_DYNAMODB"),
    }
    layers = [env_layer, overrides or {}]
    sections = {"mysql": mysql_raw, "aws": aws_raw, "migration": mig_raw}
    for layer in layers:
        for dotted, value in layer.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            if section not in sections:
                raise ConfigError(f"unknown setting '{dotted}'")
            # the config file's region wins over the credentials' default region only when the
            # environment does not set one explicitly: standard AWS precedence
            sections[section][key] = value

    try:
        mysql = MySQLSettings(**_pick(MySQLSettings, mysql_raw, "mysql"))
        mysql = replace(mysql, port=int(mysql.port), password=Secret(str(mysql_raw.get("password") or "")))
        aws = AwsSettings(**_pick(AwsSettings, aws_raw, "aws"))
        mig_kwargs = _pick(MigrationSettings, mig_raw, "migration")
        if "tables" in mig_kwargs:
            mig_kwargs["tables"] = tuple(mig_kwargs["tables"])
        migration = MigrationSettings(**mig_kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid configuration value: {exc}", file=str(path) if path else None) from None

    mcp_servers = dict(raw.get("mcpServers") or {})
    mcp_file = (raw.get("mcp") or {}).get("config_file") if isinstance(raw.get("mcp"), dict) else None
    cfg = Config(
        mysql=mysql,
        aws=aws,
        migration=migration,
        mcp_servers=mcp_servers,
        source_path=str(path) if path else None,
        raw=raw,
    )
    if mcp_file:
        mcp_path = cfg.resolve_path(mcp_file)
        assert mcp_path is not None
        try:
            extra = json.loads(mcp_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read MCP servers file {mcp_path}: {exc}") from None
        cfg = replace(cfg, mcp_servers={**(extra.get("mcpServers") or {}), **mcp_servers})
    return cfg
