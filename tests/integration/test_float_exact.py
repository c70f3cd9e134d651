"""FLOAT and DOUBLE columns reach DynamoDB exactly, on real MariaDB + DynamoDB Local.

The server prints a FLOAT with 6 significant digits (``16777216`` -> ``16777200``, ``1024.125`` ->
``1024.12``); the view must not. The promised text (docs/views.md, "FLOAT and DOUBLE") is the shortest
decimal that reads back as the stored binary value *as a double*: for a FLOAT that is the float32
widened to a double (``0.1`` is stored as 0.100000001490116119384765625 -> ``0.10000000149011612``).
The expectations are computed here from the Python literals inserted (``struct`` gives the float32),
never from the view, the encoder or the server's printing.
"""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _etl_expect import make_config

from dynamigrate.contract import parse_contract
from dynamigrate.evaluate import Evaluator
from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration

# id -> (FLOAT value, DOUBLE value); None is NULL
VALUES: dict[int, tuple[float | None, float | None]] = {
    1: (16777216.0, 16777216.0),
    2: (1024.125, 0.1),
    3: (0.1, 0.30000000000000004),
    4: (123456789.0, 123456789.123456789),
    5: (3.14159, -2.5e-10),
    6: (-3.4028234663852886e38, 1e22),
    7: (1.17549435e-38, 12345678.9),
    8: (None, None),
    9: (-0.0, 7.0),
    10: (2.5, 4503599627370497.0),
    # 24 characters of text (-0.000009999999747378752): MariaDB declares 22, a UNION ALL cut them
    11: (-1e-5, -1.2345678901234567e-5),
}


def _float32(value: float) -> float:
    """The float a MySQL FLOAT column stores for ``value`` (IEEE single precision), as a double."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _text(value: float) -> str:
    """The shortest decimal that reads back as ``value`` (Python's repr), without '.0' or 'e+'."""
    return "0" if value == 0 else format(Decimal(repr(value)).normalize(), "f")


def _s_text(value: float) -> str:
    """S from a double: its shortest digits (repr), an integer without '.0', exponent as '1e38'."""
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if 1e-15 <= abs(value) < 1e-4:  # the server writes these without an exponent (0.00001...)
        return format(Decimal(repr(value)), "f")
    return repr(value).replace("e+", "e")


def _contract_data(prefix: str) -> dict[str, Any]:
    return {
        "tables": [
            {
                "table": f"{prefix}Floats",
                "type": "single-entity",
                "source_table": "measures",
                "pk": "PK",
                "attributes": [
                    {
                        "name": "PK",
                        "type": "S",
                        "source_column": "id",
                        "transformation": {"type": "string-format", "format": "M#{id}"},
                    },
                    {"name": "f", "type": "N", "source_column": "f"},
                    {"name": "d", "type": "N", "source_column": "d"},
                    {
                        "name": "f_text",
                        "type": "S",
                        "source_column": "f",
                        "transformation": {"type": "string-format", "format": "{f}"},
                    },
                    {
                        "name": "doc",
                        "type": "M",
                        "source_column": "id",
                        "join": {
                            "type": "json-construction",
                            "target_table": "measures",
                            "join_condition": "measures.id = measures.id",
                            "construction": {
                                "type": "object",
                                "select_columns": {"f": "measures.f", "d": "measures.d"},
                            },
                        },
                    },
                ],
            }
        ]
    }


def _expected() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i, (f, d) in VALUES.items():
        item: dict[str, Any] = {"PK": {"S": f"M#{i}"}}
        doc: dict[str, Any] = {}
        if f is not None:
            f_text = _text(_float32(f))
            item["f"] = {"N": f_text}
            item["f_text"] = {"S": _s_text(_float32(f))}
            doc["f"] = {"N": f_text}
        else:
            doc["f"] = {"NULL": True}
        if d is not None:
            item["d"] = {"N": _text(d)}
            doc["d"] = {"N": _text(d)}
        else:
            doc["d"] = {"NULL": True}
        item["doc"] = {"M": doc}
        out[f"M#{i}"] = item
    return out


def _setup(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE measures (id INT PRIMARY KEY, f FLOAT NULL, d DOUBLE NULL)")
        cur.executemany(
            "INSERT INTO measures VALUES (%s, %s, %s)", [(i, f, d) for i, (f, d) in VALUES.items()]
        )
    conn.commit()


def test_float_and_double_land_exactly(
    mysql_conn: Any,
    mysql_db: str,
    mysql_settings: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
) -> None:
    _setup(mysql_conn)
    data = _contract_data(ddb_prefix)
    contract_path = tmp_path / "contract.json"
    contract_path.write_text(json.dumps(data), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract_path)

    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert summary.status == "ok", summary.render_text()

    resp = ddb_client.scan(TableName=f"{ddb_prefix}Floats", ConsistentRead=True)
    actual = {it["PK"]["S"]: {k: v for k, v in it.items() if k != "_dm_marker"} for it in resp["Items"]}
    expected = _expected()
    assert actual == expected
    assert actual["M#1"]["f"] == {"N": "16777216"} and actual["M#2"]["f"] == {"N": "1024.125"}
    assert actual["M#3"]["f"] == {"N": "0.10000000149011612"}

    # the reference evaluator (validation) reads the same values
    contract, problems = parse_contract(_contract_data(ddb_prefix))
    assert contract is not None and not problems.errors, problems

    def factory() -> Any:
        return pymysql.connect(
            **{**mysql_settings.connect_kwargs(), "database": mysql_db, "autocommit": True}
        )

    with Evaluator(factory, contract, f"{ddb_prefix}Floats") as ev:
        evaluated = {r.item["PK"]["S"]: r.item for r in ev.iter_items(None, 3) if r.ok}
    assert evaluated == expected


def test_evaluator_prints_doubles_as_the_server(mysql_conn: Any) -> None:
    """S from a DOUBLE/FLOAT: the evaluator's text (validation) equals the server's for 3,000 values
    spread over the whole range (the boundaries of the written-out form included)."""
    import random

    from dynamigrate.evaluate.values import double_text

    rng = random.Random(20261130)
    doubles = [1e15, 1e-15, 1e-16, 999999999999999.0, 1e16 - 2, 5e-324, 1.7976931348623157e308]
    doubles += [rng.uniform(-1, 1) * 10 ** rng.randint(-40, 40) for _ in range(2000)]
    doubles += [float(rng.randint(-(10**17), 10**17)) for _ in range(500)]
    floats = [_float32(rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)) for _ in range(500)]
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE dbl (id INT PRIMARY KEY, d DOUBLE NULL, f FLOAT NULL)")
        rows = [(i, d, None) for i, d in enumerate(doubles)]
        rows += [(len(doubles) + i, None, f) for i, f in enumerate(floats)]
        cur.executemany("INSERT INTO dbl VALUES (%s, %s, %s)", rows)
        cur.execute("SELECT id, CAST(d AS CHAR), CAST(CAST(f AS DOUBLE) AS CHAR) FROM dbl ORDER BY id")
        server = {i: (d if d is not None else f) for i, d, f in cur.fetchall()}
    mine = {i: double_text(d if d is not None else f) for i, d, f in rows}
    assert {i: t for i, t in mine.items() if server[i] != t} == {}


def test_every_digit_survives_the_union_of_a_multi_entity_view(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """The same attributes as one entity of a multi-entity table: its view is a UNION ALL, which cut
    a DOUBLE's text to the 22 characters MariaDB declares for it (-0.0000099999997473787)."""
    _setup(mysql_conn)
    single = _contract_data(ddb_prefix)["tables"][0]
    attrs = [a for a in single["attributes"] if a["name"] != "doc"]
    other = {
        "entity_type": "OTHER",
        "source_table": "measures",
        "attributes": [
            {
                "name": "PK",
                "type": "S",
                "source_column": "id",
                "transformation": {"type": "string-format", "format": "O#{id}"},
            }
        ],
    }
    table = {
        "table": f"{ddb_prefix}Floats",
        "type": "multi-entity",
        "source_table": "measures",
        "pk": "PK",
        "entities": [{"entity_type": "MEASURE", "source_table": "measures", "attributes": attrs}, other],
    }
    contract_path = tmp_path / "contract.json"
    contract_path.write_text(json.dumps({"tables": [table]}), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract_path)

    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert summary.status == "ok", summary.render_text()
    items = ddb_client.scan(TableName=f"{ddb_prefix}Floats", ConsistentRead=True)["Items"]
    actual = {it["PK"]["S"]: {k: v for k, v in it.items() if k != "_dm_marker"} for it in items}
    expected = {k: {n: v for n, v in item.items() if n != "doc"} for k, item in _expected().items()}
    assert {k: v for k, v in actual.items() if k.startswith("M#")} == expected
    assert actual["M#11"]["f"] == {"N": "-0.000009999999747378752"}
    assert actual["M#11"]["d"] == {"N": "-0.000012345678901234568"}
