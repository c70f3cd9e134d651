"""The binlog start position a migrate records for replicate: without the privilege to read it, the
load goes on and the warning says what to grant (or how to start replicate anyway)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dynamigrate.replicate.position import START_FILE, record_start_position
from dynamigrate.runstate import RunDir


class _DeniedCursor:
    def __enter__(self) -> _DeniedCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, *args: Any) -> None:
        raise pymysql.err.OperationalError(
            1227, "Access denied; you need (at least one of) the SUPER, BINLOG MONITOR privilege(s)"
        )


class _Conn:
    def cursor(self) -> _DeniedCursor:
        return _DeniedCursor()


def test_no_binlog_privilege_warns_with_what_to_grant(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = RunDir.create(tmp_path, meta={"engine": "local"})
    with caplog.at_level(logging.WARNING, logger="dynamigrate.replicate.position"):
        assert record_start_position(_Conn(), run) is None
    assert not run.file(START_FILE).exists()
    (message,) = [r.getMessage() for r in caplog.records]
    assert "BINLOG MONITOR privilege" in message and "the load goes on" in message
    assert "grant the user REPLICATION CLIENT (MariaDB: BINLOG MONITOR) and REPLICATION SLAVE" in message
    assert "--from-position FILE:POS" in message
