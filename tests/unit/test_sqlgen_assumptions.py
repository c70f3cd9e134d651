"""The assumed-primary-key notes of an offline views file, read back and checked (pure logic)."""

from __future__ import annotations

from dynamigrate.sqlgen.assumptions import AssumedKey, assumed_keys, key_problems

FILE = """-- interpretations:
--   * Cats (tables[0].attributes[1].join.join_condition): assumed primary key cats.id (no schema given)
--   * Cats (tables[0].attributes[2].join.join_condition): assumed primary key cats.id (no schema given)
--   * Trees (tables[1].attributes[3].calculation.join_condition): assumed primary key tree nodes.id (no schema given)
--   * Cats (tables[0]): _dm_rowid assumed to be cats.id (no schema given)
CREATE OR REPLACE VIEW v AS SELECT 1;
"""


def test_notes_are_read_back() -> None:
    assert assumed_keys(FILE) == [
        AssumedKey("Cats", "tables[0].attributes[1].join.join_condition", "cats"),
        AssumedKey("Cats", "tables[0].attributes[2].join.join_condition", "cats"),
        AssumedKey("Trees", "tables[1].attributes[3].calculation.join_condition", "tree nodes"),
    ]


def test_every_shape_of_a_wrong_assumption() -> None:
    a = [AssumedKey("T", "p1", "ok"), AssumedKey("T", "p2", "Other"), AssumedKey("T", "p3", "comp"),
         AssumedKey("T", "p4", "nokey"), AssumedKey("T", "p5", "missing")]  # fmt: skip
    pks = [("OK", "ID"), ("other", "code"), ("comp", "id"), ("comp", "lang")]
    tables = ["ok", "other", "comp", "nokey"]
    assert key_problems(a, pks, tables) == [
        "T (p2): the self-reference was read with Other.id as the primary key, but the primary key of "
        "Other is (code): the view would join the wrong rows",
        "T (p3): the self-reference was read with comp.id as the primary key, but the primary key of "
        "comp is (id, lang): the view would join the wrong rows",
        "T (p4): the self-reference was read with nokey.id as the primary key, but nokey has no primary "
        "key: no reading of it is certain",
    ]
