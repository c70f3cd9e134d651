"""The migration as one Apache Spark job: a view read through JDBC, written to DynamoDB per partition.

One script for every place Spark runs:

* in-process from ``dynamigrate migrate --engine spark`` (:mod:`dynamigrate.etl.spark` calls
  :func:`run_job` with a SparkSession it created);
* ``spark-submit --py-files dynamigrate.zip --jars mariadb-java-client.jar spark_job.py --table Users
  --contract_file contract.json --jdbc_url jdbc:mysql://host:3306/db --jdbc_user u ...`` on any
  cluster (password from ``DYNAMIGRATE_MYSQL_PASSWORD``, never on the command line);
* AWS Glue 5.0 (Spark 3.5, Python 3.11), deployed by :mod:`dynamigrate.etl.glue`: ``awsglue`` is
  imported only when present; the JDBC URL, user and password come from the Glue connection
  (``glueContext.extract_jdbc_conf``), never from the job's arguments. Written for Spark 3.5 and 4.

Reading: Spark does the partitioning. The plan (:mod:`dynamigrate.etl.spark_plan`) asks the view
for its columns (``information_schema``) and for each entity's row count and key ranges, and cuts every
entity into slices of about ``partition_rows`` rows, one JDBC predicate per slice: ranges of
``_dm_rowid`` (a single integer key) or of the first key column when it is an integer (a junction
table), hash buckets of the key for any other key (VARCHAR, BINARY, composite), one partition for a
source without a unique key. Per-entity predicates keep partitions even when entities differ in size,
and MariaDB pushes them into the branches of a UNION ALL view (EXPLAIN shows "Impossible WHERE" for
the other branches). Every partition is a named predicate, which is what the per-partition checkpoints
key on; together the predicates select every row exactly once.

Writing: each partition builds its own boto3 client, encodes rows with the same
:class:`~dynamigrate.target.encode.ItemEncoder` and writes with the same
:class:`~dynamigrate.target.writer.TableWriter` as the local engine, so items are identical. Values
are first turned into the text the MySQL server prints (:func:`to_wire`), which is what the local
engine's reader returns. Counters come back through an accumulator; rejected rows, conflicts, written
keys and old images are written per partition attempt under the output location; a partition that
finishes writes a checkpoint (``spark-checkpoints/<table>/<hash of predicate>.done``) so that a
restarted job skips it. Retried or speculative tasks are harmless in the conditional modes (insert:
an item already written is skipped; sync/newer: the condition compares markers/versions). In
``overwrite`` mode a retried task rewrites the same items with the same content: no duplicates
(the key decides), but an item the application changed in between is overwritten again.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from dynamigrate.etl.base import RETRY_NAMES
from dynamigrate.etl.spark_plan import (
    DEFAULT_PARTITION_ROWS,
    ENTITY_COLUMN,
    ROWID_COLUMN,
    EntityStats,
    KeyStats,
    Partition,
    ViewColumn,
    boundaries_query,
    columns_query,
    entity_stats_from_rows,
    extend_plan,
    is_key_column,
    needs_boundaries,
    partition_from_dict,
    plan_partitions,
    quote_ident,
    read_query,
    sql_string,
    stats_query,
    with_boundaries,
)

__all__ = [
    "DEFAULT_PARTITION_ROWS",
    "EntityStats",
    "KeyStats",
    "Partition",
    "extend_plan",
    "plan_partitions",
    "quote_ident",
    "sql_string",
    "stats_query",
]

log = logging.getLogger("dynamigrate.etl.spark_job")

JDBC_DRIVER = "org.mariadb.jdbc.Driver"
COUNTER_NAMES = (
    "read",
    "written",
    "skipped",
    "conflicts",
    "unchanged",
    "retries",
    "throttles",
    "retried_batches",
    "transaction_retries",
    "bytes",
    "omitted_gsi_keys",
    "partitions",
    "duplicate_keys",  # rows skipped (also in ``skipped``): an earlier row produced their key
)


# -- value conversion ------------------------------------------------------------------------------


def to_wire(value: Any) -> Any:
    """A Spark value as the text the MySQL server prints (what the local engine's reader returns).

    The views emit text for S/N/M/L and sets, so this mostly passes strings through; it makes typed
    columns (integers, DECIMAL, dates, BIT) encode exactly like on the pymysql path.
    """
    import datetime as dt

    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):  # BIT(1) (Spark maps it to boolean); pymysql gives b'\x01'/b'\x00'
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond:06d}" if value.microsecond else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def row_to_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_wire(v) for k, v in row.items()}


# -- JDBC ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JdbcSource:
    """Where the view is. ``password`` is only revealed in :meth:`properties` (Spark redacts it)."""

    url: str  # jdbc:mysql://host:port/database (mysql scheme: see normalise_jdbc_url)
    user: str
    password: str = field(repr=False, default="")
    fetch_size: int = 1000

    def properties(self) -> dict[str, str]:
        return {
            "user": self.user,
            "password": self.password,
            "driver": JDBC_DRIVER,
            "fetchsize": str(self.fetch_size),
        }


def normalise_jdbc_url(url: str, database: str | None = None) -> str:
    """A URL Spark and MariaDB Connector/J 2.7 agree on.

    ``jdbc:mariadb://`` makes Spark pick its generic dialect, which quotes identifiers with double
    quotes: MariaDB then reads column *names* as string literals. ``jdbc:mysql://`` selects Spark's
    MySQL dialect (backticks). ``tinyInt1isBit=false`` keeps TINYINT(1) an integer (as pymysql reads
    it); ``serverTimezone=UTC`` keeps TIMESTAMP values from shifting.
    """
    if url.startswith("jdbc:mariadb://"):
        url = "jdbc:mysql://" + url[len("jdbc:mariadb://") :]
    base, _, query = url.partition("?")
    if database:
        scheme_host = base.split("/", 3)
        if len(scheme_host) < 4 or not scheme_host[3]:
            base = base.rstrip("/") + "/" + database
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    params.setdefault("tinyInt1isBit", "false")
    params.setdefault("serverTimezone", "UTC")
    return base + "?" + "&".join(f"{k}={v}" for k, v in params.items())


def entity_stats(
    spark: Any,
    jdbc: JdbcSource,
    view: str,
    key_order: Mapping[str, Sequence[str]] | None = None,
    partition_rows: int = DEFAULT_PARTITION_ROWS,
) -> tuple[list[EntityStats], list[ViewColumn]]:
    """Per-entity statistics of the view (see :mod:`dynamigrate.etl.spark_plan`) and its columns."""
    props = jdbc.properties()
    crow = spark.read.jdbc(jdbc.url, columns_query(view), properties=props).collect()
    columns = [
        ViewColumn(
            str(r["name"]),
            str(r["data_type"] or ""),
            str(r["column_type"] or ""),
            str(r["collation_name"]) if r["collation_name"] else None,
        )
        for r in sorted(crow, key=lambda r: int(r["pos"]))
    ]
    if not columns:
        raise RuntimeError(
            f"view {view} not found in the database of {jdbc.url.split('?', 1)[0]}: create the views first"
            " (dynamigrate views apply)"
        )
    rows = spark.read.jdbc(jdbc.url, stats_query(view, columns), properties=props).collect()
    stats = entity_stats_from_rows([r.asDict() for r in rows], columns, key_order)
    return [_with_boundaries(spark, jdbc, view, st, partition_rows) for st in stats], columns


def _with_boundaries(
    spark: Any, jdbc: JdbcSource, view: str, st: EntityStats, partition_rows: int
) -> EntityStats:
    """An entity keyed by text/binary: the boundaries of its slices (one sorted pass over its key)."""
    step = needs_boundaries(st, partition_rows)
    if not step:
        return st
    query = boundaries_query(view, st.entity, st.keys[0].column, step)
    rows = spark.read.jdbc(jdbc.url, query, properties=jdbc.properties()).collect()
    return with_boundaries(st, [str(r["b"]) for r in sorted(rows, key=lambda r: int(r["dm_rn"]))])


# -- output location (local directory or S3) -------------------------------------------------------


class Storage:
    """Text files under a local directory or an ``s3://bucket/prefix`` (created lazily, per process)."""

    def __init__(
        self, uri: str, region: str | None = None, endpoint_url: str | None = None, client: Any = None
    ):
        self.uri = uri.rstrip("/") + "/"
        self.region = region
        self.endpoint_url = endpoint_url
        self._s3: Any = client

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")

    def _bucket_key(self, rel: str) -> tuple[str, str]:
        rest = self.uri[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        return bucket, prefix + rel

    def _client(self) -> Any:
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3", region_name=self.region, endpoint_url=self.endpoint_url)
        return self._s3

    def write_text(self, rel: str, text: str) -> None:
        from dynamigrate.redact import redact

        text = redact(text)  # every file of the job, like a RunDir's: secrets masked by value
        if self.is_s3:
            bucket, key = self._bucket_key(rel)
            self._client().put_object(Bucket=bucket, Key=key, Body=text.encode("utf-8"))
            return
        path = Path(self.uri) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)

    def read_text(self, rel: str) -> str | None:
        if self.is_s3:
            bucket, key = self._bucket_key(rel)
            try:
                return str(self._client().get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8"))
            except Exception as exc:
                if "NoSuchKey" in type(exc).__name__ or "NoSuchKey" in str(exc):
                    return None
                raise
        path = Path(self.uri) / rel
        return path.read_text(encoding="utf-8") if path.exists() else None

    def list(self, rel_prefix: str) -> list[str]:
        """Relative names of the files under ``rel_prefix`` (recursive), sorted."""
        if self.is_s3:
            bucket, key = self._bucket_key(rel_prefix)
            base_len = len(self._bucket_key("")[1])
            names: list[str] = []
            for page in self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
                names += [o["Key"][base_len:] for o in page.get("Contents", [])]
            return sorted(names)
        base = Path(self.uri)
        root = base / rel_prefix
        if not root.exists():
            return []
        return sorted(
            str(p.relative_to(base)) for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")
        )


class PartitionBuffer:
    """Stands in for a RunDir inside a Spark task: RunDirSink appends here, lines kept per file."""

    def __init__(self, table: str):
        self.table = table
        self.lines: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def written_file(self, table: str) -> str:
        return "written"

    def old_images_file(self, table: str) -> str:
        return "old_images"

    def append(self, name: str, obj: Any) -> None:
        kind = name.rsplit("/", 1)[-1].removesuffix(".jsonl")
        line = json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":"))
        with self._lock:
            self.lines.setdefault(kind, []).append(line)


# -- the job ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobConf:
    """Everything a task needs (plain, picklable data)."""

    table: Any  # dynamigrate.contract.model.Table
    view: str
    run_id: str
    output_uri: str
    write_mode: str = "insert"
    marker_attribute: str | None = "_dm_marker"
    version_attribute: str | None = None
    region: str | None = None
    dynamodb_endpoint: str | None = None
    s3_endpoint: str | None = None
    concurrency: int = 8
    strategy: str | None = None
    chunk_rows: int = 500
    partition_rows: int = DEFAULT_PARTITION_ROWS
    #: builds each task's DynamoDB client (picklable: it travels to the executors); None: a boto3
    #: client for ``region`` / ``dynamodb_endpoint``. The seam for another client (fault injection in
    #: the tests, a client with other credentials)
    client_factory: Callable[[], Any] | None = None
    #: entity -> its key columns in the view, key order (from the key plan, when the caller knows the
    #: live schema); None: the job finds them in the view (the key columns each entity fills)
    key_order: Mapping[str, Sequence[str]] | None = None
    #: values masked in every file the job writes (dynamigrate.redact), registered again in each
    #: executor process: the MySQL password and what the caller's config registered
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def table_name(self) -> str:
        return str(self.table.name)


def checkpoint_dir(table: str) -> str:
    return f"spark-checkpoints/{_safe(table)}/"


def parts_dir(table: str) -> str:
    return f"spark-parts/{_safe(table)}/"


def _safe(name: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def process_partition(
    conf: JobConf, parts: list[Partition], accumulator: Any, rows: Iterator[Any], dups: Any = None
) -> None:
    """Runs in a Spark task: encode and write one partition's rows, then checkpoint it.

    ``dups``: the table's :class:`~dynamigrate.etl.spark_dups.DuplicatePlan` (a broadcast, or the plan
    itself), None when no key repeats: its rows are skipped (``duplicate_key``), never sent.
    """
    from pyspark import TaskContext

    from dynamigrate.config import AwsSettings
    from dynamigrate.etl.spark_dups import DuplicateFilter
    from dynamigrate.redact import register
    from dynamigrate.target.client import dynamodb_client
    from dynamigrate.target.encode import ItemEncoder
    from dynamigrate.target.writer import RunDirSink, TableWriter, WriterOptions

    register(*conf.secrets)  # an executor is a process of its own
    ctx = TaskContext.get()
    pid = ctx.partitionId() if ctx else 0
    attempt = ctx.attemptNumber() if ctx else 0
    part = parts[pid]
    table = conf.table
    storage = Storage(conf.output_uri, conf.region, conf.s3_endpoint)
    buffer = PartitionBuffer(conf.table_name)
    sink = RunDirSink(buffer, conf.table_name)
    if conf.client_factory is not None:
        client = conf.client_factory()
    else:
        client = dynamodb_client(
            AwsSettings(region=conf.region, dynamodb_endpoint_url=conf.dynamodb_endpoint),
            max_pool_connections=max(10, conf.concurrency * 2),
        )
    wopts: dict[str, Any] = {
        "mode": conf.write_mode,
        "run_id": conf.run_id,
        "marker_attribute": conf.marker_attribute,
        "version_attribute": conf.version_attribute,
        "concurrency": conf.concurrency,
    }
    if conf.strategy:
        wopts["strategy"] = conf.strategy
    writer = TableWriter(client, conf.table_name, table, WriterOptions(**wopts), sink)
    encoder = ItemEncoder(table, conf.marker_attribute)
    plan = getattr(dups, "value", dups)
    is_duplicate = DuplicateFilter(plan) if plan is not None else None
    counters: dict[str, int] = dict.fromkeys(COUNTER_NAMES, 0)
    t0 = time.monotonic()
    prefix = f"{parts_dir(conf.table_name)}part-{pid:05d}-{part.key(conf.table_name)}-a{attempt}/"
    ok = False
    # reading (the JDBC rows arrive in this thread) overlaps with writing: up to ``inflight`` chunks
    # are being written while the next one is read and encoded
    inflight: deque[Future[Any]] = deque()
    pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="dm-spark-write")
    lock = threading.Lock()
    try:
        chunk: list[Mapping[str, Any]] = []

        def write(good: list[Any]) -> None:
            br = writer.write_batch(good)
            with lock:
                for name in ("written", "skipped", "conflicts", "unchanged", *RETRY_NAMES):
                    counters[name] += int(getattr(br, name, 0))

        def flush(batch: list[Mapping[str, Any]]) -> None:
            encoded = encoder.encode_many(batch)
            good = []
            for enc in encoded:
                if enc.reject_code is not None:
                    sink.on_rejected(enc, enc.reject_reason or enc.reject_code, enc.reject_code, None)
                elif is_duplicate is not None and is_duplicate(enc.row or {}, enc.key):
                    sink.on_skipped(enc.key, "duplicate_key")  # never sent, as in the local engine
                    counters["skipped"] += 1
                    counters["duplicate_keys"] += 1
                else:
                    good.append(enc)
                    counters["bytes"] += enc.size
                    if enc.omitted_gsi_keys:
                        counters["omitted_gsi_keys"] += 1
            counters["read"] += len(batch)
            if good:
                inflight.append(pool.submit(write, good))
            while len(inflight) >= 2:
                inflight.popleft().result()  # raises the writer's error

        def drain() -> None:
            while inflight:
                inflight.popleft().result()

        for row in rows:
            chunk.append(row_to_wire(row.asDict()))
            if len(chunk) >= conf.chunk_rows:
                flush(chunk)
                chunk = []
        if chunk:
            flush(chunk)
        drain()
        ok = True
    finally:
        for fut in inflight:
            fut.cancel()
        pool.shutdown(wait=True)
        close = getattr(writer, "close", None)
        if callable(close):
            close()
        # what this attempt did is kept even when it failed (its written keys matter for rollback)
        for kind, lines in buffer.lines.items():
            storage.write_text(prefix + f"{kind}.jsonl", "".join(line + "\n" for line in lines))
    rejected_by_code = {k.split(":", 1)[1]: v for k, v in sink.counters.items() if k.startswith("rejected:")}
    done = {
        "table": conf.table_name,
        "partition": pid,
        "predicate": part.predicate,
        "entity": part.entity,
        "attempt": attempt,
        "files": prefix,
        "counters": counters,
        "rejected": rejected_by_code,
        "seconds": round(time.monotonic() - t0, 3),
        "finished": time.time(),
    }
    if ok:
        storage.write_text(
            f"{checkpoint_dir(conf.table_name)}{part.key(conf.table_name)}.done", json.dumps(done)
        )
        counters["partitions"] = 1
        accumulator.add({**counters, **{f"rejected:{k}": v for k, v in rejected_by_code.items()}})


def _dict_accumulator_param() -> Any:
    from pyspark.accumulators import AccumulatorParam

    class DictSum(AccumulatorParam):
        def zero(self, value: dict[str, int]) -> dict[str, int]:
            return {}

        def addInPlace(self, a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            for k, v in b.items():
                a[k] = a.get(k, 0) + v
            return a

    return DictSum()


@dataclass
class JobOutcome:
    table: str
    partitions: int
    skipped_partitions: int
    counters: dict[str, int]
    rejected: dict[str, int]
    resumed_counters: dict[str, int]
    resumed_rejected: dict[str, int]
    seconds: float
    total_rows: int
    plan_seconds: float = 0.0
    #: partitions of the plan per scheme (rowid | range | hash | single | nulls, see spark_plan)
    schemes: dict[str, int] = field(default_factory=dict)
    #: entity -> read/written/skipped/unchanged/conflicts/rejected over every finished partition
    entities: dict[str, dict[str, int]] = field(default_factory=dict)
    #: rows whose key an earlier row produces (:mod:`dynamigrate.etl.spark_dups`): ``rows`` to skip,
    #: ``keys`` repeated, ``examples`` (low-level keys), ``file`` (each key once, under the output)
    duplicates: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def done_markers(storage: Storage, table: str) -> dict[str, dict[str, Any]]:
    """Checkpoint key -> done record, for the partitions of ``table`` already finished."""
    out: dict[str, dict[str, Any]] = {}
    for name in storage.list(checkpoint_dir(table)):
        if name.endswith(".done"):
            text = storage.read_text(name)
            if text:
                out[name.rsplit("/", 1)[-1].removesuffix(".done")] = json.loads(text)
    return out


def run_job(
    spark: Any,
    conf: JobConf,
    jdbc: JdbcSource,
    *,
    resume: bool = True,
    on_progress: Any = None,
    progress_interval: float = 2.0,
    on_plan: Any = None,
) -> JobOutcome:
    """Plan, read and write one table (driver side). ``resume``: skip partitions already done.

    ``on_progress(counters)`` is called every ``progress_interval`` seconds while the job runs, with
    the counters of the partitions finished so far (Spark merges a task's accumulator update when the
    task ends).
    """
    from dynamigrate.etl.spark_dups import duplicate_plan, write_duplicates
    from dynamigrate.redact import register

    t0 = time.monotonic()
    conf = dataclasses.replace(conf, secrets=(*conf.secrets, jdbc.password))
    register(*conf.secrets)
    storage = Storage(conf.output_uri, conf.region, conf.s3_endpoint)
    stats, columns = entity_stats(spark, jdbc, conf.view, conf.key_order, conf.partition_rows)
    t_stats = time.monotonic() - t0
    stored = storage.read_text(f"{checkpoint_dir(conf.table_name)}plan.json") if resume else None
    if stored:
        # a restart keeps the first plan (so its checkpoints still match) and adds what appeared since
        parts = extend_plan([partition_from_dict(p) for p in json.loads(stored)], stats, conf.partition_rows)
    else:
        parts = plan_partitions(stats, conf.partition_rows)
    storage.write_text(
        f"{checkpoint_dir(conf.table_name)}plan.json", json.dumps([p.__dict__ for p in parts], indent=1)
    )
    if on_plan is not None:
        on_plan(sum(st.rows for st in stats), len(parts))
    dup_plan = duplicate_plan(spark, jdbc, conf, columns, stats)  # before any task: see spark_dups
    dup_info = write_duplicates(storage, conf.table_name, dup_plan)
    done = done_markers(storage, conf.table_name) if resume else {}
    todo = [p for p in parts if p.key(conf.table_name) not in done]
    resumed: dict[str, int] = {}
    resumed_rejected: dict[str, int] = {}
    for p in parts:
        rec = done.get(p.key(conf.table_name))
        if rec:
            for k, v in (rec.get("counters") or {}).items():
                resumed[k] = resumed.get(k, 0) + int(v)
            for k, v in (rec.get("rejected") or {}).items():
                resumed_rejected[k] = resumed_rejected.get(k, 0) + int(v)
    log.info(
        "table %s: %d partition(s) over %s (%d already done)",
        conf.table_name,
        len(parts),
        conf.view,
        len(parts) - len(todo),
    )
    counters: dict[str, int] = {}
    rejected: dict[str, int] = {}
    if todo:
        # renumber: the JDBC partition index is the position in ``todo``
        todo = [dataclasses.replace(p, index=i) for i, p in enumerate(todo)]
        acc = spark.sparkContext.accumulator({}, _dict_accumulator_param())
        df = spark.read.jdbc(
            jdbc.url,
            read_query(conf.view, columns),
            predicates=[p.predicate for p in todo],
            properties=jdbc.properties(),
        )
        # helper columns the encoder has no use for; the key columns stay (a rejected row is recorded
        # with its source key, as the local engine records it)
        keep = (ENTITY_COLUMN, ROWID_COLUMN)
        helper = [c for c in df.columns if c.startswith("_dm_") and c not in keep and not is_key_column(c)]
        if helper:
            df = df.drop(*helper)
        conf_b, parts_b = conf, todo
        dups_b = spark.sparkContext.broadcast(dup_plan) if dup_plan is not None else None
        stop = threading.Event()
        watcher = None
        if on_progress is not None:

            def watch() -> None:
                while not stop.wait(progress_interval):
                    try:
                        on_progress(dict(acc.value))
                    except Exception:  # a torn read or a reporter error never stops the job
                        log.debug("progress callback failed", exc_info=True)

            watcher = threading.Thread(target=watch, name="dm-spark-progress", daemon=True)
            watcher.start()
        try:
            df.rdd.foreachPartition(lambda rows: process_partition(conf_b, parts_b, acc, rows, dups_b))
        finally:
            stop.set()
            if watcher is not None:
                watcher.join(timeout=5)
        for k, v in dict(acc.value).items():
            if k.startswith("rejected:"):
                rejected[k.split(":", 1)[1]] = v
            else:
                counters[k] = v
    return JobOutcome(
        table=conf.table_name,
        partitions=len(parts),
        skipped_partitions=len(parts) - len(todo),
        counters=counters,
        rejected=rejected,
        resumed_counters=resumed,
        resumed_rejected=resumed_rejected,
        seconds=round(time.monotonic() - t0, 3),
        total_rows=sum(s.rows for s in stats),
        plan_seconds=round(t_stats, 3),
        schemes=dict(Counter(p.scheme for p in parts)),
        entities=entity_counters(parts, done_markers(storage, conf.table_name), conf.table_name),
        duplicates=dup_info,
    )


#: per-entity counters of a job (the names of dynamigrate.etl.accounting.ENTITY_COUNTERS)
ENTITY_COUNTER_NAMES = ("read", "written", "skipped", "unchanged", "conflicts", "rejected")


def entity_counters(
    parts: Iterable[Partition], done: Mapping[str, Mapping[str, Any]], table: str
) -> dict[str, dict[str, int]]:
    """Per entity, the counters of its finished partitions (every partition reads one entity), from
    their done markers: this invocation's and earlier ones' alike (pure)."""
    out: dict[str, dict[str, int]] = {}
    for p in parts:
        rec = done.get(p.key(table))
        if rec is None:
            continue
        c = out.setdefault(p.entity or "", dict.fromkeys(ENTITY_COUNTER_NAMES, 0))
        counters = rec.get("counters") or {}
        for name in ENTITY_COUNTER_NAMES[:-1]:
            c[name] += int(counters.get(name, 0) or 0)
        c["rejected"] += sum(int(v) for v in (rec.get("rejected") or {}).values())
    return out


# -- entry point (spark-submit / Glue) -------------------------------------------------------------

ARGUMENTS = (
    "table",
    "view",
    "run_id",
    "write_mode",
    "contract_file",
    "contract_s3",
    "connection_name",
    "database",
    "region",
    "marker_attribute",
    "version_attribute",
    "output_uri",
    "partition_rows",
    "fetch_size",
    "jdbc_url",
    "jdbc_user",
    "dynamodb_endpoint",
)


def parse_args(argv: list[str]) -> dict[str, str | None]:
    """Glue's getResolvedOptions when running in Glue (it also knows JOB_NAME), argparse otherwise."""
    try:
        from awsglue.utils import getResolvedOptions
    except ImportError:
        getResolvedOptions = None
    if getResolvedOptions is not None and "--JOB_NAME" in argv:
        present = [a for a in ARGUMENTS if f"--{a}" in argv]
        resolved = getResolvedOptions(argv, ["JOB_NAME", *present])
        return {a: resolved.get(a) for a in ("JOB_NAME", *ARGUMENTS)}
    parser = argparse.ArgumentParser(prog="spark_job.py", description="dynamigrate Spark job (one table)")
    parser.add_argument("--JOB_NAME")
    for a in ARGUMENTS:
        parser.add_argument(f"--{a}")
    ns, _unknown = parser.parse_known_args(argv[1:])
    return vars(ns)


def _load_contract_text(args: dict[str, str | None], region: str | None) -> tuple[str, str]:
    if args.get("contract_file"):
        path = str(args["contract_file"])
        return Path(path).read_text(encoding="utf-8"), path
    uri = args.get("contract_s3")
    if not uri:
        raise SystemExit("--contract_file or --contract_s3 is required")
    base, _, name = str(uri).rpartition("/")
    text = Storage(base, region).read_text(name)
    if text is None:
        raise SystemExit(f"contract not found at {uri}")
    return text, str(uri)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    args = parse_args(argv)
    os.environ.setdefault("TZ", "UTC")
    from pyspark.sql import SparkSession

    from dynamigrate.contract.load import parse_contract_text

    glue_context = None
    job = None
    try:
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from pyspark.context import SparkContext

        sc = SparkContext.getOrCreate()
        glue_context = GlueContext(sc)
        spark = glue_context.spark_session
        job = Job(glue_context)
        job.init(args.get("JOB_NAME") or "dynamigrate", {k: v for k, v in args.items() if v is not None})
    except ImportError:
        spark = SparkSession.builder.appName(f"dynamigrate-{args.get('table')}").getOrCreate()
    spark.conf.set("spark.sql.session.timeZone", "UTC")

    region = args.get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    text, source = _load_contract_text(args, region)
    contract, problems = parse_contract_text(text, source)
    if contract is None:
        raise SystemExit(f"contract {source} cannot be read: {problems}")
    table = contract.table(str(args["table"]))
    fetch = int(args.get("fetch_size") or 1000)
    if glue_context is not None and args.get("connection_name"):
        conf = dict(glue_context.extract_jdbc_conf(args["connection_name"]))
        url = conf.get("fullUrl") or conf.get("url") or ""
        jdbc = JdbcSource(
            normalise_jdbc_url(str(url), args.get("database")),
            str(conf.get("user")),
            str(conf.get("password")),
            fetch,
        )
    else:
        url = args.get("jdbc_url") or ""
        if not url:
            raise SystemExit("--jdbc_url (or, in Glue, --connection_name) is required")
        password = os.environ.get("DYNAMIGRATE_MYSQL_PASSWORD") or os.environ.get("MYSQL_PWD") or ""
        jdbc = JdbcSource(
            normalise_jdbc_url(url, args.get("database")), str(args.get("jdbc_user") or ""), password, fetch
        )
    output = args.get("output_uri") or f"dynamigrate-runs/{args.get('run_id') or 'spark'}"
    job_conf = JobConf(
        table=table,
        view=args.get("view") or table.view_name,
        run_id=str(args.get("run_id") or "spark"),
        output_uri=str(output),
        write_mode=str(args.get("write_mode") or "insert"),
        marker_attribute=args.get("marker_attribute") or "_dm_marker",
        version_attribute=args.get("version_attribute"),
        region=region,
        dynamodb_endpoint=args.get("dynamodb_endpoint"),
        partition_rows=int(args.get("partition_rows") or DEFAULT_PARTITION_ROWS),
    )
    outcome = run_job(spark, job_conf, jdbc)
    Storage(job_conf.output_uri, region).write_text(
        f"spark-summary/{_safe(table.name)}.json", json.dumps(outcome.to_dict(), indent=2)
    )
    print(json.dumps(outcome.to_dict()))
    if job is not None:
        job.commit()
    return 0


if __name__ == "__main__":  # spark-submit / Glue
    sys.exit(main())
