"""A small library database migrated for real (generated views, local engine) for the validation tests
(not collected by pytest).

MariaDB: ``authors`` (INT key; one author without country, one with no books) and ``books``
(INT key, VARCHAR isbn in the sort key, NULL prices, emoji titles, a 30-digit price). Contract: one multi-entity DynamoDB
table ``<prefix>Library`` (PK/SK, GSI1 on the author's country/name):

* AUTHOR: ``PK = AUTHOR#{id}``, ``SK = #META``, ``name``, ``book_count`` (aggregate COUNT over books),
  ``GSI1PK = country`` (absent for the author without one), ``GSI1SK = name``;
* BOOK: ``PK = AUTHOR#{author_id}``, ``SK = BOOK#{isbn}``, ``title``, ``price``.

Everything in DynamoDB comes from a real ``migrate`` run: the items, the marker, written/<T>.jsonl,
the run's counters. Helpers damage the view the way a generator bug would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynamigrate.config import Config, load_config
from dynamigrate.pipeline import MigrateOptions, RunSummary, migrate

N_AUTHORS = 8
N_BOOKS = 15


def contract_dict(table: str, book_filter: str | None = None) -> dict[str, Any]:
    def col(name: str, typ: str, src: str, column: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": src, "source_column": column, **extra}

    def fmt(text: str) -> dict[str, Any]:
        return {"type": "string-format", "format": text}

    return {
        "tables": [
            {
                "table": table,
                "type": "multi-entity",
                "source_table": "authors",
                "pk": "PK",
                "sk": "SK",
                "gsis": [{"index_name": "GSI1", "pk": "GSI1PK", "sk": "GSI1SK", "projection": "ALL"}],
                "satisfies": ["get an author", "list an author's books", "authors by country"],
                "estimated_item_size_bytes": 120,
                "entities": [
                    {
                        "entity_type": "AUTHOR",
                        "source_table": "authors",
                        "attributes": [
                            col("PK", "S", "authors", "id", transformation=fmt("AUTHOR#{id}")),
                            col("SK", "S", "authors", "id", transformation=fmt("#META")),
                            col("name", "S", "authors", "name"),
                            col(
                                "book_count",
                                "N",
                                "authors",
                                "id",
                                calculation={
                                    "type": "aggregate",
                                    "target_table": "books",
                                    "join_condition": "books.author_id = authors.id",
                                    "operation": "COUNT",
                                    "select_column": "books.id",
                                },
                            ),
                            col("GSI1PK", "S", "authors", "country"),
                            col("GSI1SK", "S", "authors", "name"),
                        ],
                    },
                    {
                        "entity_type": "BOOK",
                        "source_table": "books",
                        **({"filter": book_filter} if book_filter else {}),
                        "attributes": [
                            col("PK", "S", "books", "author_id", transformation=fmt("AUTHOR#{author_id}")),
                            col("SK", "S", "books", "isbn", transformation=fmt("BOOK#{isbn}")),
                            col("title", "S", "books", "title"),
                            col("price", "N", "books", "price"),
                        ],
                    },
                ],
            }
        ]
    }


def create_source(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE authors (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, country VARCHAR(40) NULL)"
        )
        cur.execute(
            "CREATE TABLE books (id INT PRIMARY KEY, isbn VARCHAR(20) NOT NULL, author_id INT NULL, "
            "title VARCHAR(200) NOT NULL, price DECIMAL(38,8) NULL)"
        )
        cur.executemany(
            "INSERT INTO authors VALUES (%s, %s, %s)",
            [
                (i, f"Author {i} ✍️", None if i == 3 else ("NO" if i % 2 else "DE"))
                for i in range(1, N_AUTHORS + 1)
            ],
        )
        books = []
        for i in range(1, N_BOOKS + 1):
            author = (i % (N_AUTHORS - 1)) + 1  # author N_AUTHORS has no books
            price = (
                None if i % 5 == 0 else ("123456789012345678901234567890.12345678" if i == 7 else f"{i}.50")
            )
            books.append((i, f"978-{i:06d}", author, f"Book {i} 📚", price))
        cur.executemany("INSERT INTO books VALUES (%s, %s, %s, %s, %s)", books)


def make_config(
    tmp: Path, mysql_settings: Any, database: str, endpoint: str, table: str, book_filter: str | None = None
) -> tuple[Config, Path]:
    contract = tmp / "contract.json"
    contract.write_text(json.dumps(contract_dict(table, book_filter)), encoding="utf-8")
    raw = {
        "mysql": {
            "host": mysql_settings.host,
            "port": mysql_settings.port,
            "user": mysql_settings.user,
            "password": mysql_settings.password.reveal(),
            "database": database,
        },
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "migration": {"contract_file": str(contract), "output_dir": str(tmp / "runs")},
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return load_config(path), path


def add_orphan_book(conn: Any) -> None:
    """A book without an author: its partition key is NULL, so the row is rejected (null_key)."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO books VALUES (99, '978-000099', NULL, 'Orphan', NULL)")


def run_migrate(cfg: Config, **options: Any) -> RunSummary:
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", **options))
    assert summary.status == "ok", summary.render_text()
    return summary


def view_columns(conn: Any, view: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (view,),
        )
        return [r[0] for r in cur.fetchall()]


def damage_view(conn: Any, view: str, *, where: str, replace: dict[str, str]) -> None:
    """Replace ``view`` by one over its original that keeps only rows matching ``where`` and computes
    some columns differently (``replace``: column -> SQL expression over the original's columns), as
    a generator bug would. Column names and order stay the same."""
    cols = view_columns(conn, view)
    original = f"{view}_orig"
    select = ", ".join(f"{replace[c]} AS `{c}`" if c in replace else f"`{c}`" for c in cols)
    with conn.cursor() as cur:
        cur.execute(f"RENAME TABLE `{view}` TO `{original}`")
        cur.execute(f"CREATE VIEW `{view}` AS SELECT {select} FROM `{original}` WHERE {where}")
