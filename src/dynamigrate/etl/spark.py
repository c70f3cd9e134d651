"""Spark engine: run the migration job (:mod:`dynamigrate.etl.spark_job`) on Spark.

``dynamigrate migrate --engine spark`` runs :class:`SparkEngine`: a SparkSession in this process
(``local[*,3]`` by default, any master with ``--spark-master`` / ``$DYNAMIGRATE_SPARK_MASTER`` /
config ``spark.master``), the JDBC driver jar from Debian's ``libmariadb-java``, UTC forced on the
JVM and the session. pyspark comes with the extra ``dynamigrate[spark]``; nothing is installed at
run time. :func:`build_package_zip` and :func:`job_script_path` are shared with the Glue deployment.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dynamigrate.errors import ConfigError, DynamigrateError, require
from dynamigrate.etl.base import (
    RETRY_NAMES,
    TableResult,
    duplicates_run_file,
    note_duplicates,
    register_engine,
    utc_iso,
)
from dynamigrate.etl.spark_checks import check_account, count_sources, reload_if_target_lost
from dynamigrate.redact import registered

if TYPE_CHECKING:
    from dynamigrate.config import Config
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import EtlContext
    from dynamigrate.runstate import RunDir
    from dynamigrate.source.schema import SchemaInfo

log = logging.getLogger(__name__)

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # src/dynamigrate


def job_script_path() -> Path:
    """The job script given to spark-submit / uploaded as the Glue job's ScriptLocation."""
    return Path(__file__).resolve().parent / "spark_job.py"


def build_package_zip(dest: Path) -> Path:
    """Zip the dynamigrate package for ``--py-files`` / ``--extra-py-files``.

    Deterministic (sorted entries, fixed timestamps) so that identical code gives an identical zip.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(PACKAGE_DIR.rglob("*")):
            if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
                continue
            arcname = str(Path("dynamigrate") / path.relative_to(PACKAGE_DIR))
            info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    tmp.replace(dest)
    return dest


# -- the engine ------------------------------------------------------------------------------------

#: Spark master (flag ``--spark-master`` sets this variable; config ``spark.master``; default below).
SPARK_MASTER_ENV = "DYNAMIGRATE_SPARK_MASTER"
#: ``local[*,3]``: all cores, and a failed task is retried up to 3 times (plain ``local[*]`` never
#: retries a task; retries are safe here, see spark_job's docstring).
DEFAULT_MASTER = "local[*,3]"
JDBC_JAR_ENV = "DYNAMIGRATE_JDBC_JAR"
DEFAULT_JDBC_JARS = ("/usr/share/java/mariadb-java-client.jar",)


def spark_settings(cfg: Config | None) -> dict[str, Any]:
    raw = (cfg.raw.get("spark") or {}) if cfg is not None and isinstance(cfg.raw, dict) else {}
    return dict(raw) if isinstance(raw, dict) else {}


def jdbc_jar(cfg: Config | None = None) -> str:
    """The JDBC driver jar: $DYNAMIGRATE_JDBC_JAR > config spark.jdbc_jar > Debian's libmariadb-java."""
    candidates = [os.environ.get(JDBC_JAR_ENV), spark_settings(cfg).get("jdbc_jar"), *DEFAULT_JDBC_JARS]
    for c in candidates:
        if c and Path(c).exists():
            return str(c)
    raise ConfigError(
        "no MySQL/MariaDB JDBC driver jar found for Spark",
        hint="apt-get install libmariadb-java (gives /usr/share/java/mariadb-java-client.jar), "
        f"or point {JDBC_JAR_ENV} / spark.jdbc_jar at a Connector/J jar",
    )


def spark_session(cfg: Config | None = None, master: str | None = None) -> Any:
    """The active SparkSession, or a new one for ``master`` (in-process driver, client mode).

    In-process rather than spark-submit: the driver is this process, so accumulators, exceptions and
    the run directory are right here, and nothing is parsed from a subprocess's output. Cluster deploy
    modes (YARN cluster, Kubernetes) use spark-submit on spark_job.py directly (docs/spark-glue.md).
    """
    require("pyspark", "spark")
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    settings = spark_settings(cfg)
    master = master or os.environ.get(SPARK_MASTER_ENV) or settings.get("master") or DEFAULT_MASTER
    # the JVM inherits the environment: UTC everywhere, and Python workers use this interpreter
    os.environ["TZ"] = "UTC"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    utc = "-Duser.timezone=UTC"
    builder = (
        SparkSession.builder.master(master)
        .appName("dynamigrate")
        .config("spark.jars", jdbc_jar(cfg))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", utc)
        .config("spark.executor.extraJavaOptions", utc)
        .config("spark.executorEnv.TZ", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.task.maxFailures", "4")
        .config("spark.python.worker.reuse", "true")
    )
    for key, value in (settings.get("conf") or {}).items():
        builder = builder.config(str(key), str(value))
    spark = builder.getOrCreate()
    if not master.startswith("local"):
        # executors elsewhere need the package: ship it (the same zip Glue gets)
        tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"dynamigrate-{os.getpid()}.zip"
        spark.sparkContext.addPyFile(str(build_package_zip(tmp)))
    return spark


def jdbc_source(cfg: Config, database: str | None, fetch_size: int = 1000) -> Any:
    from dynamigrate.etl.spark_job import JdbcSource, normalise_jdbc_url

    m = cfg.mysql
    db = database or m.database
    if not db:
        raise ConfigError("mysql.database is not set", hint="the database that holds the views")
    url = normalise_jdbc_url(f"jdbc:mysql://{m.host}:{m.port}/{db}")
    # the password goes only into the JDBC properties (JdbcSource hides it from repr; Spark redacts
    # option keys matching spark.redaction.regex, "password" included, in plans and the UI)
    password = m.connect_kwargs()["password"]
    return JdbcSource(url=url, user=m.user, password=password, fetch_size=fetch_size)


def _key_order(table: Table, schema: SchemaInfo | None) -> dict[str, tuple[str, ...]] | None:
    """Entity -> its key columns in the view, in key order (the key plan the views were generated
    with); None without the live schema (the job then finds the key columns in the view)."""
    if schema is None:
        return None
    from dynamigrate.source.keys import key_plan

    plan = key_plan(table, schema)
    return {name: ek.view_columns for name, ek in plan.entities.items() if ek is not None}


def _redact(text: str, secret: str) -> str:
    """``text`` with ``secret`` masked (a driver or Py4J message must not carry the password into
    logs, the run state or an exception)."""
    from dynamigrate.redact import redact

    return redact(text.replace(secret, "***") if secret and len(secret) >= 3 else text)


def merge_partition_outputs(
    run: RunDir, table: str, output_uri: str | None = None, storage: Any = None
) -> dict[str, int]:
    """Copy the tasks' per-attempt files into the run's standard files (once per file).

    Written keys and old images come from every attempt (a failed attempt may have written items
    before it died: rollback must know them); rejected rows and conflicts only from the attempt that
    completed the partition (a retried attempt sees the same rows again).
    """
    from dynamigrate.etl.spark_job import Storage, done_markers, parts_dir

    storage = storage or Storage(output_uri or str(run.path))
    merged_name = f"{parts_dir(table)}merged.json"
    merged = set(json.loads(storage.read_text(merged_name) or "[]"))
    committed = {rec["files"] for rec in done_markers(storage, table).values()}
    targets = {
        "written": run.written_file(table),
        "old_images": run.old_images_file(table),
        "rejected": "rejected.jsonl",
        "conflicts": "conflicts.jsonl",
    }
    counts: dict[str, int] = {}
    for name in storage.list(parts_dir(table)):
        if name in merged or not name.endswith(".jsonl"):
            continue
        folder, _, fname = name.rpartition("/")
        kind = fname.removesuffix(".jsonl")
        if kind not in targets:
            continue
        if kind in ("rejected", "conflicts") and folder + "/" not in committed:
            continue  # an attempt that did not finish: its rows are in the successful attempt
        text = storage.read_text(name) or ""
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        run.writer(targets[kind]).write_many(lines)
        counts[kind] = counts.get(kind, 0) + len(lines)
        counts["files"] = counts.get("files", 0) + 1
        merged.add(name)
    if counts:
        storage.write_text(merged_name, json.dumps(sorted(merged)))
    copy_duplicates(run, table, storage)
    return counts


def copy_duplicates(run: RunDir, table: str, storage: Any) -> None:
    """The job's list of repeated keys (``spark-duplicates/<T>.jsonl``, each key once) as the local
    engine writes it: ``duplicates/<T>.jsonl`` in the run (validation reads it). Rewritten whole."""
    from dynamigrate.etl.spark_dups import duplicates_file

    text = storage.read_text(duplicates_file(table))
    path = run.file(duplicates_run_file(table))
    if text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    elif text is not None and path.exists():
        path.unlink()  # the job found no repeated key this time


def apply_job_summary(result: TableResult, summary: Mapping[str, Any]) -> None:
    """Fill a TableResult from a job's outcome (:class:`~dynamigrate.etl.spark_job.JobOutcome` as a
    dict, or the ``spark-summary`` a Glue job leaves): whole-table figures, this invocation's partitions
    plus those an earlier one finished, and the per-entity counters of the accounting equation."""
    totals: dict[str, int] = {}
    for src in (summary.get("counters") or {}, summary.get("resumed_counters") or {}):
        for k, v in src.items():
            totals[k] = totals.get(k, 0) + int(v)
    result.total = summary.get("total_rows")
    for name in (
        "read",
        "written",
        "skipped",
        "unchanged",
        "conflicts",
        *RETRY_NAMES,
        "bytes",
        "omitted_gsi_keys",
    ):
        setattr(result, name, totals.get(name, 0))
    result.chunks = totals.get("partitions", 0)
    result.rejected = {}
    for src in (summary.get("rejected") or {}, summary.get("resumed_rejected") or {}):
        for code, n in src.items():
            result.add_rejected(code, int(n))
    result.entities = {
        str(e): {k: int(v) for k, v in c.items()} for e, c in (summary.get("entities") or {}).items()
    }
    note_duplicates(
        result, totals.get("duplicate_keys", 0), (summary.get("duplicates") or {}).get("examples") or []
    )


class SparkEngine:
    """``--engine spark``: the Spark job in this process's SparkSession (local[*] by default)."""

    name = "spark"

    def __init__(
        self,
        spark: Any = None,
        master: str | None = None,
        task_client_factory: Callable[[], Any] | None = None,
    ):
        """``task_client_factory``: builds the DynamoDB client of each Spark task (picklable; default:
        a boto3 client for the configured region and endpoint)."""
        self._spark = spark
        self.master = master
        self.task_client_factory = task_client_factory

    def run_table(self, ctx: EtlContext, table: Table) -> TableResult:
        from dynamigrate.etl.spark_job import JobConf, run_job

        cfg, opts, run = ctx.config, ctx.options, ctx.run
        result = TableResult(table=table.name, engine=self.name, status="running", started=utc_iso())
        if ctx.progress:
            ctx.progress.start_table(table.name, None)
        t0 = time.monotonic()
        secret = ""
        try:
            spark = self._spark or spark_session(cfg, self.master)
            settings = spark_settings(cfg)
            region = cfg.aws.region
            if not region:
                from dynamigrate.target.client import client_region

                region = client_region(ctx.client())
            conf = JobConf(
                table=table,
                view=table.view_name,
                run_id=run.run_id,
                output_uri=str(run.path.resolve()),
                write_mode=opts.write_mode,
                marker_attribute=opts.marker_attribute,
                version_attribute=opts.version_attribute,
                region=region,
                dynamodb_endpoint=cfg.aws.dynamodb_endpoint,
                concurrency=int(settings.get("task_concurrency") or min(opts.concurrency, 16)),
                strategy=opts.strategy,
                chunk_rows=int(settings.get("chunk_rows") or min(opts.chunk_rows, 1000)),
                partition_rows=int(settings.get("partition_rows") or 50_000),
                client_factory=self.task_client_factory,
                key_order=_key_order(table, ctx.schema),
                secrets=registered(),  # what the config registered: masked in the job's files too
            )
            jdbc = jdbc_source(cfg, ctx.database, int(settings.get("fetch_size") or 1000))
            secret = jdbc.password
            progress = ctx.progress

            def on_progress(counters: dict[str, int]) -> None:
                # counters of the partitions finished so far (this invocation), for status and ETA
                result.read = counters.get("read", 0)
                result.written = counters.get("written", 0)
                result.skipped = counters.get("skipped", 0)
                result.unchanged = counters.get("unchanged", 0)
                result.conflicts = counters.get("conflicts", 0)
                run.update_state(tables={table.name: result.to_dict()})
                if progress is not None:
                    progress.update(result)

            def on_plan(total: int, partitions: int) -> None:
                result.total = total
                if progress is not None:
                    progress.set_total(table.name, total)
                log.info("table %s: %d rows in %d Spark partition(s)", table.name, total, partitions)

            # partition files of an earlier invocation (a killed driver did not merge them), then the
            # checks before the job: a target that lost what they wrote, the source rows
            merge_partition_outputs(run, table.name)
            reload_if_target_lost(ctx, table, result, ctx.client())
            before = count_sources(ctx, table)
            result.total = sum(c.kept for c in before.values())
            outcome = run_job(spark, conf, jdbc, resume=True, on_progress=on_progress, on_plan=on_plan)
            merge_partition_outputs(run, table.name)
            apply_job_summary(result, outcome.to_dict())
            result.total = sum(c.kept for c in before.values())
            result.extra["spark"] = {
                "partitions": outcome.partitions,
                "skipped_partitions": outcome.skipped_partitions,
                "schemes": outcome.schemes,
                "master": spark.sparkContext.master,
                "spark_version": spark.version,
                "plan_seconds": outcome.plan_seconds,
                "job_seconds": outcome.seconds,
            }
            if outcome.skipped_partitions:
                result.resumed_from = {"partitions_done": outcome.skipped_partitions}
            result.status = "done"
            check_account(ctx, table, result, before)  # FAILED when the numbers do not add up
        except KeyboardInterrupt:
            result.status = "interrupted"
            result.error = "interrupted; rerun with --resume: finished partitions are skipped"
            raise
        except Exception as exc:
            if isinstance(exc, ConfigError):
                raise
            result.status = "failed"
            text = str(exc) if isinstance(exc, DynamigrateError) else _spark_error_text(exc)
            result.error = _redact(text, secret) + (
                "" if "hint:" in text else "\n  hint: rerun with --resume: finished partitions are skipped"
            )
            try:
                merge_partition_outputs(run, table.name)
            except Exception:
                log.debug("merging partition outputs failed", exc_info=True)
        finally:
            result.duration = time.monotonic() - t0
            result.finished = utc_iso()
            if result.status == "failed":
                # the table fails, the run goes on with the next one (as with the local engine)
                log.error("table %s failed in Spark: %s", table.name, result.error)
            run.update_state(tables={table.name: result.to_dict()})
            if ctx.progress:
                ctx.progress.finish_table(result)
        return result


_PY_ERROR_PREFIXES = ("dynamigrate.", "RuntimeError", "botocore.", "pymysql.")
_JVM_ERROR = re.compile(r"^:?\s*((?:java|javax|org|com)\.[\w.$]+(?:Exception|Error)): (.+)$")


def _spark_error_text(exc: BaseException) -> str:
    """The useful line of a Py4J/Spark error: the Python exception raised in a task, else the JVM's
    exception (a JDBC driver's message, say) rather than Py4J's "An error occurred while calling o67"."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    for i, s in enumerate(lines):
        if s.startswith(_PY_ERROR_PREFIXES) or (
            "Error:" in s and not s.startswith(("at ", "py4j", ": org.", "org.", ": java.", "java."))
        ):
            hint = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].startswith("hint:") else ""
            return s[:500] + (f"\n  {hint[:500]}" if hint else "")
    for s in lines:
        m = _JVM_ERROR.match(s)
        if m:
            return f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(2)}"[:500]
    return lines[0][:500] if lines else type(exc).__name__


register_engine("spark", SparkEngine)
