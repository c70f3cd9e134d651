"""AWS Glue engine: deploy the Spark job per contract table, start the runs, watch them.

Shape (awswrangler-style): every AWS request is built by a pure function (``build_*``) that returns
the exact keyword arguments of the boto3 call, so ``--dry-run`` can print them and tests can compare
them; thin callers (:class:`DirectGlue`, :class:`McpGlue`) send them.

Flow of :func:`run_glue`:

1. region check (:func:`dynamigrate.regions.check_regions`) before anything is created;
2. upload to ``s3://<bucket>/<prefix>dynamigrate/<run_id>/``: the job script (``spark_job.py``), the
   package zip (``--extra-py-files``) and the contract;
3. create or update one Glue job per table (Glue 5.0, the Glue connection attached so the job runs
   in the database's VPC, worker type/count configurable). JDBC credentials are *not* passed: the job
   reads them from the Glue connection (``glueContext.extract_jdbc_conf``). All run parameters live
   in the job's ``DefaultArguments`` (the data-processing MCP server's start-job-run mangles
   ``job_arguments``, so both paths start runs without arguments);
4. start the runs and monitor them: live state and elapsed time per run; on failure the run's
   ``ErrorMessage``, the tail of its CloudWatch log (``/aws-glue/jobs/error``, stream = run id) and
   troubleshooting guidance. The wait is bounded by the job's own ``Timeout`` (not a fixed 5 minutes);
   Ctrl-C leaves the runs going and prints ``dynamigrate status <run>`` to resume watching.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamigrate.config import Config
from dynamigrate.errors import ConfigError, EngineError
from dynamigrate.etl.glue_api import (
    DATAPROCESSING_SERVER,
    DirectGlue,
    GlueApi,
    McpGlue,
    describe_mcp_request,
    failure_guidance,
    find_dataprocessing_server,
    log_tail,
    mcp_glue,
    outcome_as_dict,
)
from dynamigrate.etl.glue_requests import (
    CONTINUOUS_LOG_GROUP,
    ERROR_LOG_GROUP,
    FAILED_STATES,
    GLUE_VERSION,
    OUTPUT_LOG_GROUP,
    TERMINAL_STATES,
    GlueOptions,
    JobSpec,
    Out,
    S3Layout,
    _existing_jobs,
    build_job_request,
    build_start_run_request,
    build_update_request,
    build_upload_requests,
    describe_request,
    glue_job_name,
    job_arguments,
    s3_layout,
)

__all__ = [
    "CONTINUOUS_LOG_GROUP",
    "DATAPROCESSING_SERVER",
    "ERROR_LOG_GROUP",
    "FAILED_STATES",
    "GLUE_VERSION",
    "OUTPUT_LOG_GROUP",
    "TERMINAL_STATES",
    "DirectGlue",
    "GlueApi",
    "GlueDeployment",
    "GlueEngine",
    "GlueOptions",
    "GlueRunResult",
    "JobSpec",
    "McpGlue",
    "RunWatch",
    "S3Layout",
    "build_job_request",
    "build_start_run_request",
    "build_update_request",
    "build_upload_requests",
    "collect_outputs",
    "describe_mcp_request",
    "describe_request",
    "execute_deployment",
    "failure_guidance",
    "find_dataprocessing_server",
    "glue_job_name",
    "glue_status_lines",
    "job_arguments",
    "log_tail",
    "mcp_glue",
    "monitor_runs",
    "outcome_as_dict",
    "plan_deployment",
    "run_glue",
    "s3_layout",
]

log = logging.getLogger(__name__)


# -- orchestration ---------------------------------------------------------------------------------


@dataclass
class RunWatch:
    table: str
    job_name: str
    run_id: str
    state: str = "STARTING"
    started: float = field(default_factory=time.monotonic)
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    guidance: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in TERMINAL_STATES

    @property
    def failed(self) -> bool:
        return self.state in FAILED_STATES


def _fmt_elapsed(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def monitor_runs(
    glue: GlueApi,
    watches: list[RunWatch],
    *,
    logs_client: Any = None,
    timeout_seconds: float,
    poll_seconds: float = 15.0,
    out: Out = print,
    resume_hint: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> list[RunWatch]:
    """Poll every run until all are terminal or ``timeout_seconds`` passed (the jobs' own Timeout).

    Prints a line whenever a run changes state (and every ~minute while running). Ctrl-C stops
    watching, not the runs: the runs keep going and ``resume_hint`` tells how to watch again.
    """
    deadline = time.monotonic() + timeout_seconds
    last_print: dict[str, float] = {}
    try:
        while True:
            for w in watches:
                if w.done:
                    continue
                run = glue.get_job_run(w.job_name, w.run_id)
                state = str(run.get("JobRunState") or "UNKNOWN")
                now = time.monotonic()
                if state != w.state or now - last_print.get(w.run_id, 0) >= 60:
                    out(f"  {w.table:<24} {w.job_name:<36} {state:<10} {_fmt_elapsed(now - w.started)}")
                    last_print[w.run_id] = now
                w.state = state
                w.details = run
                if w.failed:
                    w.error = str(run.get("ErrorMessage") or f"run ended in state {state}")
                    if logs_client is not None:
                        w.log_tail = log_tail(logs_client, w.run_id, log_group=run.get("LogGroupName"))
                    w.guidance = failure_guidance(w.error + "\n" + "\n".join(w.log_tail))
                    _print_failure(w, out)
            if all(w.done for w in watches):
                return watches
            if time.monotonic() >= deadline:
                out(
                    f"stopped watching after {_fmt_elapsed(timeout_seconds)} (the jobs' timeout); "
                    f"runs still going: {', '.join(w.job_name for w in watches if not w.done)}"
                )
                if resume_hint:
                    out(f"resume watching with: {resume_hint}")
                return watches
            sleep(poll_seconds)
    except KeyboardInterrupt:
        out("\ninterrupted: the Glue runs keep going in AWS.")
        if resume_hint:
            out(f"resume watching with: {resume_hint}")
        raise


def _print_failure(w: RunWatch, out: Out) -> None:
    out(f"  FAILED {w.job_name} run {w.run_id}: {w.error}")
    if w.log_tail:
        out(f"  last {len(w.log_tail)} lines of CloudWatch {ERROR_LOG_GROUP}/{w.run_id}:")
        for line in w.log_tail:
            out(f"    | {line}")
    else:
        out(f"  (no CloudWatch log events found in {ERROR_LOG_GROUP}/{w.run_id})")
    if w.guidance:
        out(f"  troubleshooting: {w.guidance}")
    else:
        out(
            "  troubleshooting: open the run in the Glue console (Runs tab -> Error logs); check the Glue "
            "connection (test it in the console), the role's permissions and the region check."
        )


@dataclass
class GlueDeployment:
    layout: S3Layout
    specs: list[JobSpec]
    requests: list[tuple[str, str, dict[str, Any]]]  # (service, operation, request) in order


def plan_deployment(
    cfg: Config,
    table_views: Iterable[tuple[str, str]],
    *,
    run_id: str,
    opts: GlueOptions,
    files: dict[str, Path],
    existing_jobs: Iterable[str] = (),
) -> GlueDeployment:
    """Every request of a deployment, in order (pure: dry-run prints exactly this list).

    ``table_views``: (DynamoDB table, view name). ``files``: local script/package/contract paths keyed
    'script', 'package', 'contract'. ``existing_jobs``: jobs that exist (update instead of create).
    """
    if not cfg.aws.glue_role or cfg.aws.glue_role.startswith("<"):
        raise ConfigError(
            "aws.glue_role is not set", hint="set aws.glue_role (the IAM role the Glue jobs run as)"
        )
    region = cfg.aws.region
    if not region:
        raise ConfigError("aws.region is not set", hint="set aws.region in the config or AWS_REGION")
    if not cfg.mysql.database:
        raise ConfigError("mysql.database is not set", hint="the database that holds the views")
    layout = s3_layout(cfg, run_id)
    existing = set(existing_jobs)
    specs = [
        JobSpec(
            table=table,
            view=view,
            job_name=glue_job_name(table, opts.job_prefix),
            database=cfg.mysql.database,
            region=region,
            write_mode=cfg.migration.write_mode,
            run_id=run_id,
            marker_attribute=cfg.migration.marker_attribute,
            connection_name=cfg.aws.glue_connection,
            version_attribute=cfg.migration.version_attribute,
        )
        for table, view in table_views
    ]
    uploads = build_upload_requests(
        layout,
        {
            layout.script_key: files["script"],
            layout.package_key: files["package"],
            layout.contract_key: files["contract"],
        },
    )
    requests: list[tuple[str, str, dict[str, Any]]] = [("s3", "put_object", u) for u in uploads]
    from dynamigrate.workshop_config import glue_role_arn

    role = glue_role_arn(cfg) or cfg.aws.glue_role
    for spec in specs:
        if spec.job_name in existing:
            requests.append(("glue", "update_job", build_update_request(spec, layout, opts, role)))
        else:
            requests.append(("glue", "create_job", build_job_request(spec, layout, opts, role)))
    for spec in specs:
        requests.append(("glue", "start_job_run", build_start_run_request(spec.job_name)))
    return GlueDeployment(layout=layout, specs=specs, requests=requests)


def execute_deployment(
    deployment: GlueDeployment,
    *,
    s3_client: Any,
    glue: GlueApi,
    run: Any = None,
    out: Out = print,
) -> list[RunWatch]:
    """Send the planned requests; record created jobs and S3 objects in the run manifest."""
    watches: list[RunWatch] = []
    by_job = {s.job_name: s for s in deployment.specs}
    for service, operation, request in deployment.requests:
        if service == "s3":
            path = Path(request["Body"])
            with open(path, "rb") as fh:
                s3_client.put_object(Bucket=request["Bucket"], Key=request["Key"], Body=fh)
            out(f"uploaded s3://{request['Bucket']}/{request['Key']} ({path.stat().st_size} bytes)")
            if run is not None:
                run.record_created("s3_objects", {"bucket": request["Bucket"], "key": request["Key"]})
        elif operation == "create_job":
            glue.create_job(request)
            out(f"created Glue job {request['Name']}")
            if run is not None:
                spec = by_job[request["Name"]]
                run.record_created(
                    "glue_jobs", {"job_name": spec.job_name, "table": spec.table, "created": True}
                )
        elif operation == "update_job":
            glue.update_job(request)
            out(f"updated Glue job {request['JobName']}")
            if run is not None:
                spec = by_job[request["JobName"]]
                run.record_created(
                    "glue_jobs", {"job_name": spec.job_name, "table": spec.table, "created": False}
                )
        elif operation == "start_job_run":
            run_id = glue.start_job_run(request)
            spec = by_job[request["JobName"]]
            out(f"started {spec.job_name}: run {run_id}")
            watches.append(RunWatch(table=spec.table, job_name=spec.job_name, run_id=run_id))
            if run is not None:
                run.record_created(
                    "other",
                    {
                        "kind": "glue_job_run",
                        "job_name": spec.job_name,
                        "table": spec.table,
                        "run_id": run_id,
                    },
                )
        else:  # pragma: no cover - plan_deployment only emits the operations above
            raise EngineError(f"unknown planned request {service}.{operation}")
    return watches


def glue_runs_of(run: Any) -> list[dict[str, Any]]:
    """The Glue job runs a dynamigrate run started (from its manifest)."""
    manifest = run.manifest() if run is not None else {}
    return [o for o in manifest.get("other", []) if isinstance(o, dict) and o.get("kind") == "glue_job_run"]


def glue_status_lines(run: Any, cfg: Config | None = None, glue: GlueApi | None = None) -> list[str]:
    """Status section for ``dynamigrate status``: live state of every Glue run of ``run``.

    Returns [] when the run started no Glue jobs. ``cfg`` (optional) gives profile/endpoint; the
    region recorded with each run is used otherwise. AWS errors become a line, never an exception.
    """
    entries = glue_runs_of(run)
    if not entries:
        return []
    lines = ["Glue job runs:"]
    apis: dict[str, GlueApi] = {}
    for e in entries:
        region = e.get("region") or (cfg.aws.region if cfg is not None else None) or ""
        try:
            api = glue or apis.get(region)
            if api is None:
                api = apis[region] = DirectGlue(_client(cfg, "glue", region))
            jr = api.get_job_run(e["job_name"], e["run_id"])
        except Exception as exc:
            lines.append(f"  {e['table']:<24} {e['job_name']:<36} ?  ({type(exc).__name__}: {exc})")
            continue
        state = jr.get("JobRunState", "?")
        secs = jr.get("ExecutionTime")
        line = f"  {e['table']:<24} {e['job_name']:<36} {state:<10} {_fmt_elapsed(float(secs or 0))}"
        if state in FAILED_STATES and jr.get("ErrorMessage"):
            line += f"  error: {jr['ErrorMessage']}"
        lines.append(line)
    return lines


def _client(cfg: Config | None, service: str, region: str | None = None) -> Any:
    import boto3

    profile = cfg.aws.profile if cfg is not None else None
    session = boto3.Session(profile_name=profile) if profile else boto3.Session()
    return session.client(  # type: ignore[call-overload]
        service,
        region_name=region or (cfg.aws.region if cfg is not None else None),
        endpoint_url=cfg.aws.endpoint_url if cfg is not None else None,
    )


@dataclass
class GlueRunResult:
    watches: list[RunWatch]
    deployment: GlueDeployment
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.dry_run or all(w.state == "SUCCEEDED" for w in self.watches)


def run_glue(
    cfg: Config,
    contract: Any,
    *,
    run: Any,
    tables: Iterable[str] | None = None,
    opts: GlueOptions | None = None,
    dry_run: bool = False,
    wait: bool = True,
    client_factory: Callable[[str, str], Any] | None = None,
    glue_api: GlueApi | None = None,
    out: Out = print,
    check_region: bool = True,
) -> GlueRunResult:
    """Region check, upload, create/update jobs, start and (optionally) monitor the runs.

    ``contract``: the loaded Contract. ``run``: the RunDir (manifest, state). ``client_factory(service,
    region)`` returns boto3 clients (tests point it at moto); default: boto3 with the configured
    profile and endpoint.
    """
    from dynamigrate.regions import default_client_factory

    opts = opts or GlueOptions.from_config(cfg)
    factory = client_factory or default_client_factory(cfg)
    region = cfg.aws.region or ""

    def make(service: str) -> Any:
        return factory(service, region)

    selected = contract.select(list(tables) if tables else list(cfg.migration.tables) or None)
    table_views = [(t.name, t.view_name) for t in selected]
    session = None
    if glue_api is None and opts.via == "mcp" and not dry_run:
        _name, block = find_dataprocessing_server(cfg, opts.mcp_server)
        server_region = (block.get("env") or {}).get("AWS_REGION")
        if server_region and cfg.aws.region and server_region != cfg.aws.region:
            from dynamigrate.errors import RegionMismatchError

            raise RegionMismatchError(
                f"the data-processing MCP server runs in {server_region}, the configuration says {cfg.aws.region}",
                hint=f"set AWS_REGION={cfg.aws.region} in mcpServers.{_name}.env",
            )
        glue_api, session = mcp_glue(cfg, opts.mcp_server)
    glue: GlueApi = glue_api or DirectGlue(make("glue"))
    try:
        return _run_glue(
            cfg, contract, run, table_views, opts, glue, make, factory, dry_run, wait, out, check_region
        )
    finally:
        if session is not None:
            session.close()


def _run_glue(
    cfg: Config,
    contract: Any,
    run: Any,
    table_views: list[tuple[str, str]],
    opts: GlueOptions,
    glue: GlueApi,
    make: Callable[[str], Any],
    factory: Callable[[str, str], Any],
    dry_run: bool,
    wait: bool,
    out: Out,
    check_region: bool,
) -> GlueRunResult:
    from dynamigrate.etl.spark import build_package_zip, job_script_path
    from dynamigrate.regions import check_regions

    job_names = [glue_job_name(t, opts.job_prefix) for t, _ in table_views]

    report = None
    if check_region:
        report = check_regions(
            cfg, [t for t, _ in table_views], engine="glue", glue_jobs=job_names, client_factory=factory
        )

    staging = Path(run.path) / "glue"
    staging.mkdir(parents=True, exist_ok=True)
    package = build_package_zip(staging / "dynamigrate.zip")
    contract_path = staging / "contract.json"
    if contract.source and Path(contract.source).exists():
        contract_path.write_bytes(Path(contract.source).read_bytes())
    else:
        raise ConfigError(
            "the contract was not loaded from a file; Glue needs the file to upload",
            path=contract.source,
            hint="pass the contract as a file (--contract FILE or migration.contract_file)",
        )
    files = {"script": job_script_path(), "package": package, "contract": contract_path}
    existing = _existing_jobs(glue, job_names, tolerate_errors=dry_run)
    deployment = plan_deployment(
        cfg, table_views, run_id=run.run_id, opts=opts, files=files, existing_jobs=existing
    )
    if dry_run:
        if report is not None:
            out("region check:\n" + report.table_text())
        out(f"dry run: {len(deployment.requests)} AWS request(s) would be made (region {cfg.aws.region}):")
        for service, operation, request in deployment.requests:
            if service == "glue" and opts.via == "mcp":
                out("  " + describe_mcp_request(operation, request))
            else:
                out("  " + describe_request(service, operation, request))
        out(
            "  then glue.get_job_run(JobName=..., RunId=...) every "
            f"{opts.poll_seconds:g}s until each run ends (at most {opts.timeout_minutes} min)"
        )
        return GlueRunResult(watches=[], deployment=deployment, dry_run=True)

    run.update_state(phase="glue", status="running")
    watches = execute_deployment(deployment, s3_client=make("s3"), glue=glue, run=run, out=out)
    run.update_state(
        tables={
            w.table: {"engine": "glue", "glue_job": w.job_name, "glue_run_id": w.run_id, "status": "running"}
            for w in watches
        }
    )
    if wait:
        hint = f"dynamigrate status {run.run_id}"
        out(f"watching {len(watches)} run(s) (Ctrl-C stops watching, not the runs):")
        monitor_runs(
            glue,
            watches,
            logs_client=make("logs"),
            timeout_seconds=opts.timeout_minutes * 60 + 300,
            poll_seconds=opts.poll_seconds,
            out=out,
            resume_hint=hint,
        )
        run.update_state(
            tables={
                w.table: {"status": w.state.lower(), "error": w.error, "guidance": w.guidance}
                for w in watches
            }
        )
        collect_outputs(run, deployment.layout, make("s3"), watches)
    else:
        out(f"runs started; watch them with: dynamigrate status {run.run_id}")
    return GlueRunResult(watches=watches, deployment=deployment)


def fetch_summary(layout: S3Layout, table: str, s3_client: Any) -> dict[str, Any] | None:
    """The counters the job's driver wrote at the end (``spark-summary/<table>.json``)."""
    from dynamigrate.etl.spark_job import _safe

    key = layout.base + f"output/spark-summary/{_safe(table)}.json"
    try:
        body = s3_client.get_object(Bucket=layout.bucket, Key=key)["Body"].read()
    except Exception as exc:  # absent when the job failed before the end
        log.debug("no summary at s3://%s/%s: %s", layout.bucket, key, exc)
        return None
    return dict(json.loads(body))


def apply_summary(result: Any, summary: dict[str, Any] | None) -> None:
    """Fill a TableResult's counters from a job summary (this run's partitions + resumed ones)."""
    if not summary:
        return
    from dynamigrate.etl.spark import apply_job_summary

    apply_job_summary(result, summary)


def collect_outputs(
    run: Any, layout: S3Layout, s3_client: Any, watches: list[RunWatch]
) -> dict[str, dict[str, Any]]:
    """After the runs: each job's summary into the run state, its rejected rows/written keys into the run.

    The jobs write under ``<layout>/output/`` (S3); this copies what the run directory expects
    (``rejected.jsonl``, ``written/<T>.jsonl``...) so reports, rollback and validation find it.
    """
    from dynamigrate.etl.spark import merge_partition_outputs
    from dynamigrate.etl.spark_job import Storage

    storage = Storage(layout.output_uri, client=s3_client)
    summaries: dict[str, dict[str, Any]] = {}
    for w in watches:
        summary = fetch_summary(layout, w.table, s3_client)
        if summary:
            summaries[w.table] = summary
            run.update_state(tables={w.table: {"summary": summary}})
        try:
            counts = merge_partition_outputs(run, w.table, storage=storage)
            if counts:
                log.info("table %s: copied %s from %s", w.table, counts, layout.output_uri)
        except Exception:  # the rows stay in S3; say where
            log.warning(
                "could not copy the job outputs of %s from %s", w.table, layout.output_uri, exc_info=True
            )
    return summaries


def _opts_with_workers(cfg: Config, ctx: Any) -> GlueOptions | None:
    """``migrate --engine glue --workers N``: the job's NumberOfWorkers (else the config's glue.workers)."""
    workers = getattr(ctx.options, "workers", None)
    return GlueOptions.from_config(cfg, workers=workers) if workers else None


class GlueEngine:
    """``--engine glue`` inside ``dynamigrate migrate``: deploy, run and wait, one table at a time.

    ``tools/create_glue_and_run.py`` (and :func:`run_glue`) start all tables at once instead; the
    pipeline hands engines one table at a time.
    """

    name = "glue"

    def __init__(
        self, client_factory: Callable[[str, str], Any] | None = None, opts: GlueOptions | None = None
    ):
        self.client_factory = client_factory
        self.opts = opts

    def run_table(self, ctx: Any, table: Any) -> Any:
        from dynamigrate.etl.base import TableResult, utc_iso

        cfg = ctx.config
        result = TableResult(table=table.name, engine=self.name, status="running", started=utc_iso())
        t0 = time.monotonic()
        before = _count_sources_from_driver(ctx, table)
        outcome = run_glue(
            cfg,
            ctx.contract,
            run=ctx.run,
            tables=[table.name],
            opts=self.opts or _opts_with_workers(cfg, ctx),
            client_factory=self.client_factory,
            check_region=True,  # cheap, read-only; also covers the Glue job and bucket
        )
        (w,) = outcome.watches
        result.duration = time.monotonic() - t0
        result.finished = utc_iso()
        result.extra["glue"] = {"job_name": w.job_name, "run_id": w.run_id, "state": w.state}
        if w.state != "SUCCEEDED":
            result.status = "failed"
            result.error = w.error or f"Glue run ended in state {w.state}"
            ctx.run.update_state(tables={table.name: result.to_dict()})
            raise EngineError(
                f"Glue job {w.job_name} (run {w.run_id}) {w.state}: {result.error}",
                table=table.name,
                hint=w.guidance or "see the CloudWatch log tail above",
            )
        from dynamigrate.regions import default_client_factory

        factory = self.client_factory or default_client_factory(cfg)
        summaries = collect_outputs(
            ctx.run, outcome.deployment.layout, factory("s3", cfg.aws.region or ""), [w]
        )
        apply_summary(result, summaries.get(table.name))
        result.status = "done"
        if before is not None:
            from dynamigrate.etl.spark_checks import check_account

            # FAILED when the numbers do not add up (the job's partition checkpoints stay in S3: a new
            # run, not --resume, reads every partition again)
            check_account(ctx, table, result, before, set_aside_checkpoints=False)
        if result.status == "failed":
            log.error("%s", result.error)
        ctx.run.update_state(tables={table.name: result.to_dict()})
        return result


#: MySQL client errors that mean "not reachable from here": can't connect, unknown host, gone, lost
UNREACHABLE_ERRNOS = frozenset({2003, 2005, 2006, 2013})


def _count_sources_from_driver(ctx: Any, table: Any) -> Any:
    """The source rows per entity for the accounting equation, counted from this machine; None (and a
    warning, and ``accounting: not counted`` in the run state) when MySQL cannot be reached from here
    (a database only the Glue connection reaches)."""
    from dynamigrate.errors import SourceError
    from dynamigrate.etl.spark_checks import count_sources

    try:
        return count_sources(ctx, table)
    except SourceError as exc:
        if exc.mysql_errno not in UNREACHABLE_ERRNOS:
            raise
        reason = str(exc).splitlines()[0]
        log.warning(
            "table %s: the source rows cannot be counted from this machine (%s): the Glue load is not "
            "checked against the source; run `dynamigrate validate` where MySQL is reachable",
            table.name,
            reason,
        )
        ctx.run.update_state(tables={table.name: {"accounting": {"status": "not counted", "reason": reason}}})
        return None


def _register() -> None:
    from dynamigrate.etl.base import register_engine

    register_engine("glue", GlueEngine)


_register()
