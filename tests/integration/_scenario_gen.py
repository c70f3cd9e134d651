"""Random schemas, data and contracts for the differential tests (views + encoder vs the evaluator).

``scenario(seed)`` is deterministic: the same seed gives the same tables, rows and contract. Every
scenario has

* ``main``: the first entity's source, with a random key shape (INT, VARCHAR, composite, BINARY or no
  key at all, where rows may repeat exactly), a self-reference ``parent_id`` for INT keys, and columns
  of every kind (unicode/emoji/quotes/backslashes/empty text, big decimals, dates with and without
  fractional seconds, booleans, JSON text, set text) full of NULLs;
* ``look`` (to-one target, INT or VARCHAR key matched case-insensitively and with trailing spaces),
  ``far`` (the second link of chains) and ``kids`` (rows related to ``main``, possibly none);
* a contract with a key built from a template, maybe a sort key and a sparse GSI key, a random choice of
  attribute patterns (``PATTERNS``), sometimes a filter, and sometimes a second entity over ``kids``
  (a multi-entity table).

What is left out on purpose (documented differences of the two readings, not bugs): FLOAT/DOUBLE
columns, ``order_by`` on text whose collation order differs from the evaluator's approximation
(emoji), ties in ``order_by`` without the primary key, MIN/MAX of text, and CASE branches that mix
DECIMAL with INT into an S attribute.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

PATTERNS = (
    "column",
    "column-bool",
    "column-binary",
    "column-set",
    "string-format",
    "date-format",
    "date-format-source",
    "number-format",
    "static",
    "json-parse",
    "foreign-key",
    "lookup-table",
    "multi-column",
    "self-join",
    "self-reference",
    "conditional",
    "chain",
    "chain-separator",
    "json-array",
    "json-array-text",
    "json-object",
    "aggregate",
    "self-aggregate",
    "self-array",
    "self-conditional",
    "self-object",
    "cross-condition",
    "case",
    "concat",
    "date-math",
    "key-template",
    "sort-key",
    "gsi-key",
    "filter",
    "multi-entity",
    "composite-key",
    "varchar-key",
    "binary-key",
    "no-key",
)

TEXTS = [
    "",
    "a",
    "Zoë",
    "emoji 😀🎉",
    'it\'s "quoted"',
    "back\\slash",
    "  lead",
    "trail  ",
    "%_%",
    "日本語",
    "x" * 30,
]
#: date text per source_format (the scenario picks one), with text of other shapes and empty text
DATE_TEXTS = {
    "DD/MM/YYYY": ["05/01/2024", "31/12/1999", "garbage", "1/2/2003", "", "  07/08/2010 ", "30/02/2024", "05/01/24",
                   "05/01/2024x", "05-01-2024", "00/01/2024"],
    "YYYYMMDD": ["20240105", "2024015", "20240230", "202401051", "2024-01-05", "19991231"],
    "iso8601": ["2024-01-05", "2024-01-05T10:11:12Z", "2024-01-05 10:11+02:00", "2024-01-05T23:30:00.5-0130",
                "2024-13-01", "garbage", "", "2024-01-05T10:11:12+0545", "2024-02-30", "24-01-05"],
    "epoch": ["86400", "1700000000.25", "-5", "x", "", "1.9999999"],
    "epoch_ms": ["1700000000123", "0", "-1", "12.5"],
    # text STR_TO_DATE alone reads although it lacks the shape ("2024-01" -> 2024-01-00, "2024-02-30" kept,
    # "24-01-05" -> 2024, a date alone for "datetime" -> midnight, trailing text or newline): NULL
    "date": ["2024-01-05", "2024-1-5", "x", "2024-01", "2024-02-30", "24-01-05", "2024-01-05x", "0000-01-05",
             "2024-01-05\n"],
    "datetime": ["2024-01-05 10:11:12", "2024-01-05 25:00:00", "2024-01-05", "2024-02-30 10:00:00",
                 "24-01-05 10:11:12", "2024-01-05 10:11", "2024-01-05T10:11:12", "2024-01-05 24:00:00"],
}  # fmt: skip
#: how people write some of them
FORMAT_SPELLINGS = {
    "iso8601": ["iso8601", "ISO-8601", "iso"],
    "epoch": ["epoch", "unix"],
    "epoch_ms": ["epoch_ms", "epoch-millis"],
}
KEY_TEXTS = ["k1", "k2", "abc", "Q", "zz9", "m-1"]


def _q(value: Any) -> str:
    """A SQL literal for the INSERTs (hex for text, exact decimals)."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    if isinstance(value, int | Decimal):
        return str(value)
    return "CONVERT(X'" + str(value).encode("utf-8").hex() + "' USING utf8mb4)"


@dataclass
class Scenario:
    seed: int
    statements: list[str] = field(default_factory=list)
    contract: dict[str, Any] = field(default_factory=dict)
    patterns: set[str] = field(default_factory=set)
    chunk_rows: int = 3

    @property
    def table_name(self) -> str:
        return str(self.contract["tables"][0]["table"])


class _Gen:
    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.sc = Scenario(seed)
        self.shape = self.r.choice(["int", "int", "varchar", "composite", "binary", "none"])
        self.look_key = self.r.choice(["int", "varchar"])
        self.doc_kind = self.r.choice(["M", "L"])
        self.tag_kind = self.r.choice(["SS", "NS"])
        self.ds_kind = self.r.choice(list(DATE_TEXTS))
        self.n = 0

    # -- data ---------------------------------------------------------------------------------------

    def maybe(self, value: Any, p_null: float = 0.25) -> Any:
        return None if self.r.random() < p_null else value

    def text(self) -> Any:
        return self.maybe(self.r.choice(TEXTS))

    def decimal(self, digits: int, scale: int) -> Any:
        whole = self.r.choice(
            [0, 1, 7, 10 ** (digits - scale - 1) - 1, self.r.randrange(10 ** (digits - scale))]
        )
        frac = self.r.randrange(10**scale) if scale else 0
        sign = self.r.choice(["", "", "-"])
        return self.maybe(Decimal(f"{sign}{whole}.{frac:0{scale}d}") if scale else Decimal(f"{sign}{whole}"))

    def date(self) -> Any:
        return self.maybe(
            f"20{self.r.randrange(10, 30)}-{self.r.randrange(1, 13):02d}-{self.r.randrange(1, 29):02d}"
        )

    def datetime(self, fsp: int = 0) -> Any:
        d = self.date()
        if d is None:
            return None
        t = f"{self.r.randrange(24):02d}:{self.r.randrange(60):02d}:{self.r.randrange(60):02d}"
        if fsp:
            t += "." + "".join(self.r.choice("0123456789") for _ in range(fsp))
        return f"{d} {t}"

    def doc(self) -> Any:
        if self.r.random() < 0.05:
            return "not json"
        objects = [
            '{"a": 1.50, "b": [true, null, "x"], "c": {"d": -0.0}}',
            '{"name": "Zoë 😀", "n": 12345678901234567890}',
            "{}",
        ]
        arrays = ['[1, 2.50, "three", {"four": 4}]', "[]", '[{"x": null}]']
        return self.maybe(self.r.choice(objects if self.doc_kind == "M" else arrays))

    def tags(self) -> Any:
        if self.tag_kind == "NS":
            return self.maybe(self.r.choice(["[1, 2, 2.0]", "3, 4", "", "[]", "-0.5"]))
        return self.maybe(self.r.choice(['["b", "a", "b"]', "x, y ,z", "", "[]", "solo"]))

    # -- schema -------------------------------------------------------------------------------------

    def build_tables(self) -> None:
        r = self.r
        st = self.sc.statements
        look_pk = "id INT PRIMARY KEY" if self.look_key == "int" else "code VARCHAR(10) PRIMARY KEY"
        st.append("CREATE TABLE far (id INT PRIMARY KEY, label VARCHAR(40) NULL)")
        st.append(
            f"CREATE TABLE look ({look_pk}, name VARCHAR(40) NULL, price DECIMAL(10,2) NULL, far_id INT NULL)"
        )
        key_cols = {
            "int": "id INT NOT NULL, parent_id INT NULL, PRIMARY KEY (id)",
            "varchar": "code VARCHAR(12) NOT NULL, PRIMARY KEY (code)",
            "composite": "ka INT NOT NULL, kb VARCHAR(8) NOT NULL, PRIMARY KEY (ka, kb)",
            "binary": "bk BINARY(4) NOT NULL, PRIMARY KEY (bk)",
            "none": "id INT NULL",
        }[self.shape]
        look_ref = "look_id INT NULL" if self.look_key == "int" else "look_code VARCHAR(12) NULL"
        st.append(
            f"CREATE TABLE main ({key_cols}, {look_ref}, s1 VARCHAR(40) NULL, s2 VARCHAR(20) NULL,"
            " n_int INT NULL, n_big BIGINT NULL, n_dec DECIMAL(38,10) NULL, n_dec2 DECIMAL(10,2) NULL,"
            " d DATE NULL, dt DATETIME NULL, dt3 DATETIME(3) NULL, ds VARCHAR(40) NULL, flag TINYINT(1) NULL,"
            " doc TEXT NULL, tags VARCHAR(100) NULL)"
        )
        ref = {
            "int": "m_id INT NULL",
            "varchar": "m_code VARCHAR(12) NULL",
            "composite": "m_ka INT NULL, m_kb VARCHAR(8) NULL",
            "binary": "m_bk BINARY(4) NULL",
            "none": "m_id INT NULL",
        }[self.shape]
        st.append(
            f"CREATE TABLE kids (kid INT PRIMARY KEY, {ref}, qty INT NULL, amount DECIMAL(12,3) NULL,"
            " sku VARCHAR(10) NULL, at DATE NULL, note VARCHAR(40) NULL)"
        )
        # rows
        far_ids = list(range(1, r.randrange(2, 6)))
        for i in far_ids:
            st.append(f"INSERT INTO far VALUES ({i}, {_q(self.text())})")
        if self.look_key == "int":
            look_keys: list[Any] = list(range(1, r.randrange(2, 7)))
        else:
            look_keys = r.sample(KEY_TEXTS, r.randrange(1, len(KEY_TEXTS)))
        for k in look_keys:
            st.append(
                f"INSERT INTO look VALUES ({_q(k)}, {_q(self.text())}, {_q(self.decimal(10, 2))},"
                f" {_q(self.maybe(r.choice([*far_ids, 99])))})"
            )
        nmain = r.randrange(0, 14) if r.random() < 0.1 else r.randrange(4, 14)
        keys: list[tuple[Any, ...]] = []
        used: set[Any] = set()
        rows = []
        for i in range(nmain):
            if self.shape == "int":
                k: tuple[Any, ...] = (i + 1,)
            elif self.shape == "varchar":
                k = (f"c{i}" + r.choice(["", "x", "Y"]),)
            elif self.shape == "composite":
                k = (r.randrange(1, 4), r.choice(KEY_TEXTS) + str(i))
            elif self.shape == "binary":
                k = (bytes([i, r.randrange(256), 0, r.randrange(2)]),)
            else:
                k = (self.maybe(r.randrange(1, 5), 0.15),)
            norm = tuple(x.lower() if isinstance(x, str) else x for x in k)
            if self.shape != "none" and norm in used:
                continue
            used.add(norm)
            keys.append(k)
            if self.look_key == "int":
                look_ref_v: Any = self.maybe(r.choice([*look_keys, 77]))
            else:
                look_ref_v = self.maybe(
                    r.choice(
                        [r.choice(look_keys), r.choice(look_keys).upper(), r.choice(look_keys) + " ", "nope"]
                    )
                )
            extra: list[Any] = []
            if self.shape == "int":
                extra = [self.maybe(r.choice([*(x[0] for x in keys), 500]), 0.4)]
            values = [
                *k,
                *extra,
                look_ref_v,
                self.text(),
                self.maybe(r.choice(["", "alpha", "Beta", "gamma", "12", "z"])),
                self.maybe(r.randrange(-20, 30)),
                self.maybe(r.choice([0, 2**40, -(2**50), 123456789012])),
                self.decimal(38, 10),
                self.decimal(10, 2),
                self.date(),
                self.datetime(),
                self.datetime(3),
                self.maybe(r.choice(DATE_TEXTS[self.ds_kind])),
                self.maybe(r.choice([0, 1, 1, 5])),
                self.doc(),
                self.tags(),
            ]
            rows.append(values)
            if self.shape == "none" and r.random() < 0.2:
                rows.append(list(values))  # an exact duplicate row
        for values in rows:
            st.append(f"INSERT INTO main VALUES ({', '.join(_q(v) for v in values)})")
        nkids = r.randrange(0, 25)
        for kid in range(1, nkids + 1):
            if keys and r.random() < 0.85:
                ref_v: tuple[Any, ...] = r.choice(keys)
                if self.shape == "varchar" and r.random() < 0.3:
                    ref_v = (ref_v[0].upper(),)
            else:
                ref_v = tuple(None for _ in (keys[0] if keys else (None,)))
                if self.shape == "composite" and len(ref_v) == 1:
                    ref_v = (None, None)
            if self.shape == "composite" and len(ref_v) != 2:
                ref_v = (None, None)
            st.append(
                f"INSERT INTO kids VALUES ({kid}, {', '.join(_q(v) for v in ref_v)}, {_q(self.maybe(r.randrange(0, 9)))},"
                f" {_q(self.decimal(12, 3))}, {_q(self.maybe(r.choice(['a1', 'b2', 'c3', 'A1', 'a_1', 'ab', 'a b', 'Ä1', ''])))},"
                f" {_q(self.date())}, {_q(self.text())})"
            )

    # -- contract -----------------------------------------------------------------------------------

    def name(self) -> str:
        self.n += 1
        return f"a{self.n}"

    def use(self, pattern: str) -> None:
        self.sc.patterns.add(pattern)

    def main_key_columns(self) -> list[str]:
        return {
            "int": ["id"],
            "varchar": ["code"],
            "composite": ["ka", "kb"],
            "binary": ["bk"],
            "none": ["id"],
        }[self.shape]

    def look_join(self) -> str:
        key, ref = ("id", "look_id") if self.look_key == "int" else ("code", "look_code")
        return self.r.choice([f"look.{key} = main.{ref}", f"main.{ref} = look.{key}", f"{ref} = look.{key}"])

    def extra_kids_conjuncts(self) -> list[str]:
        """Sometimes a condition on the related rows alone, or on the current row alone."""
        choices = [[], [], ["kids.qty > 2"], ["main.flag = 1"], ["kids.sku <> 'a1'", "kids.qty IS NOT NULL"]]
        if self.shape != "none":  # a part over both rows is evaluated row by row: the source needs a key
            choices += [["kids.at >= main.d"], ["kids.qty < main.n_int", "kids.sku IS NOT NULL"]]
        picked = self.r.choice(choices)
        if any("kids." in c and "main." in c for c in picked):
            self.use("cross-condition")
        return picked

    def kids_condition(self) -> list[str]:
        if self.shape == "composite":
            return ["kids.m_ka = main.ka", "kids.m_kb = main.kb"]
        col = {"int": "id", "varchar": "code", "binary": "bk", "none": "id"}[self.shape]
        ref = {"int": "m_id", "varchar": "m_code", "binary": "m_bk", "none": "m_id"}[self.shape]
        return [f"kids.{ref} = main.{col}"]

    def attribute(self, pattern: str) -> dict[str, Any] | None:
        r = self.r
        base = {"name": self.name(), "source_table": "main"}
        if pattern == "column":
            col, typ = r.choice(
                [("s1", "S"), ("s2", "S"), ("n_int", "N"), ("n_big", "N"), ("n_dec", "N"), ("n_dec2", "S"),
                 ("d", "S"), ("dt", "S"), ("dt3", "S"), ("n_dec", "S"), ("flag", "N"), ("ds", "S"), ("n_int", "S"),
                 ("main.s1", "S")] + ([("s2", "N"), ("s2", "BOOL")] if r.random() < 0.1 else [])
            )  # fmt: skip
            return {**base, "type": typ, "source_column": col}
        if pattern == "column-bool":
            return {**base, "type": "BOOL", "source_column": r.choice(["flag", "n_int"])}
        if pattern == "column-binary":
            col = "bk" if self.shape == "binary" else "s1"
            return {**base, "type": "B", "source_column": col}
        if pattern == "column-set":
            return {**base, "type": self.tag_kind, "source_column": "tags"}
        if pattern == "string-format":
            cols = r.sample(["s1", "s2", "n_int", "n_dec2", "d", "dt3", "flag"], r.randrange(0, 3))
            lit = r.choice(["P#", "%", "😀", "it's", "{{x}}", ""])
            fmt = lit + "#".join("{" + c + "}" for c in cols)
            return {**base, "type": "S", "source_column": cols[0] if cols else "s1",
                    "transformation": {"type": r.choice(["string-format", "template"]) if cols else "string-format",
                                       "format": fmt or "#META"}}  # fmt: skip
        if pattern == "date-format":
            return {**base, "type": "S", "source_column": r.choice(["d", "dt", "dt3"]),
                    "transformation": {"type": "date-format",
                                       "format": r.choice(["YYYY-MM", "YYYY-MM-DD HH:mm:ss", "DD/MM/YYYY", "%YYYY%"])}}  # fmt: skip
        if pattern == "date-format-source":
            return {**base, "type": "S", "source_column": "ds",
                    "transformation": {"type": "date-format", "format": r.choice(["YYYY-MM-DD", "YYYY-MM-DD HH:mm:ss"]),
                                       "source_format": r.choice(FORMAT_SPELLINGS.get(self.ds_kind, [self.ds_kind]))}}  # fmt: skip
        if pattern == "number-format":
            return {**base, "type": "S", "source_column": r.choice(["n_int", "n_dec2", "n_dec"]),
                    "transformation": {"type": "number-format", "format": r.choice(["000000", "0.00", "000.0", "0"])}}  # fmt: skip
        if pattern == "static":
            value, typ = r.choice(
                [("#META", "S"), (42, "N"), (12.5, "N"), (12.5, "S"), (True, "BOOL"), ({"a": 1}, "M"), (["x", 2], "L"),
                 ({"a": [1]}, "S")]
            )  # fmt: skip
            return {
                **base,
                "type": typ,
                "source_column": "s1",
                "transformation": {"type": "static", "value": value},
            }
        if pattern == "json-parse":
            return {**base, "type": r.choice([self.doc_kind, self.doc_kind, "S"]), "source_column": "doc",
                    "transformation": {"type": "json-parse"}}  # fmt: skip
        if pattern in ("foreign-key", "lookup-table"):
            sel, typ = r.choice(
                [("look.name", "S"), ("look.price", "N"), ("look.price", "S"), ("CONCAT(look.name, '!')", "S"),
                 ("look.price * 2", "N"), ("look.far_id", "N"), ("COALESCE(look.name, 'anon')", "S"), ("'const'", "S")]
            )  # fmt: skip
            extra = ["", "", " AND look.price > 10", " AND main.n_int IS NOT NULL"]
            if self.shape != "none":
                extra.append(" AND look.price < main.n_dec2")
            cond = self.look_join() + r.choice(extra)
            if "main.n_dec2" in cond:
                self.use("cross-condition")
            return {**base, "type": typ, "source_column": "look_id" if self.look_key == "int" else "look_code",
                    "join": {"type": pattern, "target_table": "look", "join_condition": cond,
                             "select_column": sel}}  # fmt: skip
        if pattern == "conditional":
            cond = r.choice(["main.n_int > 5", "flag = 1", "look.name IS NULL", "main.s2 = 'alpha'"])
            sel = r.choice(["look.name", "'yes'", "look.far_id"])
            ev = r.choice(["look.name", "no", "'quoted'", "other.name", 0, 2.5])
            return {**base, "type": "S", "source_column": "s1",
                    "join": {"type": "conditional", "target_table": "look", "join_condition": self.look_join(),
                             "condition": cond, "select_column": sel, "else_value": ev}}  # fmt: skip
        if pattern in ("chain", "chain-separator"):
            joins = [
                {
                    "target_table": "look",
                    "join_condition": self.look_join(),
                    "select_column": r.choice(["look.name", "look.price"]),
                },
                {
                    "target_table": "far",
                    "join_condition": r.choice(["far.id = look.far_id", "look.far_id = far.id"]),
                    "select_column": r.choice(["far.label", "far.id"]),
                },
            ]
            j: dict[str, Any] = {"type": "chain", "joins": joins}
            if pattern == "chain-separator":
                j["chain_separator"] = r.choice(["/", " > ", ""])
            return {**base, "type": "S", "source_column": "s1", "join": j}
        if pattern in ("json-array", "json-array-text", "json-object"):
            members = dict(r.sample([("q", "qty"), ("a", "amount"), ("s", "sku"), ("t", "at"), ("n", "note"),
                                     ("k", "kids.kid"), ("x", "qty * 2"), ("c", "CONCAT(sku, '-')"), ("😀 key", "note")],
                                    r.randrange(1, 4)))  # fmt: skip
            order = r.choice(
                [
                    None,
                    "kids.qty DESC, kids.kid",
                    "at, kid",
                    "amount DESC, kid",
                    "kid DESC",
                    "sku, kid",
                    "note DESC, kid",
                    "kids.sku DESC, qty, kid",
                ]
            )
            cons: dict[str, Any] = {
                "type": "object" if pattern == "json-object" else "array",
                "select_columns": members,
            }
            if order:
                cons["order_by"] = order
            if pattern != "json-object" and r.random() < 0.4:
                cons["limit"] = r.randrange(1, 4)
            conds = [" AND ".join(self.kids_condition() + self.extra_kids_conjuncts())]
            typ = {"json-array": "L", "json-array-text": "S", "json-object": r.choice(["M", "S"])}[pattern]
            return {**base, "type": typ, "source_column": "s1",
                    "join": {"type": "json-construction", "target_table": "kids", "join_condition": conds[0],
                             "construction": cons}}  # fmt: skip
        if pattern == "aggregate":
            op, sel, typ = r.choice(
                [("COUNT", "*", "N"), ("COUNT", "kids.qty", "N"), ("COUNT", "DISTINCT kids.sku", "N"),
                 ("SUM", "kids.amount", "N"), ("SUM", "kids.amount", "S"), ("SUM", "kids.qty", "N"),
                 ("AVG", "kids.qty", "S"), ("AVG", "kids.amount", "N"), ("MIN", "kids.at", "S"),
                 ("MAX", "kids.amount", "N"), ("MAX", "kids.qty * 2", "N"), ("MIN", "kids.note", "S"),
                 ("MAX", "kids.note", "S"), ("COUNT", "DISTINCT kids.note", "N")]
            )  # fmt: skip
            return {**base, "type": typ, "source_column": "s1",
                    "calculation": {"type": "aggregate", "target_table": "kids",
                                    "join_condition": " AND ".join(self.kids_condition() + self.extra_kids_conjuncts()),
                                    "operation": op, "select_column": sel}}  # fmt: skip
        if pattern == "case":
            cases = [
                {"when": "main.n_int > 10", "then": "'big'"},
                {"when": "flag = 1 AND s2 IS NOT NULL", "then": "s2"},
                {"when": "d < '2015-01-01'", "then": "CONCAT('old ', s1)"},
            ][: r.randrange(1, 4)]
            r.shuffle(cases)
            return {**base, "type": "S", "source_column": "n_int",
                    "calculation": {"type": "case", "cases": cases, "else": r.choice(["'other'", "small", "NULL"])}}  # fmt: skip
        if pattern == "concat":
            parts = r.sample(["main.s2", "n_int", "'-'", "d", "s1", "dt3", "n_dec2"], r.randrange(1, 4))
            return {**base, "type": "S", "source_column": "s1",
                    "calculation": {"type": "concat", "parts": parts, "separator": r.choice(["#", "", " / "])}}  # fmt: skip
        if pattern == "date-math":
            calc: dict[str, Any] = {"type": "date-math", "expression": r.choice(["d", "dt", "dt3"]),
                                    "interval": r.choice(["30 DAY", "-1 MONTH", "2 HOUR", "1 YEAR", "1 WEEK"])}  # fmt: skip
            if r.random() < 0.5:
                calc["format"] = r.choice(["YYYY-MM-DD", "YYYY-MM"])
            return {**base, "type": "S", "source_column": "d", "calculation": calc}
        if pattern == "self-join" and self.shape == "int":
            return {**base, "type": "S", "source_column": "parent_id",
                    "join": {"type": "self-join", "join_alias": "p", "join_condition": "p.id = main.parent_id",
                             "select_column": r.choice(["p.s1", "p.n_dec2"]),
                             "null_value": r.choice(["", "none", None, 0])}}  # fmt: skip
        if pattern == "self-reference" and self.shape == "int":
            return {**base, "type": "S", "source_column": "parent_id",
                    "join": {"type": "foreign-key", "target_table": "main", "join_condition": "main.id = main.parent_id",
                             "select_column": r.choice(["main.s2", "s1"])}}  # fmt: skip
        if pattern == "self-aggregate" and self.shape == "int":
            op, sel = r.choice([("COUNT", "main.id"), ("SUM", "n_dec2"), ("MAX", "main.n_int")])
            return {**base, "type": "N", "source_column": "id",
                    "calculation": {"type": "aggregate", "target_table": "main",
                                    "join_condition": r.choice(["main.parent_id = main.id", "main.id = main.parent_id"]),
                                    "operation": op, "select_column": sel}}  # fmt: skip
        if pattern == "self-conditional" and self.shape == "int":
            # the workshop's Categories: same table on both sides, an undeclared alias in else_value
            return {**base, "type": "S", "source_column": "parent_id",
                    "join": {"type": "conditional", "target_table": "main", "join_condition": "main.id = main.parent_id",
                             "condition": r.choice(["parent_id IS NULL", "main.parent_id IS NULL"]),
                             "select_column": "'ROOT'", "else_value": r.choice(["parent.s2", "up.n_int", "main.s1"])}}  # fmt: skip
        if pattern == "self-object" and self.shape == "int":
            return {**base, "type": r.choice(["M", "S"]), "source_column": "id",
                    "join": {"type": "json-construction", "target_table": "main", "join_condition": "main.id = main.id",
                             "construction": {"type": "object", "select_columns": {"s": "s1", "n": "n_dec2", "d": "dt3"}}}}  # fmt: skip
        if pattern == "self-array" and self.shape == "int":
            return {**base, "type": r.choice(["L", "S"]), "source_column": "id",
                    "join": {"type": "json-construction", "target_table": "main", "join_condition": "main.parent_id = main.id",
                             "construction": {"type": "array", "select_columns": {"id": "id", "s": "s2"},
                                              **({"order_by": "n_int DESC, id"} if r.random() < 0.5 else {})}}}  # fmt: skip
        return None

    def main_entity(self) -> dict[str, Any]:
        r = self.r
        keys = self.main_key_columns()
        if self.shape == "binary":
            self.use("binary-key")
            pk = {"name": "PK", "type": "B", "source_table": "main", "source_column": "bk"}
        elif len(keys) == 1 and r.random() < 0.4:
            pk = {"name": "PK", "type": "S" if self.shape != "int" else r.choice(["S", "N"]), "source_table": "main",
                  "source_column": keys[0]}  # fmt: skip
        else:
            self.use("key-template")
            fmt = "M#" + "#".join("{" + k + "}" for k in keys)
            if self.shape == "none":
                fmt += "#{s2}"
            pk = {"name": "PK", "type": "S", "source_table": "main", "source_column": keys[0],
                  "transformation": {"type": "string-format", "format": fmt}}  # fmt: skip
        self.use(
            {"composite": "composite-key", "varchar": "varchar-key", "none": "no-key"}.get(
                self.shape, "column"
            )
        )
        attrs = [pk]
        if self.has_sk:
            self.use("sort-key")
            attrs.append(
                r.choice(
                    [
                        {"name": "SK", "type": "S", "source_table": "main", "source_column": "s1",
                         "transformation": {"type": "static", "value": "#META"}},
                        {"name": "SK", "type": "S", "source_table": "main", "source_column": "s2"},
                        {"name": "SK", "type": "S", "source_table": "main", "source_column": "d",
                         "transformation": {"type": "string-format", "format": "D#{d}"}},
                    ]
                )
            )  # fmt: skip
        if self.has_gsi:
            self.use("gsi-key")
            attrs.append(
                {"name": "G1", "type": "S", "source_table": "main", "source_column": r.choice(["s1", "s2"])}
            )
        choices = [p for p in PATTERNS if p not in ("key-template", "sort-key", "gsi-key", "filter", "multi-entity",
                                                     "composite-key", "varchar-key", "binary-key", "no-key", "multi-column")]  # fmt: skip
        for pattern in r.sample(choices, r.randrange(5, 12)):
            attr = self.attribute(pattern)
            if attr is not None:
                self.use(pattern)
                attrs.append(attr)
        entity: dict[str, Any] = {"entity_type": "MAIN", "source_table": "main", "attributes": attrs}
        if r.random() < 0.3:
            self.use("filter")
            entity["filter"] = r.choice(
                ["n_int IS NOT NULL", "main.flag = 1", "s2 <> ''", "n_int > 0 OR d IS NULL"]
            )
        return entity

    def kids_entity(self) -> dict[str, Any]:
        r = self.r
        self.use("multi-entity")
        attrs: list[dict[str, Any]] = [
            {"name": "PK", "type": "S", "source_table": "kids", "source_column": "kid",
             "transformation": {"type": "string-format", "format": "K#{kid}"}},
            {"name": "a1", "type": "N", "source_table": "kids", "source_column": "amount"},
            {"name": "qty", "type": "N", "source_table": "kids", "source_column": "qty"},
        ]  # fmt: skip
        if self.has_sk:
            attrs.append({"name": "SK", "type": "S", "source_table": "kids", "source_column": "sku"})
        if self.has_gsi:
            attrs.append({"name": "G1", "type": "S", "source_table": "kids", "source_column": "note"})
        # the parent row of each kid (to-one): main.<key> = kids.<ref>
        conds = [f"{c.split(' = ')[1]} = {c.split(' = ')[0]}" for c in self.kids_condition()]
        if len(conds) > 1:
            self.use("multi-column")
            join = {
                "type": "multi-column",
                "target_table": "main",
                "join_conditions": conds,
                "select_column": "main.s1",
            }
            attrs.append(
                {
                    "name": "parent_s1",
                    "type": "S",
                    "source_table": "kids",
                    "source_column": "m_ka",
                    "join": join,
                }
            )
        elif self.shape != "none":
            attrs.append(
                {"name": "parent_s1", "type": "S", "source_table": "kids", "source_column": "note",
                 "join": {"type": "foreign-key", "target_table": "main", "join_condition": conds[0],
                          "select_column": r.choice(["main.s1", "main.n_dec"])}}
            )  # fmt: skip
        return {"entity_type": "KID", "source_table": "kids", "attributes": attrs}

    def build_contract(self) -> None:
        r = self.r
        self.has_sk = r.random() < 0.5
        self.has_gsi = r.random() < 0.5
        entities = [self.main_entity()]
        if r.random() < 0.35:
            entities.append(self.kids_entity())
        table: dict[str, Any] = {"table": f"Diff{self.sc.seed}", "pk": "PK", "source_table": "main"}
        if self.has_sk:
            table["sk"] = "SK"
        if self.has_gsi:
            table["gsis"] = [{"index_name": "g1", "pk": "G1", "projection": "ALL"}]
        if len(entities) == 1:
            e = entities[0]
            table.update({"type": "single-entity", "attributes": e["attributes"]})
            if "filter" in e:
                table["filter"] = e["filter"]
        else:
            for e in entities:
                e["pk_template"] = "{PK}"
            table.update({"type": "multi-entity", "entities": entities})
        self.sc.contract = {"tables": [table]}
        self.sc.chunk_rows = r.choice([1, 2, 3, 5, 1000])


def scenario(seed: int) -> Scenario:
    gen = _Gen(seed)
    gen.build_tables()
    gen.build_contract()
    return gen.sc


def describe(sc: Scenario) -> str:
    """The scenario as text (for a failing example: paste it into a regression test)."""
    return json.dumps(sc.contract, indent=1, ensure_ascii=False) + "\n" + ";\n".join(sc.statements)
