"""Clean up what a run created (``dynamigrate cleanup RUN``): ``cleanup_run`` removes what
``manifest.json`` says the run created: views (DROP VIEW IF EXISTS over a direct connection), Glue jobs
the run created (not the ones it only updated) and the S3 objects it uploaded; DynamoDB tables the run
created only with ``drop_tables`` and a confirmation. Undoing a run's writes is :mod:`dynamigrate.rollback`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.config import Config
from dynamigrate.errors import ConfigError
from dynamigrate.rollback import _error_code
from dynamigrate.runstate import RunDir, utcnow

log = logging.getLogger(__name__)


@dataclass
class CleanupReport:
    run_id: str
    dry_run: bool
    actions: list[dict[str, Any]] = field(default_factory=list)  # {kind, name, outcome, detail}

    def add(self, kind: str, name: str, outcome: str, detail: str = "") -> None:
        self.actions.append({"kind": kind, "name": name, "outcome": outcome, "detail": detail})

    @property
    def ok(self) -> bool:
        return not any(a["outcome"] == "failed" for a in self.actions)

    def to_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "dry_run": self.dry_run, "ok": self.ok, "actions": self.actions}

    def render_text(self) -> str:
        lines = [f"clean-up of run {self.run_id}" + (" (dry run: nothing changed)" if self.dry_run else "")]
        if not self.actions:
            lines.append("  nothing recorded in manifest.json")
        for a in self.actions:
            lines.append(
                f"  {a['kind']:<10} {a['name']}: {a['outcome']}"
                + (f" ({a['detail']})" if a["detail"] else "")
            )
        return "\n".join(lines)


def aws_client_factory(cfg: Config) -> Callable[[str, str | None], Any]:
    """(service, region) -> boto3 client honouring the config's profile and endpoints."""
    import boto3

    cache: dict[tuple[str, str | None], Any] = {}

    def make(service: str, region: str | None = None) -> Any:
        key = (service, region)
        if key not in cache:
            if service == "dynamodb":
                from dataclasses import replace

                from dynamigrate.target.client import dynamodb_client

                aws = replace(cfg.aws, region=region) if region and region != "ddblocal" else cfg.aws
                cache[key] = dynamodb_client(aws, sdk_attempts=5)
            else:
                session = (
                    boto3.session.Session(profile_name=cfg.aws.profile)
                    if cfg.aws.profile
                    else boto3.session.Session()
                )
                kwargs: dict[str, Any] = {
                    "region_name": region or cfg.aws.region or session.region_name or "us-east-1"
                }
                if cfg.aws.endpoint_url:
                    kwargs["endpoint_url"] = cfg.aws.endpoint_url
                    from dynamigrate.target.client import is_local_endpoint

                    if is_local_endpoint(cfg.aws.endpoint_url) and session.get_credentials() is None:
                        kwargs["aws_access_key_id"] = kwargs["aws_secret_access_key"] = "dummy"
                cache[key] = session.client(service, **kwargs)  # type: ignore[call-overload]
        return cache[key]

    return make


def cleanup_run(
    cfg: Config,
    run: RunDir,
    drop_tables: bool = False,
    yes: bool = False,
    *,
    dry_run: bool = False,
    confirm: Callable[[str], bool] | None = None,
    clients: Callable[[str, str | None], Any] | None = None,
    connect: Callable[[str], Any] | None = None,
) -> CleanupReport:
    """Drop the views, Glue jobs and S3 objects ``run`` created; its tables only with ``drop_tables``
    and a confirmation (``yes``, or ``confirm(question)`` returning True)."""
    manifest = run.manifest()
    report = CleanupReport(run.run_id, dry_run)
    clients = clients or aws_client_factory(cfg)

    # views --------------------------------------------------------------------------------------
    views = manifest.get("views") or []
    if views:
        conns: dict[str, Any] = {}
        try:
            for v in views:
                name = str(v.get("name") if isinstance(v, dict) else v)
                db = str((v.get("database") if isinstance(v, dict) else None) or cfg.mysql.database)
                full = f"{db}.{name}"
                if dry_run:
                    report.add("view", full, "would drop")
                    continue
                try:
                    if db not in conns:
                        conns[db] = connect(db) if connect else _mysql(cfg, db)
                    with conns[db].cursor() as cur:
                        cur.execute(
                            f"DROP VIEW IF EXISTS `{db.replace('`', '``')}`.`{name.replace('`', '``')}`"
                        )
                    report.add("view", full, "dropped")
                except Exception as exc:
                    report.add("view", full, "failed", _short_error(exc))
        finally:
            for c in conns.values():
                try:
                    c.close()
                except Exception:
                    log.debug("closing a MySQL connection failed", exc_info=True)

    # Glue jobs ----------------------------------------------------------------------------------
    for j in manifest.get("glue_jobs") or []:
        name = str(j.get("job_name") or j.get("name") or j.get("JobName") if isinstance(j, dict) else j)
        if isinstance(j, dict) and j.get("created") is False:
            report.add("glue job", name, "kept", "it existed before the run (the run only updated it)")
            continue
        if dry_run:
            report.add("glue job", name, "would delete")
            continue
        try:
            clients("glue", j.get("region") if isinstance(j, dict) else None).delete_job(JobName=name)
            report.add("glue job", name, "deleted")
        except Exception as exc:
            report.add("glue job", name, "failed", _short_error(exc))

    # S3 objects (scripts) -----------------------------------------------------------------------
    for o in manifest.get("s3_objects") or []:
        bucket, key = _s3_location(o)
        uri = f"s3://{bucket}/{key}"
        if dry_run:
            report.add("s3 object", uri, "would delete")
            continue
        try:
            clients("s3", o.get("region") if isinstance(o, dict) else None).delete_object(
                Bucket=bucket, Key=key
            )
            report.add("s3 object", uri, "deleted")
        except Exception as exc:
            report.add("s3 object", uri, "failed", _short_error(exc))

    # DynamoDB tables ----------------------------------------------------------------------------
    tables = manifest.get("tables") or []
    for t in tables:
        name = str(t.get("name") if isinstance(t, dict) else t)
        region = t.get("region") if isinstance(t, dict) else None
        if not drop_tables:
            report.add("table", name, "kept", "add --drop-tables to delete tables the run created")
            continue
        if dry_run:
            report.add("table", name, "would delete", "all its items are lost")
            continue
        ok = yes or (confirm is not None and confirm(f"delete DynamoDB table {name} and every item in it?"))
        if not ok:
            report.add("table", name, "kept", "not confirmed (use --yes for non-interactive runs)")
            continue
        try:
            clients("dynamodb", region).delete_table(TableName=name)
            report.add("table", name, "deleted")
        except Exception as exc:
            outcome = "already gone" if _error_code(exc) == "ResourceNotFoundException" else "failed"
            report.add("table", name, outcome, "" if outcome == "already gone" else _short_error(exc))
    if not dry_run:
        run.write_json("cleanup.json", report.to_dict() | {"finished_at": utcnow()})
        run.event("phase", phase="cleanup", status="finished", ok=report.ok)
    return report


def _mysql(cfg: Config, database: str) -> Any:
    from dynamigrate.source.connect import connect

    return connect(cfg.mysql, database)


def _s3_location(o: Any) -> tuple[str, str]:
    if isinstance(o, dict):
        if o.get("bucket") and o.get("key"):
            return str(o["bucket"]), str(o["key"])
        o = o.get("uri") or o.get("url") or ""
    text = str(o)
    if not text.startswith("s3://"):
        raise ConfigError(
            f"cannot read S3 location {text!r} in manifest.json",
            hint="manifest.json entries of s3_objects need s3://bucket/key (or bucket and key); fix or "
            "remove the entry and rerun cleanup",
        )
    bucket, _, key = text[5:].partition("/")
    return bucket, key


def _short_error(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:300]


__all__ = ["CleanupReport", "aws_client_factory", "cleanup_run"]
