"""An unseen source through the real CLI flow: a library (no sample-shop shapes).

VARCHAR ISBN keys, a junction table with a composite key, loans keyed by (member_id, book_isbn,
DATETIME(6)), soft-deleted rows removed by `filter`, epoch/date text read by `source_format`, a
38-digit DECIMAL(38,10), a self-reference written with the table name on both sides, and every
contract pattern. `contract check`, `views generate --schema-from-db` (no --dialect: the server's
dialect), `views apply`, `migrate`, `validate --full`; the items in DynamoDB are compared with items
computed by hand from the rows below, attribute by attribute.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from tests.integration._etl_expect import make_config

from dynamigrate.cli import main

SOURCE = [
    "CREATE TABLE authors (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, born DATE NULL, country CHAR(2) NULL)",
    "CREATE TABLE books (isbn VARCHAR(17) PRIMARY KEY, title VARCHAR(300) NOT NULL, published_txt VARCHAR(20) NULL,"
    " added_epoch BIGINT NULL, price DECIMAL(10,2) NULL, meta TEXT NULL, prev_isbn VARCHAR(17) NULL,"
    " deleted_at DATETIME NULL)",
    "CREATE TABLE book_authors (book_isbn VARCHAR(17) NOT NULL, author_id INT NOT NULL, position TINYINT NOT NULL,"
    " PRIMARY KEY (book_isbn, author_id))",
    "CREATE TABLE members (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200) NULL,"
    " tier VARCHAR(10) NULL, deleted_at DATETIME NULL)",
    "CREATE TABLE loans (member_id INT NOT NULL, book_isbn VARCHAR(17) NOT NULL, loaned_at DATETIME(6) NOT NULL,"
    " returned_at DATETIME NULL, fee DECIMAL(38,10) NULL, PRIMARY KEY (member_id, book_isbn, loaned_at))",
    "INSERT INTO authors VALUES (1,'Ursula K. Le Guin','1929-10-21','US'),(2,'Stanisław Lem','1921-09-12','PL'),"
    " (3,'Anonymous 🙈',NULL,NULL),(4,'Neil Gaiman','1960-11-10','GB'),(5,'Terry Pratchett','1948-04-28','GB')",
    "INSERT INTO books VALUES"
    " ('978-0-441-47812-5','The Left Hand of Darkness','1969-03-01',1600000000,9.99,"
    '  \'{"pages": 304, "langs": ["en","fr"]}\',NULL,NULL),'
    " ('978-0-15-602768-1','Solaris','1961-06-15',1600000001,12.50,'{\"pages\": 204}',NULL,NULL),"
    " ('978-0-06-085398-3','Good Omens','1990-05-01',NULL,NULL,NULL,NULL,NULL),"
    " ('978-0-06-085398-4','Good Omens 2','1991-05-01',1700000000,15.00,"
    '  \'{"pages": 0, "note": "emoji 🐍 \\\\"quoted\\\\""}\',\'978-0-06-085398-3\',NULL),'
    " ('0-000-00000-0','Withdrawn Book','not a date',1500000000,1.00,'not json','978-0-15-602768-1',"
    "  '2020-01-01 00:00:00'),"
    " ('X-EMPTY','',NULL,0,0.00,'{}','NO-SUCH-ISBN',NULL)",
    "INSERT INTO book_authors VALUES ('978-0-441-47812-5',1,1),('978-0-15-602768-1',2,1),"
    " ('978-0-06-085398-3',4,1),('978-0-06-085398-3',5,2),('978-0-06-085398-4',4,1),('X-EMPTY',3,1)",
    "INSERT INTO members VALUES (10,'Alice','alice@example.com','gold',NULL),(11,'Bob',NULL,NULL,NULL),"
    " (12,'Zoë 🌸','zoe@example.com','silver',NULL),(13,'Gone','gone@example.com','gold','2024-01-01 10:00:00')",
    "INSERT INTO loans VALUES"
    " (10,'978-0-441-47812-5','2024-01-01 10:00:00.000001',NULL,0.1234567891),"
    " (10,'978-0-441-47812-5','2024-01-01 10:00:00.000002','2024-01-10 09:00:00',"
    "  12345678901234567890123456.0123456789),"
    " (10,'978-0-15-602768-1','2024-02-01 00:00:00.000000','2024-02-02 00:00:00',0),"
    " (11,'978-0-06-085398-3','2023-12-31 23:59:59.999999',NULL,NULL),"
    " (12,'978-0-06-085398-4','2024-03-03 03:03:03.300000',NULL,-1.5),"
    " (13,'X-EMPTY','2024-04-04 04:04:04.000000',NULL,2)",
]


def _a(name: str, typ: str, table: str, col: Any, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": typ, "source_table": table, "source_column": col, **kw}


def _sf(fmt: str) -> dict[str, str]:
    return {"type": "string-format", "format": fmt}


def _agg(op: str, target: str, cond: str, col: str) -> dict[str, Any]:
    return {
        "type": "aggregate",
        "operation": op,
        "target_table": target,
        "join_condition": cond,
        "select_column": col,
    }


def _array(
    target: str, cond: str, cols: dict[str, str], order_by: str, limit: int | None = None
) -> dict[str, Any]:
    construction: dict[str, Any] = {"type": "array", "select_columns": cols, "order_by": order_by}
    if limit is not None:
        construction["limit"] = limit
    return {
        "type": "json-construction",
        "target_table": target,
        "join_condition": cond,
        "construction": construction,
    }


def contract(prefix: str) -> dict[str, Any]:
    author = {
        "entity_type": "AUTHOR",
        "source_table": "authors",
        "pk_template": "AUTHOR#{id}",
        "sk_template": "#META",
        "attributes": [
            _a("PK", "S", "authors", "id", transformation=_sf("AUTHOR#{id}")),
            _a("SK", "S", "authors", "id", transformation=_sf("#META")),
            _a("name", "S", "authors", "name"),
            _a("born_year", "S", "authors", "born", transformation={"type": "date-format", "format": "YYYY"}),
            _a("country", "S", "authors", "country"),
            _a(
                "book_count",
                "N",
                "authors",
                "id",
                calculation=_agg(
                    "COUNT", "book_authors", "book_authors.author_id = authors.id", "book_authors.book_isbn"
                ),
            ),
            _a(
                "books",
                "L",
                "authors",
                "id",
                join=_array(
                    "book_authors",
                    "book_authors.author_id = authors.id",
                    {"isbn": "book_isbn", "pos": "position"},
                    "book_isbn DESC",
                    1,
                ),
            ),
            _a("GSI1PK", "S", "authors", "country", transformation=_sf("COUNTRY#{country}")),
            _a("GSI1SK", "S", "authors", "name"),
        ],
    }
    book = {
        "entity_type": "BOOK",
        "source_table": "books",
        "pk_template": "BOOK#{isbn}",
        "sk_template": "#META",
        "filter": "deleted_at IS NULL",
        "attributes": [
            _a("PK", "S", "books", "isbn", transformation=_sf("BOOK#{isbn}")),
            _a("SK", "S", "books", "isbn", transformation=_sf("#META")),
            _a("title", "S", "books", "title"),
            _a(
                "published_month",
                "S",
                "books",
                "published_txt",
                transformation={"type": "date-format", "format": "YYYY-MM", "source_format": "date"},
            ),
            _a(
                "added_on",
                "S",
                "books",
                "added_epoch",
                transformation={"type": "date-format", "format": "YYYY-MM-DD", "source_format": "epoch"},
            ),
            _a("price", "S", "books", "price", transformation={"type": "number-format", "format": "0.00"}),
            _a("price_n", "N", "books", "price"),
            _a("meta", "M", "books", "meta", transformation={"type": "json-parse"}),
            # the table name on both sides: the joined row is the one whose primary key is compared
            _a(
                "prev_title",
                "S",
                "books",
                "prev_isbn",
                join={
                    "type": "foreign-key",
                    "target_table": "books",
                    "join_condition": "books.isbn = books.prev_isbn",
                    "select_column": "books.title",
                },
            ),
            _a(
                "prev_title2",
                "S",
                "books",
                "prev_isbn",
                join={
                    "type": "self-join",
                    "join_alias": "prev",
                    "join_condition": "prev.isbn = books.prev_isbn",
                    "select_column": "prev.title",
                    "null_value": "(none)",
                },
            ),
            _a(
                "author_count",
                "N",
                "books",
                "isbn",
                calculation=_agg(
                    "COUNT", "book_authors", "book_authors.book_isbn = books.isbn", "book_authors.author_id"
                ),
            ),
            _a(
                "loan_fee_total",
                "N",
                "books",
                "isbn",
                calculation=_agg("SUM", "loans", "loans.book_isbn = books.isbn", "loans.fee"),
            ),
            _a(
                "last_loan",
                "S",
                "books",
                "isbn",
                calculation=_agg("MAX", "loans", "loans.book_isbn = books.isbn", "loans.loaned_at"),
            ),
            _a(
                "authors",
                "L",
                "books",
                "isbn",
                join=_array(
                    "book_authors",
                    "book_authors.book_isbn = books.isbn",
                    {"author_id": "author_id", "position": "position"},
                    "position ASC",
                ),
            ),
            _a("GSI1PK", "S", "books", "prev_isbn"),
            _a("GSI1SK", "S", "books", "title"),
        ],
    }
    book_author = {
        "entity_type": "BOOK_AUTHOR",
        "source_table": "book_authors",
        "pk_template": "BOOK#{book_isbn}",
        "sk_template": "AUTHOR#{author_id}",
        "attributes": [
            _a("PK", "S", "book_authors", "book_isbn", transformation=_sf("BOOK#{book_isbn}")),
            _a("SK", "S", "book_authors", "author_id", transformation=_sf("AUTHOR#{author_id}")),
            _a("position", "N", "book_authors", "position"),
            _a(
                "author_no",
                "S",
                "book_authors",
                "author_id",
                transformation={"type": "number-format", "format": "0000"},
            ),
            _a(
                "label",
                "S",
                "book_authors",
                "book_isbn",
                join={
                    "type": "chain",
                    "chain_separator": " / ",
                    "joins": [
                        {
                            "target_table": "books",
                            "join_condition": "books.isbn = book_authors.book_isbn",
                            "select_column": "books.title",
                        },
                        {
                            "target_table": "authors",
                            "join_condition": "authors.id = book_authors.author_id",
                            "select_column": "authors.name",
                        },
                    ],
                },
            ),
            _a(
                "author_country",
                "S",
                "book_authors",
                "author_id",
                join={
                    "type": "chain",
                    "joins": [
                        {
                            "target_table": "authors",
                            "join_condition": "authors.id = book_authors.author_id",
                            "select_column": "authors.country",
                        }
                    ],
                },
            ),
            _a("GSI1PK", "S", "book_authors", "author_id", transformation=_sf("AUTHOR#{author_id}")),
            _a("GSI1SK", "S", "book_authors", "book_isbn"),
        ],
    }
    library = {
        "table": f"{prefix}Library",
        "type": "multi-entity",
        "source_table": "authors",
        "pk": "PK",
        "sk": "SK",
        "gsis": [{"index_name": "GSI1", "pk": "GSI1PK", "sk": "GSI1SK", "projection": "ALL"}],
        "entities": [author, book, book_author],
    }
    loans = {
        "table": f"{prefix}Loans",
        "type": "single-entity",
        "source_table": "loans",
        "pk": "PK",
        "sk": "SK",
        "gsis": [
            {"index_name": "OpenLoans", "pk": "open_flag", "sk": "loaned_at", "projection": "KEYS_ONLY"},
            {
                "index_name": "ByBook",
                "pk": "book_isbn",
                "sk": "loaned_at",
                "projection": "INCLUDE",
                "projected_attributes": ["fee"],
            },
        ],
        "attributes": [
            _a("PK", "S", "loans", "member_id", transformation=_sf("MEMBER#{member_id}")),
            _a(
                "SK",
                "S",
                "loans",
                ["loaned_at", "book_isbn"],
                transformation=_sf("LOAN#{loaned_at}#{book_isbn}"),
            ),
            _a("book_isbn", "S", "loans", "book_isbn"),
            _a("loaned_at", "S", "loans", "loaned_at"),
            _a("returned_at", "S", "loans", "returned_at"),
            _a(
                "loan_month",
                "S",
                "loans",
                "loaned_at",
                transformation={"type": "date-format", "format": "YYYY-MM"},
            ),
            _a("fee", "N", "loans", "fee"),
            _a("fee_fmt", "S", "loans", "fee", transformation={"type": "number-format", "format": "0.00"}),
            _a(
                "member_name",
                "S",
                "loans",
                "member_id",
                join={
                    "type": "foreign-key",
                    "target_table": "members",
                    "join_condition": "members.id = loans.member_id",
                    "select_column": "members.name",
                },
            ),
            _a(
                "member_email",
                "S",
                "loans",
                "member_id",
                join={
                    "type": "multi-column",
                    "target_table": "members",
                    "join_conditions": ["members.id = loans.member_id", "members.deleted_at IS NULL"],
                    "select_column": "members.email",
                },
            ),
            _a(
                "member_class",
                "S",
                "loans",
                "member_id",
                join={
                    "type": "conditional",
                    "condition": "members.tier = 'gold'",
                    "target_table": "members",
                    "join_condition": "members.id = loans.member_id",
                    "select_column": "'VIP'",
                    "else_value": "regular",
                },
            ),
            _a(
                "status",
                "S",
                "loans",
                "returned_at",
                calculation={
                    "type": "case",
                    "cases": [{"when": "returned_at IS NULL", "then": "'open'"}],
                    "else": "'returned'",
                },
            ),
            _a(
                "open_flag",
                "S",
                "loans",
                "returned_at",
                calculation={
                    "type": "case",
                    "cases": [{"when": "returned_at IS NULL", "then": "'OPEN'"}],
                    "else": "NULL",
                },
            ),
            _a(
                "book",
                "M",
                "loans",
                "book_isbn",
                join={
                    "type": "json-construction",
                    "target_table": "books",
                    "join_condition": "books.isbn = loans.book_isbn",
                    "construction": {
                        "type": "object",
                        "select_columns": {"title": "title", "price": "price"},
                    },
                },
            ),
        ],
    }
    members = {
        "table": f"{prefix}Members",
        "type": "single-entity",
        "source_table": "members",
        "pk": "member_id",
        "filter": "members.deleted_at IS NULL",
        "attributes": [
            _a("member_id", "N", "members", "id"),
            _a("name", "S", "members", "name"),
            _a("email", "S", "members", "email"),
            _a(
                "loan_count",
                "N",
                "members",
                "id",
                calculation=_agg("COUNT", "loans", "loans.member_id = members.id", "loans.book_isbn"),
            ),
            # Alice's AVG has 39 significant digits: her row is rejected (accepted knowingly below)
            _a(
                "fee_avg",
                "N",
                "members",
                "id",
                calculation=_agg("AVG", "loans", "loans.member_id = members.id", "loans.fee"),
            ),
            _a(
                "first_loan",
                "S",
                "members",
                "id",
                calculation=_agg("MIN", "loans", "loans.member_id = members.id", "loans.loaned_at"),
            ),
            _a(
                "recent",
                "L",
                "members",
                "id",
                join=_array(
                    "loans",
                    "loans.member_id = members.id",
                    {"isbn": "book_isbn", "at": "loaned_at", "fee": "fee"},
                    "loaned_at DESC",
                    2,
                ),
            ),
            _a("tiers", "SS", "members", "tier", transformation=_sf("{tier}")),
        ],
    }
    return {"tables": [library, loans, members]}


EXPECTED: dict[str, list[dict[str, Any]]] = {
    "Library": [
        {
            "GSI1PK": "COUNTRY#US",
            "GSI1SK": "Ursula K. Le Guin",
            "PK": "AUTHOR#1",
            "SK": "#META",
            "book_count": "1",
            "books": [{"isbn": "978-0-441-47812-5", "pos": "1"}],
            "born_year": "1929",
            "country": "US",
            "name": "Ursula K. Le Guin",
        },
        {
            "GSI1PK": "COUNTRY#PL",
            "GSI1SK": "Stanisław Lem",
            "PK": "AUTHOR#2",
            "SK": "#META",
            "book_count": "1",
            "books": [{"isbn": "978-0-15-602768-1", "pos": "1"}],
            "born_year": "1921",
            "country": "PL",
            "name": "Stanisław Lem",
        },
        {
            "GSI1SK": "Anonymous 🙈",
            "PK": "AUTHOR#3",
            "SK": "#META",
            "book_count": "1",
            "books": [{"isbn": "X-EMPTY", "pos": "1"}],
            "name": "Anonymous 🙈",
        },
        {
            "GSI1PK": "COUNTRY#GB",
            "GSI1SK": "Neil Gaiman",
            "PK": "AUTHOR#4",
            "SK": "#META",
            "book_count": "2",
            "books": [{"isbn": "978-0-06-085398-4", "pos": "1"}],
            "born_year": "1960",
            "country": "GB",
            "name": "Neil Gaiman",
        },
        {
            "GSI1PK": "COUNTRY#GB",
            "GSI1SK": "Terry Pratchett",
            "PK": "AUTHOR#5",
            "SK": "#META",
            "book_count": "1",
            "books": [{"isbn": "978-0-06-085398-3", "pos": "2"}],
            "born_year": "1948",
            "country": "GB",
            "name": "Terry Pratchett",
        },
        {
            "GSI1SK": "Good Omens",
            "PK": "BOOK#978-0-06-085398-3",
            "SK": "#META",
            "author_count": "2",
            "authors": [{"author_id": "4", "position": "1"}, {"author_id": "5", "position": "2"}],
            "last_loan": "2023-12-31 23:59:59.999999",
            "prev_title2": "(none)",
            "published_month": "1990-05",
            "title": "Good Omens",
        },
        {
            "GSI1PK": "AUTHOR#4",
            "GSI1SK": "978-0-06-085398-3",
            "PK": "BOOK#978-0-06-085398-3",
            "SK": "AUTHOR#4",
            "author_country": "GB",
            "author_no": "0004",
            "label": "Good Omens / Neil Gaiman",
            "position": "1",
        },
        {
            "GSI1PK": "AUTHOR#5",
            "GSI1SK": "978-0-06-085398-3",
            "PK": "BOOK#978-0-06-085398-3",
            "SK": "AUTHOR#5",
            "author_country": "GB",
            "author_no": "0005",
            "label": "Good Omens / Terry Pratchett",
            "position": "2",
        },
        {
            "GSI1PK": "978-0-06-085398-3",
            "GSI1SK": "Good Omens 2",
            "PK": "BOOK#978-0-06-085398-4",
            "SK": "#META",
            "added_on": "2023-11-14",
            "author_count": "1",
            "authors": [{"author_id": "4", "position": "1"}],
            "last_loan": "2024-03-03 03:03:03.300000",
            "loan_fee_total": "-1.5",
            "meta": {"note": 'emoji 🐍 "quoted"', "pages": "0"},
            "prev_title": "Good Omens",
            "prev_title2": "Good Omens",
            "price": "15.00",
            "price_n": "15",
            "published_month": "1991-05",
            "title": "Good Omens 2",
        },
        {
            "GSI1PK": "AUTHOR#4",
            "GSI1SK": "978-0-06-085398-4",
            "PK": "BOOK#978-0-06-085398-4",
            "SK": "AUTHOR#4",
            "author_country": "GB",
            "author_no": "0004",
            "label": "Good Omens 2 / Neil Gaiman",
            "position": "1",
        },
        {
            "GSI1SK": "Solaris",
            "PK": "BOOK#978-0-15-602768-1",
            "SK": "#META",
            "added_on": "2020-09-13",
            "author_count": "1",
            "authors": [{"author_id": "2", "position": "1"}],
            "last_loan": "2024-02-01 00:00:00.000000",
            "loan_fee_total": "0",
            "meta": {"pages": "204"},
            "prev_title2": "(none)",
            "price": "12.50",
            "price_n": "12.5",
            "published_month": "1961-06",
            "title": "Solaris",
        },
        {
            "GSI1PK": "AUTHOR#2",
            "GSI1SK": "978-0-15-602768-1",
            "PK": "BOOK#978-0-15-602768-1",
            "SK": "AUTHOR#2",
            "author_country": "PL",
            "author_no": "0002",
            "label": "Solaris / Stanisław Lem",
            "position": "1",
        },
        {
            "GSI1SK": "The Left Hand of Darkness",
            "PK": "BOOK#978-0-441-47812-5",
            "SK": "#META",
            "added_on": "2020-09-13",
            "author_count": "1",
            "authors": [{"author_id": "1", "position": "1"}],
            "last_loan": "2024-01-01 10:00:00.000002",
            "loan_fee_total": "12345678901234567890123456.135802468",
            "meta": {"langs": ["en", "fr"], "pages": "304"},
            "prev_title2": "(none)",
            "price": "9.99",
            "price_n": "9.99",
            "published_month": "1969-03",
            "title": "The Left Hand of Darkness",
        },
        {
            "GSI1PK": "AUTHOR#1",
            "GSI1SK": "978-0-441-47812-5",
            "PK": "BOOK#978-0-441-47812-5",
            "SK": "AUTHOR#1",
            "author_country": "US",
            "author_no": "0001",
            "label": "The Left Hand of Darkness / Ursula K. Le Guin",
            "position": "1",
        },
        {
            "GSI1PK": "NO-SUCH-ISBN",
            "PK": "BOOK#X-EMPTY",
            "SK": "#META",
            "added_on": "1970-01-01",
            "author_count": "1",
            "authors": [{"author_id": "3", "position": "1"}],
            "last_loan": "2024-04-04 04:04:04.000000",
            "loan_fee_total": "2",
            "meta": {},
            "prev_title2": "(none)",
            "price": "0.00",
            "price_n": "0",
            "title": "",
        },
        {
            "GSI1PK": "AUTHOR#3",
            "GSI1SK": "X-EMPTY",
            "PK": "BOOK#X-EMPTY",
            "SK": "AUTHOR#3",
            "author_no": "0003",
            "label": " / Anonymous 🙈",
            "position": "1",
        },
    ],
    "Loans": [
        {
            "PK": "MEMBER#10",
            "SK": "LOAN#2024-01-01 10:00:00.000001#978-0-441-47812-5",
            "book": {"price": "9.99", "title": "The Left Hand of Darkness"},
            "book_isbn": "978-0-441-47812-5",
            "fee": "0.1234567891",
            "fee_fmt": "0.12",
            "loan_month": "2024-01",
            "loaned_at": "2024-01-01 10:00:00.000001",
            "member_class": "VIP",
            "member_email": "alice@example.com",
            "member_name": "Alice",
            "open_flag": "OPEN",
            "status": "open",
        },
        {
            "PK": "MEMBER#10",
            "SK": "LOAN#2024-01-01 10:00:00.000002#978-0-441-47812-5",
            "book": {"price": "9.99", "title": "The Left Hand of Darkness"},
            "book_isbn": "978-0-441-47812-5",
            "fee": "12345678901234567890123456.0123456789",
            "fee_fmt": "12345678901234567890123456.01",
            "loan_month": "2024-01",
            "loaned_at": "2024-01-01 10:00:00.000002",
            "member_class": "VIP",
            "member_email": "alice@example.com",
            "member_name": "Alice",
            "returned_at": "2024-01-10 09:00:00",
            "status": "returned",
        },
        {
            "PK": "MEMBER#10",
            "SK": "LOAN#2024-02-01 00:00:00.000000#978-0-15-602768-1",
            "book": {"price": "12.5", "title": "Solaris"},
            "book_isbn": "978-0-15-602768-1",
            "fee": "0",
            "fee_fmt": "0.00",
            "loan_month": "2024-02",
            "loaned_at": "2024-02-01 00:00:00.000000",
            "member_class": "VIP",
            "member_email": "alice@example.com",
            "member_name": "Alice",
            "returned_at": "2024-02-02 00:00:00",
            "status": "returned",
        },
        {
            "PK": "MEMBER#11",
            "SK": "LOAN#2023-12-31 23:59:59.999999#978-0-06-085398-3",
            "book": {"price": None, "title": "Good Omens"},
            "book_isbn": "978-0-06-085398-3",
            "loan_month": "2023-12",
            "loaned_at": "2023-12-31 23:59:59.999999",
            "member_class": "regular",
            "member_name": "Bob",
            "open_flag": "OPEN",
            "status": "open",
        },
        {
            "PK": "MEMBER#12",
            "SK": "LOAN#2024-03-03 03:03:03.300000#978-0-06-085398-4",
            "book": {"price": "15", "title": "Good Omens 2"},
            "book_isbn": "978-0-06-085398-4",
            "fee": "-1.5",
            "fee_fmt": "-1.50",
            "loan_month": "2024-03",
            "loaned_at": "2024-03-03 03:03:03.300000",
            "member_class": "regular",
            "member_email": "zoe@example.com",
            "member_name": "Zoë 🌸",
            "open_flag": "OPEN",
            "status": "open",
        },
        {
            "PK": "MEMBER#13",
            "SK": "LOAN#2024-04-04 04:04:04.000000#X-EMPTY",
            "book": {"price": "0", "title": ""},
            "book_isbn": "X-EMPTY",
            "fee": "2",
            "fee_fmt": "2.00",
            "loan_month": "2024-04",
            "loaned_at": "2024-04-04 04:04:04.000000",
            "member_class": "VIP",
            "member_name": "Gone",
            "open_flag": "OPEN",
            "status": "open",
        },
    ],
    "Members": [
        {
            "first_loan": "2023-12-31 23:59:59.999999",
            "loan_count": "1",
            "member_id": "11",
            "name": "Bob",
            "recent": [{"at": "2023-12-31 23:59:59.999999", "fee": None, "isbn": "978-0-06-085398-3"}],
        },
        {
            "email": "zoe@example.com",
            "fee_avg": "-1.5",
            "first_loan": "2024-03-03 03:03:03.300000",
            "loan_count": "1",
            "member_id": "12",
            "name": "Zoë 🌸",
            "recent": [{"at": "2024-03-03 03:03:03.300000", "fee": "-1.5", "isbn": "978-0-06-085398-4"}],
            "tiers": ["silver"],
        },
    ],
}


def _plain(value: Any) -> Any:
    """A deserialized DynamoDB value as JSON-like data: numbers as their decimal text, sets sorted."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


def _items(ddb_client: Any, table: str) -> list[dict[str, Any]]:
    td = TypeDeserializer()
    items = []
    for page in ddb_client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            items.append({k: _plain(td.deserialize(v)) for k, v in raw.items() if k != "_dm_marker"})
    return sorted(items, key=lambda d: json.dumps([d.get("PK"), d.get("SK"), d.get("member_id")]))


def test_library_end_to_end_exact_items(
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
    path = tmp_path / "library-contract.json"
    path.write_text(json.dumps(contract(ddb_prefix), ensure_ascii=False), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, path)

    # a BIGINT read as epoch seconds is a date by its source_format: no C224 "not a date"
    assert main(["contract", "check", str(path), "--config", str(cfg)]) == 0
    assert "C224" not in capsys.readouterr().out

    # README step 2 as written: without --dialect the server's dialect, so the file applies on MariaDB
    sql = tmp_path / "views.sql"
    assert (
        main(
            [
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
        )
        == 0
    )
    assert "dialect: mariadb" in capsys.readouterr().err
    assert main(["views", "apply", str(sql), "--config", str(cfg)]) == 0
    capsys.readouterr()

    # Alice's AVG (39 digits) stops preflight; the orphaned prev_isbn is a warning that says what the
    # items get: prev_title absent, prev_title2 its null_value
    assert main(["preflight", "--config", str(cfg)]) == 1
    out = capsys.readouterr().out
    assert f"ERROR   P141 number_precision: {ddb_prefix}Members.fee_avg: 1 row(s)" in out
    assert (
        "1 row(s) have a join key (books.prev_isbn) that matches no row of books: 'prev_title' will be absent "
        "from their items; 'prev_title2' gets its null_value '(none)' (tables[0].entities[1].attributes[8].join)"
    ) in out

    assert main(["migrate", "--config", str(cfg), "--accept", "number_precision"]) == 0
    capsys.readouterr()
    for name, expected in EXPECTED.items():
        assert _items(ddb_client, f"{ddb_prefix}{name}") == expected, name

    run_dir = next(p for p in (tmp_path / "runs").iterdir() if (p / "report.json").exists())
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    equations = {t["name"].removeprefix(ddb_prefix): t["accounting"]["equation"] for t in report["tables"]}
    assert equations == {
        "Library": "17 source rows = written 16 + skipped 0 + conflicts 0 + rejected 0 + filtered 1",
        "Loans": "6 source rows = written 6 + skipped 0 + conflicts 0 + rejected 0 + filtered 0",
        "Members": "4 source rows = written 2 + skipped 0 + conflicts 0 + rejected 1 + filtered 1",
    }
    rejected = [
        json.loads(line) for line in (run_dir / "rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(r["key"], r["code"]) for r in rejected] == [({"member_id": {"N": "10"}}, "bad_number")]

    assert main(["validate", "--config", str(cfg), "--full"]) == 0
    assert "differing 0" in capsys.readouterr().out


def test_duplicate_rows_without_primary_key_are_skipped_not_written(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Two identical rows of a table without a primary key give one key: one written, one skipped.

    The conditional writers took the second row's failed condition for "our own earlier write" (same
    content, same marker) and counted both rows as written, while DynamoDB holds one item; the batch
    strategy already said skipped. Both strategies must say the same.
    """
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE readings (device_id BIGINT UNSIGNED NOT NULL, ts DATETIME(6) NOT NULL, v DECIMAL(38,10))"
        )
        cur.execute(
            "INSERT INTO readings VALUES (18446744073709551615,'2024-01-01 00:00:00.000001',1.5),"
            " (18446744073709551615,'2024-01-01 00:00:00.000001',1.5), (1,'2024-06-30 23:59:59.999999',NULL)"
        )
    mysql_conn.commit()
    expected = [
        {"PK": "DEV#1", "SK": "2024-06-30 23:59:59.999999", "device_id": "1"},
        {
            "PK": "DEV#18446744073709551615",
            "SK": "2024-01-01 00:00:00.000001",
            "device_id": "18446744073709551615",
            "v": "1.5",
        },
    ]
    for strategy in ("auto", "batch"):
        table = f"{ddb_prefix}Readings{strategy}"
        path = tmp_path / f"{strategy}.json"
        attrs = [
            _a("PK", "S", "readings", "device_id", transformation=_sf("DEV#{device_id}")),
            _a("SK", "S", "readings", "ts"),
            _a("device_id", "N", "readings", "device_id"),
            _a("v", "N", "readings", "v"),
        ]
        doc = {
            "table": table,
            "type": "single-entity",
            "source_table": "readings",
            "pk": "PK",
            "sk": "SK",
            "attributes": attrs,
        }
        path.write_text(json.dumps({"tables": [doc]}), encoding="utf-8")
        (tmp_path / strategy).mkdir()
        _, cfg = make_config(tmp_path / strategy, mysql_db, ddb_endpoint, path)
        argv = [
            "migrate",
            "--config",
            str(cfg),
            "--accept",
            "duplicate_key",
            "--skip-validation",
            "--strategy",
            strategy,
        ]
        assert main(argv) == 0
        assert _items(ddb_client, table) == expected
        run_dir = next(p for p in (tmp_path / strategy / "runs").iterdir() if (p / "report.json").exists())
        report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
        assert report["tables"][0]["accounting"]["equation"] == (
            "3 source rows = written 2 + skipped 1 + conflicts 0 + rejected 0 + filtered 0"
        ), strategy
