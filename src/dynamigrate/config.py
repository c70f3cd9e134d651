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

from dynamigrate import redact
from dynamigrate.errors import ConfigError
from dynamigrate.redact import SECRET_NAME_PARTS as SECRET_KEYS
from dynamigrate.redact import is_secret_name

__all__ = ["SECRET_KEYS", "is_secret_name"]


def masked_args(args: list[str]) -> list[str]:
    """A command line with the values of secret flags masked (``--password x``, ``--db-token=x``)."""
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append("***")
            hide_next = False
        elif arg.startswith("--") and is_secret_name(arg.split("=", 1)[0]):
            if "=" in arg:
                out.append(arg.split("=", 1)[0] + "=***")
            else:
                out.append(arg)
                hide_next = True
        else:
            out.append(arg)
    return out


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
    # repr=False: both hold the config file's text, secrets included (use masked())
    mcp_servers: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    source_path: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    #: where each setting given by a lower layer came from: "file", "environment" or "flag" (dotted keys)
    origins: dict[str, str] = field(default_factory=dict, repr=False)

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
    """``value`` with every secret masked: values of secret-named keys, :class:`Secret` objects,
    secret flags in command lines (an MCP server's ``args``), the secret values of an MCP server's
    ``env``, credentials inside URLs, and every value registered in :mod:`dynamigrate.redact`."""
    if not _key:
        redact.register(*redact.secrets_in_config(value if isinstance(value, dict) else {}))
        return json.loads(redact.redact(json.dumps(_mask_keys(value), default=str)))
    return _mask_keys(value, _key)


def _mask_keys(value: Any, _key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask_keys(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, str) for v in value) and not is_secret_name(_key):
            value = masked_args(value)
        return [_mask_keys(v, _key) for v in value]
    if isinstance(value, Secret):
        return "***"
    if isinstance(value, str) and value and is_secret_name(_key):
        return "***"
    return value


def _pick(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The entries of ``data`` that are fields of ``cls`` (everything else is ignored). The password
    is never picked: it is wrapped in a :class:`Secret` by the caller."""
    known = {f.name for f in fields(cls)} - {"password"}
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
            # utf-8-sig: a byte order mark (Windows editors write one) is not part of the JSON
            raw = json.loads(p.read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ConfigError(
                f"config file not found: {p}", hint="pass --config with an existing file"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"cannot read config file {p}: {reason}",
                hint="pass --config with a readable UTF-8 JSON file",
            ) from None
        except RecursionError:
            raise ConfigError(
                "config file is nested too deeply (thousands of levels) to be a configuration",
                file=str(p),
                hint='a config nests two levels: {"mysql": {...}, "aws": {...}, "migration": {...}}',
            ) from None
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"config file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                file=str(p),
                hint="fix the JSON syntax (a trailing comma is the usual culprit)",
            ) from None
        if not isinstance(raw, dict):
            raise ConfigError(
                "config file must hold a JSON object",
                file=str(p),
                hint='e.g. {"mysql": {...}, "aws": {...}, "migration": {...}} (see examples/demo-config.json)',
            )

    from dynamigrate.config_check import check_config_structure

    # every section an object, every key known (typos named, with the key meant) and well typed
    check_config_structure(raw, str(path) if path else None)
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
    origins = {f"{name}.{key}": "file" for name, section in sections.items() for key in section}
    for origin, layer in zip(("environment", "flag"), layers, strict=True):
        for dotted, value in layer.items():
            if value is None:
                continue
            section, _, key = dotted.partition(".")
            if section not in sections:
                raise ConfigError(
                    f"unknown setting '{dotted}'", hint="settings are mysql.*, aws.* or migration.*"
                )
            # later layers win: the environment over the file, flags over both
            sections[section][key] = value
            origins[dotted] = origin

    where = str(path) if path else None
    port = mysql_raw.get("port", MySQLSettings.port)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise ConfigError(
            f"mysql.port must be a whole number, not {port!r}",
            file=where,
            hint="set mysql.port (config file, MYSQL_PORT or --port) to the server's TCP port, e.g. 3306",
        ) from None
    try:
        mysql = MySQLSettings(
            **{**_pick(MySQLSettings, mysql_raw), "port": port},
            password=Secret(str(mysql_raw.get("password") or "")),
        )
        aws = AwsSettings(**_pick(AwsSettings, aws_raw))
        mig_kwargs = _pick(MigrationSettings, mig_raw)
        if "tables" in mig_kwargs:
            tables = mig_kwargs["tables"]
            # "Users,Orders" (an environment variable, a flag) as well as ["Users", "Orders"]
            mig_kwargs["tables"] = tuple(
                str(t).strip()
                for t in (tables.split(",") if isinstance(tables, str) else tables)
                if str(t).strip()
            )
        migration = MigrationSettings(**mig_kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"invalid configuration value: {exc}",
            file=where,
            hint="compare the config file with examples/demo-config.json (types of the values)",
        ) from None

    mcp_servers = dict(raw.get("mcpServers") or {})
    mcp_file = (raw.get("mcp") or {}).get("config_file") if isinstance(raw.get("mcp"), dict) else None
    cfg = Config(
        mysql=mysql,
        aws=aws,
        migration=migration,
        mcp_servers=mcp_servers,
        source_path=str(path) if path else None,
        raw=raw,
        origins=origins,
    )
    if mcp_file:
        mcp_path = cfg.resolve_path(mcp_file)
        assert mcp_path is not None
        try:
            extra = json.loads(mcp_path.read_text(encoding="utf-8-sig"))
            if not isinstance(extra, dict):
                raise ValueError("it must hold a JSON object")
            check_config_structure({"mcpServers": extra.get("mcpServers")}, str(mcp_path))
        except (OSError, ValueError, RecursionError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise ConfigError(
                f"cannot read the MCP servers file of mcp.config_file, {mcp_path}: {reason}",
                hint='mcp.config_file names a JSON file {"mcpServers": {...}}, relative to the config file',
            ) from None
        cfg = replace(cfg, mcp_servers={**(extra.get("mcpServers") or {}), **mcp_servers})
    redact.register_config(
        {**raw, "mcpServers": cfg.mcp_servers},
        password=cfg.mysql.password.reveal(),
        public=(cfg.mysql.user, cfg.mysql.host, cfg.mysql.database),
    )
    return cfg
