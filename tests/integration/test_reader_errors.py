"""The streaming reader translates driver errors like every other MySQL boundary (source.connect)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dynamigrate import troubleshoot
from dynamigrate.config import Secret
from dynamigrate.errors import SourceError
from dynamigrate.source.reader import ViewReader

pytestmark = pytest.mark.integration


def test_missing_view_error_carries_mysql_errno_and_guidance(mysql_settings: Any, mysql_db: str) -> None:
    reader = ViewReader(mysql_settings, "no_such_view", database=mysql_db)
    with reader, pytest.raises(SourceError) as info:
        _ = reader.columns
    err = info.value
    assert err.where["mysql_errno"] == 1146
    assert err.where["view"] == "no_such_view"
    assert "reading view failed" in err.message
    assert err.hint
    assert not err.transient
    assert troubleshoot.lookup(err) is not None  # the catalogue keys on mysql_errno


def test_bad_password_never_appears_and_is_not_retried(mysql_settings: Any, mysql_db: str) -> None:
    bad = dataclasses.replace(mysql_settings, password=Secret("wrong-password-xyz"))
    reader = ViewReader(bad, "v", database=mysql_db)
    with reader, pytest.raises(SourceError) as info:
        _ = reader.columns
    err = info.value
    assert err.where["mysql_errno"] == 1045
    assert not err.transient
    assert "wrong-password-xyz" not in str(err)
