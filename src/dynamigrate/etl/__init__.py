"""ETL engines: read a view, encode items, write them to DynamoDB (local, spark, glue)."""

from dynamigrate.etl.base import (
    Engine,
    EtlContext,
    EtlOptions,
    TableResult,
    engine_names,
    get_engine,
    register_engine,
)

__all__ = [
    "Engine",
    "EtlContext",
    "EtlOptions",
    "TableResult",
    "engine_names",
    "get_engine",
    "register_engine",
]
