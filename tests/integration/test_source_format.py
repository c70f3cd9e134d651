"""date-format ``source_format`` on real MariaDB: every documented name and a token pattern, the exact
rows of the view (text that does not have the shape is NULL, never a wrong date), whatever the session's
time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dynamigrate.contract import parse_contract
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views

pytestmark = pytest.mark.integration

FMT = "YYYY-MM-DD HH:mm:ss"


def _epoch(dt: datetime) -> int:
    return int((dt - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())


T1 = datetime(2024, 1, 5, 8, 9, 10, tzinfo=UTC)

ROWS = [
    # id, d, dt, iso, epoch_s, epoch_ms, epoch_txt, custom, real_dt
    (
        1,
        "2024-01-05",
        "2024-01-05 08:09:10",
        "2024-01-05T08:09:10Z",
        _epoch(T1),
        _epoch(T1) * 1000 + 123,
        str(_epoch(T1)),
        "05/01/2024 08:09",
        "2024-01-05 08:09:10",
    ),
    (
        2,
        " 1999-12-31 ",
        "1999-12-31 23:59:59",
        "2024-01-05T08:09:10+02:00",
        -1,
        -1500,
        "-1",
        "31/12/1999 23:59",
        None,
    ),
    (3, "2024-02-29", "2024-02-29 00:00:00", "2024-01-05", 0, 0, "0", "29/02/2024 00:00", None),
    (4, None, None, "2024-01-05 23:30-0130", None, None, None, None, None),
    (
        5,
        "05.01.2024",
        "2024-01-05T08:09:10",
        "2024-01-05T08:09:10.123456+05",
        None,
        None,
        "12abc",
        "2024-01-05",
        None,
    ),
    (6, "not a date 😀", "", "2024-13-45T99:99", None, None, "", "", None),
    # dates that do not exist: NULL on MariaDB too (its STR_TO_DATE alone would keep them)
    (
        7,
        "2024-02-30",
        "2023-02-29 10:00:00",
        "2024-02-30T10:00:00Z",
        None,
        None,
        None,
        "31/04/2024 10:00",
        None,
    ),
]


def _contract() -> Any:
    def attr(name: str, column: str, source_format: str | None) -> dict[str, Any]:
        t: dict[str, Any] = {"type": "date-format", "format": FMT}
        if source_format is not None:
            t["source_format"] = source_format
        return {"name": name, "type": "S", "source_column": column, "transformation": t}

    data = {
        "tables": [
            {
                "table": "Events",
                "type": "single-entity",
                "source_table": "events",
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_column": "id"},
                    attr("v_date", "d", "date"),
                    attr("v_datetime", "dt", "datetime"),
                    attr("v_iso", "iso", "iso8601"),
                    attr("v_epoch", "epoch_s", "epoch"),
                    attr("v_epoch_ms", "epoch_ms", "epoch_ms"),
                    attr("v_epoch_text", "epoch_txt", "EPOCH"),
                    attr("v_pattern", "custom", "DD/MM/YYYY HH:mm"),
                    attr("v_real", "real_dt", "iso8601"),
                ],
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    return contract


def test_every_source_format_name_reads_exactly(mysql_conn: Any, mysql_db: str) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute(
            """CREATE TABLE events (
                 id INT NOT NULL PRIMARY KEY, d VARCHAR(40) NULL, dt VARCHAR(40) NULL,
                 iso VARCHAR(60) NULL, epoch_s BIGINT NULL, epoch_ms BIGINT NULL,
                 epoch_txt VARCHAR(40) NULL, custom VARCHAR(40) NULL, real_dt DATETIME NULL
               ) DEFAULT CHARSET=utf8mb4"""
        )
        cur.executemany("INSERT INTO events VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", ROWS)
    mysql_conn.commit()
    views = generate_views(_contract(), dialect="mariadb", schema=introspect(mysql_conn, mysql_db))
    # a DATETIME column is a date already: its source_format is not applied, and that is said
    assert any("source_format 'iso8601' not applied" in n for n in views.interpretations)
    with mysql_conn.cursor() as cur:
        cur.execute(views.statements[0].sql)
        # epoch values never depend on the session's time zone
        cur.execute("SET time_zone = '+05:00'")
        cur.execute(
            "SELECT _dm_rowid, v_date, v_datetime, v_iso, v_epoch, v_epoch_ms, v_epoch_text, v_pattern, "
            "v_real FROM ddb_events_view ORDER BY _dm_rowid"
        )
        got = [tuple(r) for r in cur.fetchall()]
    assert got == [
        (
            1,
            "2024-01-05 00:00:00",
            "2024-01-05 08:09:10",
            "2024-01-05 08:09:10",
            "2024-01-05 08:09:10",
            "2024-01-05 08:09:10",
            "2024-01-05 08:09:10",
            "2024-01-05 08:09:00",
            "2024-01-05 08:09:10",
        ),
        # the +02:00 offset is converted to UTC; -1500 ms is 1.5 s before the epoch
        (
            2,
            "1999-12-31 00:00:00",
            "1999-12-31 23:59:59",
            "2024-01-05 06:09:10",
            "1969-12-31 23:59:59",
            "1969-12-31 23:59:58",
            "1969-12-31 23:59:59",
            "1999-12-31 23:59:00",
            None,
        ),
        (
            3,
            "2024-02-29 00:00:00",
            "2024-02-29 00:00:00",
            "2024-01-05 00:00:00",
            "1970-01-01 00:00:00",
            "1970-01-01 00:00:00",
            "1970-01-01 00:00:00",
            "2024-02-29 00:00:00",
            None,
        ),
        (4, None, None, "2024-01-06 01:00:00", None, None, None, None, None),
        # text of another shape is NULL (preflight counts it), never a guessed date
        (5, None, None, "2024-01-05 03:09:10", None, None, None, None, None),
        (6, None, None, None, None, None, None, None, None),
        (7, None, None, None, None, None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("source_format", "fix"),
    [
        ("yyyy-mm-dd", "tokens"),
        ("%d/%m/%Y", "DD/MM/YYYY"),
        ("epoch_sec", "epoch"),
        ("unix time", "name"),
        ("YYYY-MM", "needs YYYY, MM and DD"),  # no day: every value would be NULL
    ],
)
def test_unknown_source_format_stops_generation(source_format: str, fix: str) -> None:
    from dynamigrate.contract.validate import validate_contract
    from dynamigrate.errors import ContractError

    data = {
        "tables": [
            {
                "table": "Events",
                "type": "single-entity",
                "source_table": "events",
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_column": "id"},
                    {
                        "name": "day",
                        "type": "S",
                        "source_column": "d",
                        "transformation": {
                            "type": "date-format",
                            "format": "YYYY",
                            "source_format": source_format,
                        },
                    },
                ],
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and problems == []
    (p,) = validate_contract(contract).errors
    assert (p.path, p.code) == ("tables[0].attributes[1].transformation.source_format", "C134")
    assert fix in (p.fix or "")
    with pytest.raises(ContractError) as err:
        generate_views(contract, dialect="mariadb")
    assert err.value.where.get("path") == "tables[0].attributes[1].transformation.source_format"


def test_iso8601_and_epoch_against_python_on_generated_values(mysql_conn: Any, mysql_db: str) -> None:
    """Generated ISO 8601 shapes (T or blank, minutes or seconds, fractions, every zone form) and epoch
    values: the view's reading equals Python's, converted to UTC."""
    import random
    from datetime import timedelta

    rng = random.Random(20261130)
    rows = []
    expected = {}
    for i in range(1, 301):
        moment = datetime(1971, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 2_000_000_000))
        minutes = rng.choice([0, 0, 30, 45, -30, 60, -60, 330, -570, 840, -720])
        zone_form = rng.choice(["none", "Z", "+HH:MM", "+HHMM", "+HH"])
        if zone_form == "+HH":
            minutes = minutes - minutes % 60 if minutes >= 0 else -((-minutes) - (-minutes) % 60)
        if zone_form in ("none", "Z"):
            minutes = 0
        local = moment + timedelta(minutes=minutes)
        sign = "-" if minutes < 0 else "+"
        hh, mm = divmod(abs(minutes), 60)
        zone = {
            "none": "",
            "Z": "Z",
            "+HH:MM": f"{sign}{hh:02d}:{mm:02d}",
            "+HHMM": f"{sign}{hh:02d}{mm:02d}",
            "+HH": f"{sign}{hh:02d}",
        }[zone_form]
        with_seconds = rng.random() < 0.7
        fraction = (
            f".{rng.randrange(0, 10**6):06d}"[: rng.randrange(2, 8)]
            if with_seconds and rng.random() < 0.4
            else ""
        )
        text = (
            local.strftime("%Y-%m-%d")
            + rng.choice(["T", " "])
            + local.strftime("%H:%M:%S" if with_seconds else "%H:%M")
            + fraction
            + zone
        )
        utc = (local - timedelta(minutes=minutes)).replace(tzinfo=None)
        if not with_seconds:
            utc = utc.replace(second=0)
        epoch_ms = rng.randrange(-2_000_000_000_000, 4_000_000_000_000)
        rows.append((i, text, epoch_ms // 1000, epoch_ms))
        epoch = datetime(1970, 1, 1)
        expected[i] = (
            utc.strftime("%Y-%m-%d %H:%M:%S"),
            (epoch + timedelta(seconds=epoch_ms // 1000)).strftime("%Y-%m-%d %H:%M:%S"),
            (epoch + timedelta(milliseconds=epoch_ms)).strftime("%Y-%m-%d %H:%M:%S"),
        )
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE gen (id INT NOT NULL PRIMARY KEY, iso VARCHAR(60), es BIGINT, ems BIGINT)"
            " DEFAULT CHARSET=utf8mb4"
        )
        cur.executemany("INSERT INTO gen VALUES (%s, %s, %s, %s)", rows)
    mysql_conn.commit()

    def attr(name: str, column: str, source_format: str) -> dict[str, Any]:
        t = {"type": "date-format", "format": FMT, "source_format": source_format}
        return {"name": name, "type": "S", "source_column": column, "transformation": t}

    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": "Gen",
                    "type": "single-entity",
                    "source_table": "gen",
                    "pk": "PK",
                    "attributes": [
                        {"name": "PK", "type": "S", "source_column": "id"},
                        attr("iso", "iso", "iso8601"),
                        attr("es", "es", "epoch"),
                        attr("ems", "ems", "epoch_ms"),
                    ],
                }
            ]
        }
    )
    assert contract is not None and not problems.errors
    views = generate_views(contract, dialect="mariadb", schema=introspect(mysql_conn, mysql_db))
    with mysql_conn.cursor() as cur:
        cur.execute(views.statements[0].sql)
        cur.execute("SELECT _dm_rowid, iso, es, ems FROM ddb_gen_view ORDER BY _dm_rowid")
        got = {int(r[0]): tuple(r[1:]) for r in cur.fetchall()}
    mismatches = {i: (rows[i - 1], got[i], expected[i]) for i in expected if got[i] != expected[i]}
    assert mismatches == {}


#: text MariaDB's STR_TO_DATE alone would read although it does not have the stated shape
#: (column -> source_format); each row: id, then one text per column
STRICT_COLUMNS = {
    "d": "date",
    "dt": "datetime",
    "dmy": "DD/MM/YYYY",
    "compact": "YYYYMMDD",
    "ymdhm": "YYYY-MM-DD HH:mm",
}
STRICT_ROWS = [
    (1, "2024-01-05", "2024-01-05 10:11:12", "5/1/2024", "20240105", "2024-01-05 10:11"),
    # partial, date alone, 2-digit year
    (2, "2024-01", "2024-01-05", "05/01/24", "2024015", "2024-01-05"),
    (3, "2024-02-30", "2024-02-30 10:00:00", "30/02/2024", "20240230", "2024-01-05 10:60"),  # no such day
    (4, "24-01-05", "24-01-05 10:11:12", "05/01/2024x", "202401051", ""),  # short year, trailing text
    (5, "2024-01-05x", "2024-01-05 10:11", "05-01-2024", "2024-01-05", None),  # other separators
    (6, "0000-01-05", "2024-01-05 24:00:00", "00/01/2024", "20240100", "2024-01-05 10:11:12"),
    (7, "2024-01-05\n", "2024-01-05T10:11:12", "05/01/2024\n", " 20240105 ", "2024-01-05 9:05"),
]


def _strict_contract() -> Any:
    attributes: list[dict[str, Any]] = [{"name": "PK", "type": "S", "source_column": "id"}]
    for column, source_format in STRICT_COLUMNS.items():
        t = {"type": "date-format", "format": FMT, "source_format": source_format}
        attributes.append({"name": f"v_{column}", "type": "S", "source_column": column, "transformation": t})
    data = {
        "tables": [
            {
                "table": "Strict",
                "type": "single-entity",
                "source_table": "strict_dates",
                "pk": "PK",
                "attributes": attributes,
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    return contract


def test_text_of_another_shape_is_null_in_views_evaluator_and_preflight(
    mysql_conn: Any, mysql_db: str, mysql_settings: Any
) -> None:
    """Partial dates, impossible days, two-digit years, a date alone under ``datetime``, trailing text:
    NULL in the view (never a guessed date), the same in the reference evaluator, and every one counted
    by preflight's P160 value_lost."""
    import pymysql

    from dynamigrate.evaluate import Evaluator
    from dynamigrate.validate.preflight import run_preflight

    columns = ", ".join(f"{c} VARCHAR(40) NULL" for c in STRICT_COLUMNS)
    with mysql_conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE strict_dates (id INT NOT NULL PRIMARY KEY, {columns}) DEFAULT CHARSET=utf8mb4"
        )
        cur.executemany("INSERT INTO strict_dates VALUES (%s, %s, %s, %s, %s, %s)", STRICT_ROWS)
    mysql_conn.commit()
    contract = _strict_contract()
    views = generate_views(contract, dialect="mariadb", schema=introspect(mysql_conn, mysql_db))
    names = ", ".join(f"v_{c}" for c in STRICT_COLUMNS)
    with mysql_conn.cursor() as cur:
        cur.execute(views.statements[0].sql)
        cur.execute(f"SELECT _dm_rowid, {names} FROM ddb_strict_view ORDER BY _dm_rowid")
        got = [tuple(r) for r in cur.fetchall()]
    day = "2024-01-05 00:00:00"
    assert got == [
        (1, day, "2024-01-05 10:11:12", day, day, "2024-01-05 10:11:00"),
        (2, None, None, None, day, None),  # YYYYMMDD: MM glued to DD is two digits, DD alone may be one
        (3, None, None, None, None, None),
        (4, None, None, None, None, None),
        (5, None, None, None, None, None),
        (6, None, None, None, None, None),
        (7, None, None, None, day, "2024-01-05 09:05:00"),  # blanks are trimmed, a newline is not
    ]

    def factory() -> Any:
        return pymysql.connect(
            **{**mysql_settings.connect_kwargs(), "database": mysql_db, "autocommit": True}
        )

    with Evaluator(factory, contract, "Strict") as ev:
        evaluated = {int(r.item["PK"]["S"]): r.item for r in ev.iter_items(None, 3) if r.ok}
    from_evaluator = [
        (i, *(evaluated[i].get(f"v_{c}", {}).get("S") for c in STRICT_COLUMNS)) for i in sorted(evaluated)
    ]
    assert from_evaluator == got

    report = run_preflight(mysql_conn, mysql_db, contract)
    lost = {f.attribute: f.count for f in report.find("value_lost")}
    # every non-NULL text that gave NULL, empty text included (counted by hand from STRICT_ROWS)
    expected = {"v_d": 6, "v_dt": 6, "v_dmy": 6, "v_compact": 4, "v_ymdhm": 4}
    assert lost == expected
    assert report.failed()
