"""An unseen source through the README flow: a clinic keyed by BINARY(16) ids (no sample-shop shapes).

Patients keyed by BINARY(16) with every column type (BIT(8) as a number, BIT(1) as BOOL, FLOAT, DOUBLE,
DECIMAL(38,10) at its maximum, BIGINT UNSIGNED at 2^64-1, ENUM, SET, JSON, TIMESTAMP(3), negative
TIME, VARBINARY, utf8mb4 outside the BMP, a 450 KB text), visits keyed by (VARCHAR, DATETIME(6)) in
the same multi-entity table with a filter, a denormalised name, COUNT/SUM and an ordered, limited
JSON array; devices keyed by a VARBINARY (a DynamoDB B key, an empty one rejected); events without any
key (NULL key parts, JSON that is no object). The items are compared with items written by hand from
the rows below; then a sync ``--delete-missing`` round and its rollback on the binary keys.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration._etl_expect import make_config

from dynamigrate.cli import main

pytestmark = pytest.mark.integration

P1 = "00112233445566778899AABBCCDDEEFF"
P2 = "00000000000000000000000000000000"
P3 = "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
P4 = "0A0D09225C27000000000000000000FF"

SOURCE = [
    "CREATE TABLE patients (id BINARY(16) PRIMARY KEY, code VARCHAR(20) NOT NULL UNIQUE,"
    " name VARCHAR(200) NOT NULL, dob DATE NULL, flags BIT(8) NULL, vip BIT(1) NULL, weight FLOAT NULL,"
    " height DOUBLE NULL, balance DECIMAL(38,10) NULL, visits_total BIGINT UNSIGNED NULL,"
    " blood ENUM('A','B','AB','O') NULL, allergies SET('nuts','milk','pollen') NULL, prefs JSON NULL,"
    " notes LONGTEXT NULL, photo VARBINARY(64) NULL, created_ts TIMESTAMP(3) NULL DEFAULT NULL, wake TIME NULL)",
    "CREATE TABLE visits (clinic VARCHAR(10) NOT NULL, visited_at DATETIME(6) NOT NULL,"
    " patient_id BINARY(16) NOT NULL, cost DECIMAL(38,10) NULL, duration TIME(3) NULL,"
    " status ENUM('open','closed','cancelled') NULL, doctor VARCHAR(50) NULL, PRIMARY KEY (clinic, visited_at))",
    "CREATE TABLE events (happened DATETIME NULL, kind VARCHAR(20) NULL, payload JSON NULL, patient_code VARCHAR(20) NULL)",
    "CREATE TABLE devices (serial VARBINARY(8) PRIMARY KEY, counter BIGINT UNSIGNED NOT NULL, ratio DOUBLE NULL,"
    " patient_id BINARY(16) NULL)",
    f"INSERT INTO patients VALUES (UNHEX('{P1}'),'P-001','Zoë 😀 𝄞 Ω','1980-02-29',b'10100101',b'1',72.5,1.8,"
    " 9999999999999999999999999999.9999999999,18446744073709551615,'AB','nuts,pollen',"
    ' \'{"lang":"fr","n":[1,2.5,null],"deep":{"x":true,"big":12345678901234567890123}}\',\'plain\','
    " UNHEX('00FF00'),'2024-02-29 12:34:56.789','-838:59:59'),"
    f" (UNHEX('{P2}'),'P-002','',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL),"
    f" (UNHEX('{P3}'),'P-003','Big Notes',NULL,b'0',b'0',0,0,0,0,'O','','{{}}',REPEAT('x',450000),'',NULL,'00:00:00'),"
    f" (UNHEX('{P4}'),'P-004','Tab\\there \"q\" \\\\ back''s',NULL,b'0',b'0',1.1,0.30000000000000004,"
    " -0.0000000001,0,'O','milk','{\"a\":\"\",\"b\":[]}','','',NULL,'-00:00:01')",
    "INSERT INTO visits VALUES"
    f" ('C1','2024-01-01 00:00:00.000000',UNHEX('{P1}'),10.5,'01:30:00.500','open','dr_who'),"
    f" ('C1','2024-01-01 00:00:00.000001',UNHEX('{P1}'),0.0000000001,'-00:00:01.000','closed',NULL),"
    f" ('C2','2024-01-01 00:00:00.000000',UNHEX('{P1}'),NULL,NULL,NULL,''),"
    f" ('ÄÖ','2023-06-30 23:59:59.999999',UNHEX('{P2}'),99999999999999999999999999.9999999999,'838:59:59',"
    "  'cancelled','dr_no'),"
    f" ('ÄÖ','2023-07-01 00:00:00.000000',UNHEX('{P2}'),-5,'00:00:00','open','dr_no'),"
    " ('C3','2024-05-05 05:05:05.000000',UNHEX('DEADDEADDEADDEADDEADDEADDEADDEAD'),1,'00:10:00','open','dr_who')",
    "INSERT INTO events VALUES"
    ' (\'2024-01-01 10:00:00\',\'login\',\'{"ip":"1.2.3.4","tags":["a","b"]}\',\'P-001\'),'
    " ('2024-01-01 10:00:01','login','{\"ip\":\"::1\"}','P-002'), (NULL,'boot','{}','P-002'),"
    " ('2024-01-02 00:00:00','bad',NULL,NULL), ('2024-01-03 00:00:00','arr','[1,2]','P-001'),"
    " ('2024-01-04 00:00:00','nulljson','null','P-001'), ('2024-01-05 00:00:00','','{\"k\":\"😀\"}','P-004')",
    "INSERT INTO devices VALUES"
    f" (UNHEX('0001'),18446744073709551615,1e-300,UNHEX('{P1}')), (UNHEX('00'),0,NULL,NULL),"
    f" (UNHEX('0000'),1,-0.0,UNHEX('{P3}')), (UNHEX('FF'),5,1.7976931348623157e308,UNHEX('{P4}')), ('',7,2.5,NULL)",
]


def _a(name: str, typ: str, table: str, col: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": typ, "source_table": table, "source_column": col, **kw}


def _sf(fmt: str) -> dict[str, str]:
    return {"type": "string-format", "format": fmt}


def _fk(target: str, cond: str, select: str) -> dict[str, str]:
    return {"type": "foreign-key", "target_table": target, "join_condition": cond, "select_column": select}


def _agg(op: str, col: str) -> dict[str, str]:
    cond = "visits.patient_id = patients.id"
    return {
        "type": "aggregate",
        "target_table": "visits",
        "join_condition": cond,
        "operation": op,
        "select_column": col,
    }


def contract(prefix: str) -> dict[str, Any]:
    p, v = "patients", "visits"
    patient = {
        "entity_type": "PATIENT",
        "source_table": p,
        "pk_template": "PAT#{code}",
        "sk_template": "#PROFILE",
        "attributes": [
            _a("PK", "S", p, "code", transformation=_sf("PAT#{code}")),
            _a("SK", "S", p, "code", transformation=_sf("#PROFILE")),
            _a("entity", "S", p, "code", transformation={"type": "static", "value": "PATIENT"}),
            _a("patient_id", "B", p, "id"),
            _a("name", "S", p, "name"),
            _a("dob", "S", p, "dob"),
            _a("dob_month", "S", p, "dob", transformation={"type": "date-format", "format": "YYYY/MM"}),
            _a("flags", "N", p, "flags"),
            _a("vip", "BOOL", p, "vip"),
            _a("weight", "N", p, "weight"),
            _a("height", "N", p, "height"),
            _a("balance", "N", p, "balance"),
            _a("visits_total", "N", p, "visits_total"),
            _a("blood", "S", p, "blood"),
            _a("allergies", "SS", p, "allergies"),
            _a("prefs", "M", p, "prefs", transformation={"type": "json-parse"}),
            _a("notes", "S", p, "notes"),
            _a("photo", "B", p, "photo"),
            _a("created_ts", "S", p, "created_ts"),
            _a("wake", "S", p, "wake"),
            _a(
                "standing",
                "S",
                p,
                "balance",
                calculation={
                    "type": "case",
                    "cases": [
                        {"when": "balance < 0", "then": "'debtor'"},
                        {"when": "balance IS NULL", "then": "'unknown'"},
                    ],
                    "else": "'ok'",
                },
            ),
            # BIT and BINARY members of a document: the number, base64 (raw bytes are no JSON text)
            _a(
                "card",
                "M",
                p,
                "id",
                join={
                    "type": "json-construction",
                    "target_table": p,
                    "join_condition": "patients.id = patients.id",
                    "construction": {
                        "type": "object",
                        "select_columns": {"flags": "flags", "vip": "vip", "photo": "photo", "id": "id"},
                    },
                },
            ),
            _a("visit_count", "N", p, "id", calculation=_agg("COUNT", "visits.clinic")),
            _a("cost_sum", "N", p, "id", calculation=_agg("SUM", "visits.cost")),
            _a(
                "recent_visits",
                "L",
                p,
                "id",
                join={
                    "type": "json-construction",
                    "target_table": v,
                    "join_condition": "visits.patient_id = patients.id",
                    "construction": {
                        "type": "array",
                        "select_columns": {
                            "clinic": "clinic",
                            "at": "visited_at",
                            "cost": "cost",
                            "dur": "duration",
                        },
                        "order_by": "visited_at DESC, clinic",
                        "limit": 3,
                    },
                },
            ),
        ],
    }
    on_patient = "patients.id = visits.patient_id"
    visit = {
        "entity_type": "VISIT",
        "source_table": v,
        "pk_template": "PAT#{code}",
        "sk_template": "VISIT#{visited_at}#{clinic}",
        "filter": "status IS NULL OR status <> 'cancelled'",
        "attributes": [
            _a("PK", "S", v, "patient_id", join=_fk(p, on_patient, "CONCAT('PAT#', patients.code)")),
            _a("SK", "S", v, "visited_at", transformation=_sf("VISIT#{visited_at}#{clinic}")),
            _a("entity", "S", v, "clinic", transformation={"type": "static", "value": "VISIT"}),
            _a("clinic", "S", v, "clinic"),
            _a("cost", "N", v, "cost"),
            _a("cost_fmt", "S", v, "cost", transformation={"type": "number-format", "format": "0.00"}),
            _a("duration", "S", v, "duration"),
            _a("status", "S", v, "status"),
            _a(
                "patient_name",
                "S",
                v,
                "patient_id",
                join=_fk(p, on_patient, "patients.name"),
                denormalized=True,
            ),
            _a("GSI1PK", "S", v, "doctor"),
            _a("GSI1SK", "S", v, "visited_at"),
        ],
    }
    clinic = {
        "table": f"{prefix}Clinic",
        "type": "multi-entity",
        "source_table": p,
        "pk": "PK",
        "sk": "SK",
        "gsis": [
            {
                "index_name": "ByDoctor",
                "pk": "GSI1PK",
                "sk": "GSI1SK",
                "projection": "INCLUDE",
                "projected_attributes": ["clinic", "cost"],
            }
        ],
        "entities": [patient, visit],
    }
    on_device = "patients.id = devices.patient_id"
    devices = {
        "table": f"{prefix}Devices",
        "type": "single-entity",
        "source_table": "devices",
        "pk": "serial",
        "gsis": [{"index_name": "ByOwner", "pk": "owner_code", "projection": "KEYS_ONLY"}],
        "attributes": [
            _a("serial", "B", "devices", "serial"),
            _a("counter", "N", "devices", "counter"),
            _a(
                "counter_padded",
                "S",
                "devices",
                "counter",
                transformation={"type": "number-format", "format": "0" * 10},
            ),
            _a("ratio", "N", "devices", "ratio"),
            _a("owner_code", "S", "devices", "patient_id", join=_fk(p, on_device, "patients.code")),
            _a("owner_name", "S", "devices", "patient_id", join=_fk(p, on_device, "patients.name")),
        ],
    }
    events = {
        "table": f"{prefix}Events",
        "type": "single-entity",
        "source_table": "events",
        "pk": "who",
        "sk": "when_kind",
        "attributes": [
            _a("who", "S", "events", "patient_code"),
            _a("when_kind", "S", "events", "happened", transformation=_sf("{happened}#{kind}")),
            _a("payload", "M", "events", "payload", transformation={"type": "json-parse"}),
            _a("kind", "S", "events", "kind"),
            _a(
                "day",
                "S",
                "events",
                "happened",
                transformation={"type": "date-format", "format": "YYYY-MM-DD"},
            ),
        ],
    }
    return {"tables": [clinic, devices, events]}


_P1_VISITS = [
    {"at": "2024-01-01 00:00:00.000001", "clinic": "C1", "cost": "0.0000000001", "dur": "-00:00:01.000"},
    {"at": "2024-01-01 00:00:00.000000", "clinic": "C1", "cost": "10.5", "dur": "01:30:00.500"},
    {"at": "2024-01-01 00:00:00.000000", "clinic": "C2", "cost": None, "dur": None},
]
_P2_VISITS = [
    {"at": "2023-07-01 00:00:00.000000", "clinic": "ÄÖ", "cost": "-5", "dur": "00:00:00.000"},
    {
        "at": "2023-06-30 23:59:59.999999",
        "clinic": "ÄÖ",
        "cost": "99999999999999999999999999.9999999999",
        "dur": "838:59:59.000",
    },
]
_VISIT = {"entity": "VISIT", "patient_name": "Zoë 😀 𝄞 Ω"}

EXPECTED: dict[str, list[dict[str, Any]]] = {
    # P-003 (450 KB of notes) and the visit of a patient that does not exist are rejected; the
    # cancelled visit is filtered
    "Clinic": [
        {
            "PK": "PAT#P-001",
            "SK": "#PROFILE",
            "allergies": ["nuts", "pollen"],
            "balance": "9999999999999999999999999999.9999999999",
            "blood": "AB",
            "card": {
                "flags": "165",
                "vip": "1",
                "photo": "AP8A",
                "id": base64.b64encode(bytes.fromhex(P1)).decode(),
            },
            "cost_sum": "10.5000000001",
            "created_ts": "2024-02-29 12:34:56.789",
            "dob": "1980-02-29",
            "dob_month": "1980/02",
            "entity": "PATIENT",
            "flags": "165",  # BIT(8) b'10100101' as N: its number, not the raw byte
            "height": "1.8",
            "name": "Zoë 😀 𝄞 Ω",
            "notes": "plain",
            "patient_id": bytes.fromhex(P1),
            "photo": b"\x00\xff\x00",
            "prefs": {
                "deep": {"big": "12345678901234567890123", "x": True},
                "lang": "fr",
                "n": ["1", "2.5", None],
            },
            "recent_visits": _P1_VISITS,
            "standing": "ok",
            "vip": True,
            "visit_count": "3",
            "visits_total": "18446744073709551615",
            "wake": "-838:59:59",
            "weight": "72.5",
        },
        {
            **_VISIT,
            "GSI1PK": "dr_who",
            "GSI1SK": "2024-01-01 00:00:00.000000",
            "PK": "PAT#P-001",
            "SK": "VISIT#2024-01-01 00:00:00.000000#C1",
            "clinic": "C1",
            "cost": "10.5",
            "cost_fmt": "10.50",
            "duration": "01:30:00.500",
            "status": "open",
        },
        {  # doctor '': no GSI1PK (the item is not in ByDoctor)
            **_VISIT,
            "GSI1SK": "2024-01-01 00:00:00.000000",
            "PK": "PAT#P-001",
            "SK": "VISIT#2024-01-01 00:00:00.000000#C2",
            "clinic": "C2",
        },
        {
            **_VISIT,
            "GSI1SK": "2024-01-01 00:00:00.000001",
            "PK": "PAT#P-001",
            "SK": "VISIT#2024-01-01 00:00:00.000001#C1",
            "clinic": "C1",
            "cost": "0.0000000001",
            "cost_fmt": "0.00",
            "duration": "-00:00:01.000",
            "status": "closed",
        },
        {
            "PK": "PAT#P-002",
            "SK": "#PROFILE",
            "card": {"flags": None, "vip": None, "photo": None, "id": "AAAAAAAAAAAAAAAAAAAAAA=="},
            "cost_sum": "99999999999999999999999994.9999999999",
            "entity": "PATIENT",
            "name": "",
            "patient_id": bytes(16),
            "recent_visits": _P2_VISITS,
            "standing": "unknown",
            "visit_count": "2",
        },
        {
            "GSI1PK": "dr_no",
            "GSI1SK": "2023-07-01 00:00:00.000000",
            "PK": "PAT#P-002",
            "SK": "VISIT#2023-07-01 00:00:00.000000#ÄÖ",
            "clinic": "ÄÖ",
            "cost": "-5",
            "cost_fmt": "-5.00",
            "duration": "00:00:00.000",
            "entity": "VISIT",
            "patient_name": "",
            "status": "open",
        },
        {
            "PK": "PAT#P-004",
            "SK": "#PROFILE",
            "allergies": ["milk"],
            "balance": "-0.0000000001",
            "blood": "O",
            "card": {
                "flags": "0",
                "vip": "0",
                "photo": "",
                "id": base64.b64encode(bytes.fromhex(P4)).decode(),
            },
            "entity": "PATIENT",
            "flags": "0",
            "height": "0.30000000000000004",
            "name": 'Tab\there "q" \\ back\'s',
            "notes": "",
            "patient_id": bytes.fromhex(P4),
            "photo": b"",
            "prefs": {"a": "", "b": []},
            "recent_visits": [],
            "standing": "debtor",
            "vip": False,
            "visit_count": "0",
            "visits_total": "0",
            "wake": "-00:00:01",
            "weight": "1.100000023841858",  # the FLOAT's binary value (docs/views.md, FLOAT and DOUBLE)
        },
    ],
    # 0x0001 and 0xFF: DOUBLE out of DynamoDB's range; '': empty key
    "Devices": [
        {"counter": "0", "counter_padded": "0000000000", "serial": b"\x00"},
        {
            "counter": "1",
            "counter_padded": "0000000001",
            "owner_code": "P-003",
            "owner_name": "Big Notes",
            "ratio": "0",
            "serial": b"\x00\x00",
        },
    ],
    "Events": [
        {
            "day": "2024-01-01",
            "kind": "login",
            "payload": {"ip": "1.2.3.4", "tags": ["a", "b"]},
            "when_kind": "2024-01-01 10:00:00#login",
            "who": "P-001",
        },
        {
            "day": "2024-01-01",
            "kind": "login",
            "payload": {"ip": "::1"},
            "when_kind": "2024-01-01 10:00:01#login",
            "who": "P-002",
        },
        {
            "day": "2024-01-05",
            "kind": "",
            "payload": {"k": "😀"},
            "when_kind": "2024-01-05 00:00:00#",
            "who": "P-004",
        },
    ],
}

ACCEPT = "invalid_json,item_too_large,key_missing,not_numeric,number_range"


def _plain(v: dict[str, Any]) -> Any:
    """A low-level DynamoDB value as plain data: N as its exact stored text, B as bytes, sets sorted."""
    ((t, x),) = v.items()
    if t == "M":
        return {k: _plain(e) for k, e in x.items()}
    if t == "L":
        return [_plain(e) for e in x]
    if t in ("SS", "NS"):
        return sorted(x)
    if t == "NULL":
        return None
    return bytes(x) if t == "B" else x


def _items(ddb_client: Any, table: str) -> list[dict[str, Any]]:
    items = []
    for page in ddb_client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            items.append({k: _plain(v) for k, v in raw.items() if k != "_dm_marker"})
    return sorted(items, key=lambda d: repr([d.get(k) for k in ("PK", "SK", "serial", "who", "when_kind")]))


def _runs(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "runs").iterdir() if (p / "report.json").exists())


def test_clinic_binary_keys_every_type_sync_and_rollback(
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    with mysql_conn.cursor() as cur:
        for statement in SOURCE:
            cur.execute(statement)
    mysql_conn.commit()
    path = tmp_path / "clinic-contract.json"
    path.write_text(json.dumps(contract(ddb_prefix), ensure_ascii=False), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, path)

    assert main(["contract", "check", str(path), "--config", str(cfg)]) == 0
    sql = tmp_path / "views.sql"
    argv = [
        "views",
        "generate",
        "-c",
        str(path),
        "--all",
        "--config",
        str(cfg),
        "--schema-from-db",
        "-o",
        str(sql),
    ]
    assert main(argv) == 0
    assert main(["views", "apply", str(sql), "--config", str(cfg)]) == 0
    capsys.readouterr()

    assert main(["preflight", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert "P140" not in out  # BIT(8) into N is a number
    assert f"ERROR   P150 item_too_large: {ddb_prefix}Clinic/PATIENT: 1 row(s)" in out
    assert f"ERROR   P120 key_missing: {ddb_prefix}Devices.serial: 1 row(s)" in out

    assert main(["migrate", "--config", str(cfg), "--accept", ACCEPT]) == 0
    capsys.readouterr()
    for name, expected in EXPECTED.items():
        assert _items(ddb_client, f"{ddb_prefix}{name}") == expected, name
    (first,) = _runs(tmp_path)
    report = json.loads((first / "report.json").read_text(encoding="utf-8"))
    equations = {t["name"].removeprefix(ddb_prefix): t["accounting"]["equation"] for t in report["tables"]}
    assert equations == {
        "Clinic": "10 source rows = written 7 + skipped 0 + conflicts 0 + rejected 2 + filtered 1",
        "Devices": "5 source rows = written 2 + skipped 0 + conflicts 0 + rejected 3 + filtered 0",
        "Events": "7 source rows = written 3 + skipped 0 + conflicts 0 + rejected 4 + filtered 0",
    }
    rejected = [
        json.loads(line) for line in (first / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert sorted((r["table"].removeprefix(ddb_prefix), r["code"]) for r in rejected) == [
        ("Clinic", "null_key"),
        ("Clinic", "too_large"),
        ("Devices", "bad_number"),
        ("Devices", "bad_number"),
        ("Devices", "empty_key"),
        ("Events", "bad_json"),
        ("Events", "bad_json"),
        ("Events", "null_key"),
        ("Events", "null_key"),
    ]
    assert main(["validate", "--config", str(cfg), "--full"]) == 0
    assert capsys.readouterr().out.count("differing 0") == 3

    # rollback reads the binary keys back from written/<T>.jsonl (base64 there)
    assert main(["rollback", first.name, "--config", str(cfg), "--dry-run"]) == 0
    assert f"{ddb_prefix}Devices: 2 item(s) written by the run: would delete 2" in capsys.readouterr().out

    # the source moves on; sync --delete-missing follows; its rollback puts back what it deleted too
    with mysql_conn.cursor() as cur:
        cur.execute("UPDATE devices SET counter = 42 WHERE serial = UNHEX('00')")
        cur.execute("DELETE FROM devices WHERE serial = UNHEX('0000')")
        cur.execute("DELETE FROM events WHERE kind = ''")
    mysql_conn.commit()
    argv = ["migrate", "--config", str(cfg), "--write-mode", "sync", "--delete-missing", "--accept", ACCEPT]
    assert main(argv) == 0
    capsys.readouterr()
    assert _items(ddb_client, f"{ddb_prefix}Devices") == [
        {"counter": "42", "counter_padded": "0000000042", "serial": b"\x00"}
    ]
    assert len(_items(ddb_client, f"{ddb_prefix}Events")) == 2
    second = _runs(tmp_path)[1]
    assert main(["rollback", second.name, "--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert f"{ddb_prefix}Events: 0 item(s) written by the run" in out
    assert "of 1 item(s) the run deleted, put back 1" in out
    for name in ("Devices", "Events"):
        assert _items(ddb_client, f"{ddb_prefix}{name}") == EXPECTED[name], name
