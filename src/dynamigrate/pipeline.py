"""`dynamigrate migrate` as a plain function: every phase of a migration, with durable run state.

Phases, in order (each recorded in ``state.json``; a resumed run skips the ones already done)::

    contract   load + semantic check + live-schema lint (errors stop the run)
    views      generate the views (dialect from the server) and apply them (MCP or direct)
    preflight  check the views' data (keys, duplicates, sizes...) before anything is written
    tables     create or verify the DynamoDB tables (created ones go to manifest.json)
    etl        every table through the engine (local | spark | glue), checkpointed
    validate   post-load validation (dynamigrate.validate.post, when installed)
    report     reports (dynamigrate.report, when installed)

``migrate(cfg, options)`` returns a :class:`RunSummary`; ``--dry-run`` returns the plan without creating
anything (no run directory, no view, no table, no item).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.errors import (
    ConfigError,
    ContractError,
    DynamigrateError,
    PreflightFailed,
    SourceError,
)
from dynamigrate.etl.base import (
    WRITE_MODES,
    EtlContext,
    EtlOptions,
    TableResult,
    get_engine,
    utc_iso,
)
from dynamigrate.etl.progress import ProgressReporter
from dynamigrate.pipeline_plan import build_plan
from dynamigrate.pipeline_summary import PHASES, MigrateOptions, RunSummary, render_plan
from dynamigrate.runstate import RunDir

__all__ = ["PHASES", "MigrateOptions", "RunSummary", "migrate", "render_plan", "resolve_etl_options"]

log = logging.getLogger(__name__)


# ------------------------------------------------------------------------------------------ helpers


def resolve_etl_options(cfg: Config, options: MigrateOptions, resume: bool) -> EtlOptions:
    mig = cfg.migration
    mode = options.write_mode or mig.write_mode or "insert"
    if mode not in WRITE_MODES:
        raise ConfigError(
            f"unknown write mode '{mode}'", hint=f"choose one of: {', '.join(WRITE_MODES)} (--write-mode)"
        )
    version = options.version_attribute or mig.version_attribute
    if mode == "newer" and not version:
        raise ConfigError(
            "write mode 'newer' needs a version attribute",
            hint="pass --version-attribute NAME (an N or S attribute that grows with every change, e.g. updated_at)",
        )
    marker = None if options.no_marker else (mig.marker_attribute or "_dm_marker")
    if options.no_marker and mode == "sync":
        raise ConfigError(
            "write mode 'sync' needs the ownership marker",
            hint="drop --no-marker: sync only rewrites items the migration owns, which it tells by the marker",
        )
    raw_mig = cfg.raw.get("migration") or {}
    kw: dict[str, Any] = {}
    for name in ("concurrency", "chunk_rows", "inflight_chunks", "workers"):
        value = getattr(options, name) or raw_mig.get(name)
        if value:
            kw[name] = int(value)
    if "concurrency" in kw:  # an explicit concurrency applies to every strategy
        kw["transact_concurrency"] = kw["batch_concurrency"] = kw["concurrency"]
    return EtlOptions(
        write_mode=mode,
        version_attribute=version,
        marker_attribute=marker,
        strategy=options.strategy or raw_mig.get("strategy"),
        delete_missing=options.delete_missing,
        resume=resume,
        **kw,
    )


def _resume_options(options: MigrateOptions, meta: dict[str, Any]) -> None:
    """A resumed run goes on as it started (`--resume RUN` alone is the printed resume command):
    --delete-missing, --version-attribute, --no-marker and --strategy come from the run unless given
    again (a sync resumed without deleting, or a marker-less run resumed with markers, is silently
    another run)."""
    saved = meta.get("options") or {}
    if saved.get("delete_missing"):
        options.delete_missing = True
    if meta.get("version_attribute") and not options.version_attribute:
        options.version_attribute = meta["version_attribute"]
    if "marker_attribute" in meta and meta["marker_attribute"] is None:
        options.no_marker = True
    if saved.get("strategy") and not options.strategy:
        options.strategy = saved["strategy"]


def _check_version_attribute(etl: EtlOptions, tables: Sequence[Table]) -> None:
    """Write mode newer: every entity of every table must produce the version attribute; else each
    of its rows would be rejected (``missing_version``) in a run that still ends OK."""
    if etl.write_mode != "newer" or not etl.version_attribute:
        return
    lacking = [
        t.name if not t.multi_entity else f"{t.name} (entity {e.entity_type})"
        for t in tables
        for e in t.entities
        if etl.version_attribute not in e.attribute_names
    ]
    if lacking:
        have = [t.name for t in tables if all(etl.version_attribute in e.attribute_names for e in t.entities)]
        raise ConfigError(
            f"write mode 'newer': the version attribute '{etl.version_attribute}' is not produced by "
            f"{', '.join(lacking)}; every row there would be rejected (missing_version)",
            hint=(f"limit the run to the tables that have it (--tables {','.join(have)}), " if have else "")
            + "add the attribute to the contract, or use --write-mode sync for the others",
        )


def _contract_path(cfg: Config, options: MigrateOptions) -> Path:
    if options.contract_path:
        return Path(options.contract_path)
    resolved = cfg.resolve_path(cfg.migration.contract_file)
    if resolved is None:
        raise ConfigError(
            "no migration contract given",
            hint="pass --contract FILE or set migration.contract_file in the config file",
        )
    return resolved


class _Phases:
    """Records phase outcomes into the summary and state.json."""

    def __init__(self, summary: RunSummary, run: RunDir | None, progress: ProgressReporter | None):
        self.summary = summary
        self.run = run
        self.progress = progress

    def done_before(self, name: str) -> bool:
        if self.run is None:
            return False
        phases = self.run.state().get("phases") or {}
        return (phases.get(name) or {}).get("status") == "done"

    def record(self, name: str, status: str, detail: str | None = None, t0: float | None = None) -> None:
        info: dict[str, Any] = {"status": status}
        if detail:
            info["detail"] = detail
        if t0 is not None:
            info["duration"] = round(time.monotonic() - t0, 3)
        self.summary.phases[name] = info
        if self.run is not None:
            phases = self.run.state().get("phases") or {}
            phases[name] = {**info, "at": utc_iso()}
            self.run.update_state(phase=name, phases=phases)
            self.run.event("phase", phase=name, status=status, detail=detail)
        text = f"[{name}] {status}" + (f": {detail}" if detail else "")
        if self.progress is not None:
            self.progress.message(text)
        else:
            log.info(text)


# --------------------------------------------------------------------------------------------- main


def migrate(
    cfg: Config,
    options: MigrateOptions | None = None,
    *,
    client_factory: Callable[[], Any] | None = None,
) -> RunSummary:
    """Run a whole migration (or print its plan with ``dry_run``). Never prints secrets."""
    options = options or MigrateOptions()
    t_start = time.monotonic()
    contract_path = _contract_path(cfg, options)
    from dynamigrate.contract.verdict import load_valid_contract

    # the same verdict as contract check and views generate (contract/verdict.py)
    wanted = list(options.tables or cfg.migration.tables) or None
    contract = load_valid_contract(contract_path, cfg=cfg, accept=options.accept, tables=wanted)
    table_names = options.tables or cfg.migration.tables
    tables = contract.select(list(table_names) if table_names else None)
    engine_name = options.engine or cfg.migration.engine or "local"
    database = cfg.mysql.database
    if not database:
        raise ConfigError("no MySQL database configured", hint="set mysql.database in the config file")

    output_dir = Path(
        os.path.normpath(
            options.output_dir or cfg.resolve_path(cfg.migration.output_dir) or "dynamigrate-runs"
        )
    )
    run: RunDir | None = None
    resuming = bool(options.resume)
    if resuming and not options.dry_run:
        run = RunDir.find(output_dir, options.resume if isinstance(options.resume, str) else None)
        meta = run.meta
        if meta.get("contract_sha256") and meta["contract_sha256"] != contract.sha256:
            raise ConfigError(
                f"the contract changed since run {run.run_id} started (sha256 differs)",
                hint="resume with the same contract, or start a new run (drop --resume); a sync run "
                "brings the tables up to date with the new contract",
                run=run.run_id,
            )
        if meta.get("engine") and not options.engine:
            engine_name = meta["engine"]
        if meta.get("write_mode") and options.write_mode and options.write_mode != meta["write_mode"]:
            raise ConfigError(
                f"run {run.run_id} was started with write mode '{meta['write_mode']}'; --resume goes on "
                f"with it, not with '{options.write_mode}' (tables it finished would stay as they are)",
                hint=f"drop --write-mode to resume the run, or start a new {options.write_mode} run (drop --resume)",
                run=run.run_id,
            )
        if meta.get("write_mode") and not options.write_mode:
            options.write_mode = meta["write_mode"]
        _resume_options(options, meta)
        if meta.get("tables") and not options.tables:
            tables = contract.select(list(meta["tables"]))
    etl_options = resolve_etl_options(cfg, options, resuming)
    _check_version_attribute(etl_options, tables)
    if etl_options.workers and engine_name not in ("local", "glue"):
        log.warning(
            "--workers %d is ignored by the %s engine (local: writer processes; glue: the job's "
            "NumberOfWorkers); the Spark engine's parallelism is its master and partitions "
            "(--spark-master local[N])",
            etl_options.workers,
            engine_name,
        )

    summary = RunSummary(
        run_id=None,
        run_dir=None,
        status="running",
        engine=engine_name,
        write_mode=etl_options.write_mode,
        started=utc_iso(),
        config_path=cfg.source_path,
    )
    if options.dry_run:
        summary.plan = build_plan(cfg, contract, contract_path, tables, engine_name, etl_options, options)
        summary.status = "dry-run"
        summary.finished = utc_iso()
        summary.duration = time.monotonic() - t_start
        return summary

    from dynamigrate.run_settings import run_settings
    from dynamigrate.runlock import acquire, refuse_concurrent

    names = [t.name for t in tables]
    lock = None
    if run is not None:  # a resume: one process per run (a second one would write every item again)
        lock = acquire(run.path, force=options.force, tables=names, command="dynamigrate migrate --resume")
    try:
        # another live run loading the same tables: refused without --force
        refuse_concurrent(output_dir, names, run.run_id if run is not None else None, options.force)
    except DynamigrateError:
        if lock is not None:
            lock.release()
        raise
    if run is None:
        run = RunDir.create(
            output_dir,
            meta={
                "started": utc_iso(),
                "engine": engine_name,
                "write_mode": etl_options.write_mode,
                "version_attribute": etl_options.version_attribute,
                "marker_attribute": etl_options.marker_attribute,
                "contract_path": str(contract_path),
                "contract_sha256": contract.sha256,
                "tables": [t.name for t in tables],
                "config": cfg.masked(),
                # endpoint, region, database... (never secrets): the defaults of later commands on the run
                "settings": run_settings(cfg),
                "options": {
                    k: v
                    for k, v in etl_options.__dict__.items()
                    if k not in ("resume", "dry_run") and v is not None
                },
            },
        )
        lock = acquire(run.path, force=options.force, tables=names, command="dynamigrate migrate")
    else:
        run.update_meta(resumed_at=[*run.meta.get("resumed_at", []), utc_iso()])
    summary.run_id, summary.run_dir = run.run_id, str(run.path)
    run.update_state(status="running")

    from dynamigrate.etl.progress import choose_mode

    progress = ProgressReporter(
        run,
        mode=options.progress_mode or choose_mode(),
        interval=options.progress_interval,
    ).start()
    phases = _Phases(summary, run, progress)
    conn = None
    try:
        conn, schema = _phase_contract(cfg, contract, tables, database, phases, options.accept)
        _phase_regions(cfg, tables, engine_name, phases)
        _phase_views(cfg, contract, tables, schema, options, phases, run, database)
        _phase_preflight(conn, contract, tables, options, phases, run, database, cfg)
        factory = client_factory or _client_factory(cfg, etl_options)
        _phase_tables(cfg, tables, factory, phases, run)
        if not run.file("binlog_start.json").exists():  # where `replicate` starts (issue 15)
            from dynamigrate.replicate.position import record_start_position

            record_start_position(conn, run)
        ctx = EtlContext(
            config=cfg,
            contract=contract,
            run=run,
            options=etl_options,
            progress=progress,
            client_factory=factory,
            portable_client=client_factory is None,
            schema=schema,
            database=database,
        )
        validation = _LiveValidation(ctx, options)
        try:
            _phase_etl(ctx, tables, engine_name, summary, phases, validation.table_loaded)
        except BaseException:
            validation.cancel()
            raise
        _phase_validate_and_report(ctx, tables, summary, phases, options, validation)
        tables_ok = all(t.status == "done" for t in summary.tables)
        summary.status = "ok" if tables_ok and not summary.errors else "failed"
    except KeyboardInterrupt:
        summary.status = "interrupted"
        summary.errors.append("interrupted: resume with --resume")
        raise
    except DynamigrateError as exc:
        summary.status = "failed"
        summary.errors.append(str(exc))
        if isinstance(exc, PreflightFailed):
            summary.resume_accept = exc.checks
        if isinstance(exc, (ConfigError, ContractError)):
            raise
    except Exception as exc:  # a bug: record it in the run state, then let it surface with its traceback
        summary.status = "failed"
        summary.errors.append(f"internal error: {type(exc).__name__}: {exc}")
        raise
    finally:
        progress.close()
        if conn is not None:
            try:
                conn.close()
            except Exception:
                log.debug("closing the MySQL connection failed", exc_info=True)
        summary.finished = utc_iso()
        summary.duration = time.monotonic() - t_start
        run.update_state(status=summary.status, summary=summary.to_dict())
        run.event("run_finished", status=summary.status, totals=summary.totals())
        run.close()
        if resuming:  # the redone chunk logged some lines twice: the logs say the final state
            from dynamigrate.runlogs import compact_logs

            try:
                compact_logs(run.path, names)
            except OSError as exc:
                log.warning("could not compact the run's logs (%s): they may hold repeated lines", exc)
        if lock is not None:
            lock.release()
    return summary


def _client_factory(cfg: Config, etl: EtlOptions) -> Callable[[], Any]:
    from dynamigrate.target.client import dynamodb_client

    cache: dict[str, Any] = {}

    def factory() -> Any:
        if "client" not in cache:
            cache["client"] = dynamodb_client(
                cfg.aws, max_pool_connections=max(32, etl.concurrency * 2), parameter_validation=False
            )
        return cache["client"]

    return factory


def _phase_contract(
    cfg: Config,
    contract: Contract,
    tables: tuple[Table, ...],
    database: str,
    phases: _Phases,
    accept: tuple[str, ...] = (),
) -> tuple[Any, Any]:
    from dynamigrate.contract.validate import check_contract
    from dynamigrate.source.connect import connect
    from dynamigrate.source.introspect import introspect

    t0 = time.monotonic()
    conn = connect(cfg.mysql, database)
    schema = introspect(conn, database)
    from dynamigrate.contract.problems import ProblemList
    from dynamigrate.contract.readings import ACCEPTABLE, split_accepted

    kept, accepted = split_accepted(list(check_contract(contract, schema)), accept)
    problems = ProblemList(kept)
    for p in accepted:
        problems.warning(p.path, f"accepted knowingly (--accept {p.code}): {p.message}", p.fix, code=p.code)
    wanted = {t.name for t in tables}
    from dynamigrate.notes import NOTES_FILE, group_warnings, record_notes

    if phases.run is not None:
        record_notes(phases.run, warnings=problems.warnings)
    for line in group_warnings(problems.warnings, where=NOTES_FILE if phases.run is not None else None):
        log.warning("contract: %s", line)
    errors = [p for p in problems.errors if _problem_table(contract, p.path) in wanted | {None}]
    if errors:
        phases.record("contract", "failed", f"{len(errors)} error(s)", t0)
        raise ContractError(
            "the contract does not fit the schema or is invalid",
            problems=errors,
            hint="fix each path listed (`dynamigrate contract check` shows the same list), then run again"
            + (
                "; a reading that is not certain can be accepted knowingly with --accept "
                + ",".join(sorted({p.code for p in errors if p.code in ACCEPTABLE}))
                if any(p.code in ACCEPTABLE for p in errors)
                else ""
            ),
        )
    phases.record(
        "contract",
        "done",
        f"{len(tables)} table(s), {len(problems.warnings)} warning(s), {schema.dialect}",
        t0,
    )
    return conn, schema


def _phase_regions(cfg: Config, tables: tuple[Table, ...], engine_name: str, phases: _Phases) -> None:
    """Every AWS resource the run touches must be in one region: checked before anything is created."""
    from dynamigrate.regions import check_regions

    t0 = time.monotonic()
    glue_jobs: list[str] = []
    if engine_name == "glue":
        from dynamigrate.etl.glue import glue_job_name
        from dynamigrate.workshop_config import glue_connection_warning, workshop_key_warnings

        for warning in workshop_key_warnings(cfg):
            log.warning("config: %s", warning)
        if glue_connection_warning(cfg):
            phases.record("regions", "failed", "no Glue connection", t0)
            raise ConfigError(
                "no Glue connection configured (aws.glue_connection): the Glue jobs would not reach MySQL",
                hint="set aws.glue_connection to the Glue JDBC connection that reaches the database (the "
                "workshop's CloudFormation stack creates 'mysql-modernizer-connection')",
            )

        glue_jobs = [glue_job_name(t.name) for t in tables]
    try:
        report = check_regions(cfg, [t.name for t in tables], engine=engine_name, glue_jobs=glue_jobs)
    except DynamigrateError:
        phases.record("regions", "failed", "resources in different regions", t0)
        raise
    where = report.expected or "local endpoints"
    resources = [r for r in report.rows if r.kind not in ("config", "credentials")]
    unchecked = report.unchecked
    checked = [r for r in resources if r not in unchecked]
    if unchecked and not checked:  # every probe failed: nothing was verified
        causes = ", ".join(sorted({r.how for r in unchecked}))
        phases.record(
            "regions", "done", f"not verified: none of {len(unchecked)} check(s) could run ({causes})", t0
        )
    elif unchecked:
        phases.record(
            "regions",
            "done",
            f"{len(checked)} checked, all in {where}; {len(unchecked)} could not be checked",
            t0,
        )
    else:
        phases.record("regions", "done", f"all in {where}", t0)


def _problem_table(contract: Contract, path: str) -> str | None:
    """The contract table a problem path points into (``tables[i]...``, or ``[i]...`` for a contract
    without the wrapper), None when the problem is global."""
    import re

    m = re.match(r"^(?:\$\.?)?(?:tables)?\[(\d+)\]", path)
    if not m:
        return None
    i = int(m.group(1))
    return contract.tables[i].name if i < len(contract.tables) else None


def _phase_views(
    cfg: Config,
    contract: Contract,
    tables: tuple[Table, ...],
    schema: Any,
    options: MigrateOptions,
    phases: _Phases,
    run: RunDir,
    database: str,
) -> None:
    if options.skip_views:
        phases.record("views", "skipped", "--skip-views: using the views already in the database")
        return
    if phases.done_before("views"):
        phases.record("views", "done", "applied earlier in this run")
        return
    from dynamigrate.source.executor import apply_with_fallback, choose_executor
    from dynamigrate.sqlgen import generate_views

    t0 = time.monotonic()
    dialect = cfg.migration.dialect or schema.dialect
    viewset = generate_views(contract, [t.name for t in tables], dialect, schema, accept=options.accept)
    sql_path = run.file("views.sql")
    sql_path.write_text(viewset.render_file(contract_source=contract.source), encoding="utf-8")
    from dynamigrate.notes import record_notes

    notes = [
        {"table": stmt.table, "view": stmt.view_name, "note": note}
        for stmt in viewset.statements
        for note in stmt.interpretations
    ]
    record_notes(run, interpretations=notes)
    for n in notes:
        log.info("view %s: interpretation: %s", n["view"], n["note"])
    executor = choose_executor(cfg, options.via, options.allow_fallback, database=database)
    try:
        report = apply_with_fallback(cfg, executor, viewset.statements, options.allow_fallback, database)
    finally:
        executor.close()
    run.write_json("views_apply.json", report.to_dict())
    for stmt, res in zip(viewset.statements, report.results, strict=False):
        if res.ok:
            run.record_created("views", {"name": stmt.view_name, "database": database, "table": stmt.table})
    if not report.ok:
        phases.record("views", "failed", ", ".join(report.failed_labels()), t0)
        raise SourceError(
            "applying the views failed:\n" + report.render_text(),
            hint="fix the contract or the privileges named above; views.sql in the run directory holds the SQL",
        )
    phases.record("views", "done", f"{len(viewset.statements)} view(s) via {report.path}", t0)


def _phase_preflight(
    conn: Any,
    contract: Contract,
    tables: tuple[Table, ...],
    options: MigrateOptions,
    phases: _Phases,
    run: RunDir,
    database: str,
    cfg: Config | None = None,
) -> None:
    """``cfg``: preflight may open connections of its own to check tables side by side."""
    if options.skip_preflight:
        phases.record("preflight", "skipped", "--skip-preflight")
        return
    if phases.done_before("preflight"):
        phases.record("preflight", "done", "passed earlier in this run")
        return
    from dynamigrate.validate.preflight import run_preflight

    t0 = time.monotonic()
    opener = None
    if cfg is not None:
        from dynamigrate.source.connect import connect

        def opener() -> Any:
            return connect(cfg.mysql, database)

    report = run_preflight(conn, database, contract, [t.name for t in tables], options.accept, connect=opener)
    report.write(run.file("preflight.json"))
    if report.failed(options.accept):
        phases.record("preflight", "failed", "see preflight.json", t0)
        raise PreflightFailed(
            "preflight found problems that would lose or corrupt data:\n" + report.render_text(),
            checks=tuple(sorted({f.check for f in report.unaccepted(options.accept)})),
            hint="fix the source rows or the contract; or accept a check knowingly with --accept CHECK "
            "(rejected rows then go to rejected.jsonl)",
        )
    phases.record("preflight", "done", f"{len(report.findings)} finding(s)", t0)


def _phase_tables(
    cfg: Config, tables: tuple[Table, ...], factory: Callable[[], Any], phases: _Phases, run: RunDir
) -> None:
    import concurrent.futures as cf

    from dynamigrate.target.provision import ensure_table

    t0 = time.monotonic()
    client = factory()
    created = []
    # created side by side (each waits until ACTIVE); every table created is recorded in the manifest
    # (contract order) before the first error, if any, is raised
    with cf.ThreadPoolExecutor(max(1, min(8, len(tables)))) as pool:
        futures = [pool.submit(ensure_table, client, t, billing=cfg.migration.billing_mode) for t in tables]
        cf.wait(futures)
    for table, future in zip(tables, futures, strict=True):
        if future.exception() is None and future.result()[0] == "created":
            created.append(table.name)
            run.record_created("tables", {"name": table.name, "region": client.meta.region_name})
    for future in futures:
        future.result()  # the first table's error, in contract order
    detail = f"{len(tables)} table(s) ready" + (f", created {', '.join(created)}" if created else "")
    phases.record("tables", "done", detail, t0)


def _phase_etl(
    ctx: EtlContext,
    tables: tuple[Table, ...],
    engine_name: str,
    summary: RunSummary,
    phases: _Phases,
    table_loaded: Callable[[Table, TableResult], None] | None = None,
) -> None:
    """Every table through the engine; ``table_loaded`` is called after each (validation starts)."""
    t0 = time.monotonic()
    engine = get_engine(engine_name)
    phases.record("etl", "running", f"{len(tables)} table(s) with the {engine_name} engine")
    for table in tables:
        result = engine.run_table(ctx, table)
        summary.tables.append(result)
        if table_loaded is not None:
            table_loaded(table, result)
    failed = [t.table for t in summary.tables if t.status != "done"]
    tot = summary.totals()
    detail = f"{tot['read']} rows read, {tot['written']} written, {tot['rejected']} rejected"
    phases.record(
        "etl",
        "failed" if failed else "done",
        detail + (f"; failed: {', '.join(failed)}" if failed else ""),
        t0,
    )


class _LiveValidation:
    """The validation after ``migrate``, begun table by table as each load ends (validate/session.py):
    the source side of a table (base-table counts, the load's key record, the sampled rows computed by
    the evaluator) runs while the next table loads; the DynamoDB side (one key scan, the sampled
    items) after the whole load, because DynamoDB Local serves a scan and a load one after the other.
    A table that did not load is not handed over (validation is then skipped anyway)."""

    def __init__(self, ctx: EtlContext, options: MigrateOptions, *, live: bool = True):
        self.session: Any = None
        self.error: DynamigrateError | None = None
        self.during_load = 0  # tables whose validation had finished when the load ended
        if options.skip_validation:
            return
        from dynamigrate.validate.session import ValidationSession

        try:
            self.session = ValidationSession(ctx.config, ctx.contract, ctx.run, live=live)
        except DynamigrateError as exc:
            self.error = exc  # reported as "not validated" after the load

    def table_loaded(self, table: Table, result: TableResult) -> None:
        if self.session is not None and result.status == "done":
            self.session.submit(table)

    def load_over(self) -> None:
        if self.session is not None:
            self.during_load = self.session.submitted - self.session.pending()

    def cancel(self) -> None:
        if self.session is not None:
            self.session.cancel()
            self.session = None


def _phase_validate_and_report(
    ctx: EtlContext,
    tables: tuple[Table, ...],
    summary: RunSummary,
    phases: _Phases,
    options: MigrateOptions,
    validation: _LiveValidation | None = None,
) -> None:
    from dynamigrate.report import write_reports

    if validation is None:  # nothing validated during the load: every table now
        validation = _LiveValidation(ctx, options, live=False)
        for table, result in zip(tables, summary.tables, strict=False):
            validation.table_loaded(table, result)
    else:
        validation.load_over()
    if options.skip_validation:
        phases.record("validate", "skipped", "--skip-validation")
    elif any(t.status != "done" for t in summary.tables):
        validation.cancel()
        phases.record("validate", "skipped", "a table did not load completely: resume it first")
    else:
        t0 = time.monotonic()
        try:
            if validation.error is not None:
                raise validation.error
            session = validation.session
            result = session.finish()
        except DynamigrateError as exc:
            # a validation that cannot run proves nothing either way: "not validated", not a failed load
            phases.record("validate", "not validated", str(exc).splitlines()[0], t0)
        else:
            summary.validation = result
            overlap = (
                f"; source side of {validation.during_load} of {session.submitted} table(s) checked "
                f"during the load, {session.busy_seconds:.1f} s of validation in all"
                if validation.during_load
                else ""
            )
            phases.record(
                "validate",
                {"passed": "done"}.get(result.status, result.status),
                result.headline() + overlap,
                t0,
            )
            if result.status == "failed":
                for t in summary.tables:
                    t.extra.setdefault("validation", "failed")
                summary.errors.append("validation found differences (see validation.json)")
    t0 = time.monotonic()
    try:
        paths = write_reports(ctx.run, summary.validation, ctx.contract)
    except DynamigrateError as exc:
        phases.record("report", "failed", str(exc).splitlines()[0], t0)
        return
    summary.reports.update({str(k): str(v) for k, v in paths.items()})
    phases.record("report", "done", None, t0)
