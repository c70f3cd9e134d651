"""AWS Glue requests, built by pure functions: the options of a deployment, its S3 layout and the exact
keyword arguments of every boto3 call (``build_*``), so ``--dry-run`` can print them and tests can
compare them (awswrangler-style). Sent by :mod:`dynamigrate.etl.glue_api`'s callers; orchestrated by
:mod:`dynamigrate.etl.glue`."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamigrate.config import Config, is_secret_name
from dynamigrate.errors import ConfigError

log = logging.getLogger(__name__)

GLUE_VERSION = "5.0"
TERMINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
FAILED_STATES = ("FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED")
ERROR_LOG_GROUP = "/aws-glue/jobs/error"
OUTPUT_LOG_GROUP = "/aws-glue/jobs/output"
CONTINUOUS_LOG_GROUP = "/aws-glue/jobs/logs-v2"

Out = Callable[[str], None]
# -- options ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlueOptions:
    """Glue settings; from the config's ``glue`` block (or ``aws.glue_*`` keys), CLI flags win."""

    job_prefix: str = "dynamigrate-"
    worker_type: str = "G.1X"
    workers: int = 2
    timeout_minutes: int = 120
    max_retries: int = 0
    glue_version: str = GLUE_VERSION
    partition_rows: int = 50_000
    fetch_size: int = 1000
    poll_seconds: float = 15.0
    via: str = "direct"  # direct | mcp
    mcp_server: str | None = None  # name in the config's mcpServers block
    extra_arguments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: Config, **overrides: Any) -> GlueOptions:
        raw = dict((cfg.raw.get("glue") or {}) if isinstance(cfg.raw, dict) else {})
        aws_raw = (cfg.raw.get("aws") or {}) if isinstance(cfg.raw, dict) else {}
        for key in ("worker_type", "workers", "timeout_minutes", "job_prefix", "max_retries"):
            if f"glue_{key}" in aws_raw and key not in raw:
                raw[key] = aws_raw[f"glue_{key}"]
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in raw.items() if k in known}
        import os

        if os.environ.get("DYNAMIGRATE_GLUE_VIA"):  # set by `dynamigrate migrate --glue-via`
            values["via"] = os.environ["DYNAMIGRATE_GLUE_VIA"]
        values.update({k: v for k, v in overrides.items() if v is not None and k in known})
        try:
            opts = cls(**values)
        except TypeError as exc:
            raise ConfigError(
                f"invalid glue settings: {exc}",
                path="glue",
                hint=f"the glue section accepts: {', '.join(sorted(known))}",
            ) from None
        secret_args = sorted(k for k in opts.extra_arguments if is_secret_name(str(k)))
        if secret_args:
            # job arguments are visible to anyone who may read the job (console, GetJob, CloudTrail)
            raise ConfigError(
                f"glue.extra_arguments would put a secret into the Glue job's arguments: {', '.join(secret_args)}",
                path="glue.extra_arguments",
                hint="store credentials in the Glue connection (aws.glue_connection) or AWS Secrets Manager, "
                "never in job arguments",
            )
        if opts.via not in ("direct", "mcp"):
            raise ConfigError(f"unknown --glue-via '{opts.via}'", hint="use direct or mcp")
        return opts


def glue_job_name(table: str, prefix: str = "dynamigrate-") -> str:
    return f"{prefix}{table}"


@dataclass(frozen=True)
class S3Layout:
    """Where a run's artefacts live in S3."""

    bucket: str
    prefix: str  # ends with '/'
    run_id: str

    @property
    def base(self) -> str:
        return f"{self.prefix}dynamigrate/{self.run_id}/"

    @property
    def script_key(self) -> str:
        return self.base + "spark_job.py"

    @property
    def package_key(self) -> str:
        return self.base + "dynamigrate.zip"

    @property
    def contract_key(self) -> str:
        return self.base + "contract.json"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    @property
    def output_uri(self) -> str:
        """Rejected rows, checkpoints and counters written by the jobs."""
        return self.uri(self.base + "output/")


def s3_layout(cfg: Config, run_id: str) -> S3Layout:
    bucket = cfg.aws.s3_bucket
    if not bucket or bucket.startswith("<"):
        raise ConfigError(
            "aws.s3_bucket is not set",
            hint="set aws.s3_bucket in the config file (the bucket Glue reads the job script from)",
        )
    prefix = cfg.aws.s3_script_prefix or ""
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return S3Layout(bucket=bucket, prefix=prefix, run_id=run_id)


# -- pure request builders -------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSpec:
    """What one table's Glue job needs (all plain data)."""

    table: str
    view: str
    job_name: str
    database: str
    region: str
    write_mode: str
    run_id: str
    marker_attribute: str
    connection_name: str | None
    version_attribute: str | None = None


def job_arguments(spec: JobSpec, layout: S3Layout, opts: GlueOptions) -> dict[str, str]:
    """The job's DefaultArguments: everything the script needs, no secrets."""
    args = {
        "--job-language": "python",
        "--extra-py-files": layout.uri(layout.package_key),
        "--enable-continuous-cloudwatch-log": "true",
        "--enable-metrics": "true",
        "--table": spec.table,
        "--view": spec.view,
        "--database": spec.database,
        "--contract_s3": layout.uri(layout.contract_key),
        "--write_mode": spec.write_mode,
        "--run_id": spec.run_id,
        "--region": spec.region,
        "--marker_attribute": spec.marker_attribute,
        "--output_uri": layout.output_uri,
        "--partition_rows": str(opts.partition_rows),
        "--fetch_size": str(opts.fetch_size),
    }
    if spec.connection_name:
        args["--connection_name"] = spec.connection_name
    if spec.version_attribute:
        args["--version_attribute"] = spec.version_attribute
    args.update(opts.extra_arguments)
    return args


def build_job_request(
    spec: JobSpec, layout: S3Layout, opts: GlueOptions, role: str, *, for_update: bool = False
) -> dict[str, Any]:
    """Keyword arguments of ``glue.create_job`` (or of ``JobUpdate`` when ``for_update``)."""
    body: dict[str, Any] = {
        "Description": f"dynamigrate: MySQL view {spec.view} -> DynamoDB table {spec.table}",
        "Role": role,
        "Command": {
            "Name": "glueetl",
            "ScriptLocation": layout.uri(layout.script_key),
            "PythonVersion": "3",
        },
        "DefaultArguments": job_arguments(spec, layout, opts),
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "MaxRetries": opts.max_retries,
        "Timeout": opts.timeout_minutes,
        "GlueVersion": opts.glue_version,
        "WorkerType": opts.worker_type,
        "NumberOfWorkers": opts.workers,
    }
    if spec.connection_name:
        body["Connections"] = {"Connections": [spec.connection_name]}
    if for_update:
        return body
    return {"Name": spec.job_name, **body, "Tags": {"dynamigrate:table": spec.table}}


def build_update_request(spec: JobSpec, layout: S3Layout, opts: GlueOptions, role: str) -> dict[str, Any]:
    return {
        "JobName": spec.job_name,
        "JobUpdate": build_job_request(spec, layout, opts, role, for_update=True),
    }


def build_start_run_request(job_name: str) -> dict[str, Any]:
    """No Arguments: the run uses the job's DefaultArguments (set by create/update just before)."""
    return {"JobName": job_name}


def build_upload_requests(layout: S3Layout, files: dict[str, Path]) -> list[dict[str, Any]]:
    """``put_object`` requests; ``files`` maps S3 key -> local file. Body is filled by the caller."""
    return [
        {"Bucket": layout.bucket, "Key": key, "Body": str(path), "ContentLength": path.stat().st_size}
        for key, path in files.items()
    ]


def _existing_jobs(glue: Any, names: list[str], *, tolerate_errors: bool) -> list[str]:
    out = []
    for name in names:
        try:
            if glue.job_exists(name):
                out.append(name)
        except Exception:
            if not tolerate_errors:
                raise
            log.debug("dry run: cannot tell whether Glue job %s exists; shown as create", name, exc_info=True)
    return out


def describe_request(service: str, operation: str, request: dict[str, Any]) -> str:
    """One printable line per AWS request, for --dry-run."""
    shown = dict(request)
    if operation == "put_object":
        shown["Body"] = f"<file {request['Body']} ({request.get('ContentLength', '?')} bytes)>"
        shown.pop("ContentLength", None)
    return f"{service}.{operation}(" + json.dumps(shown, sort_keys=True, default=str) + ")"
