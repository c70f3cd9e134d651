"""Reference evaluator: the contract computed in plain Python from base-table rows.

It shares no code with :mod:`dynamigrate.sqlgen` or :mod:`dynamigrate.target.encode`: only the contract
model and the value rules of docs/contract-format.md. Its items are the second, independent reading of
the contract that ``validate`` compares DynamoDB (and the views) with.

API (stable; ``validate`` codes against it)::

    from dynamigrate.evaluate import Evaluator, EvalRow, compare_items, json_text_attributes

    ev = Evaluator(conn_factory, contract, "Orders")   # conn_factory() -> a PyMySQL connection to the
                                                       # source database (autocommit); the table by name
                                                       # or a contract.model.Table
    ev.count_source(entity)          # COUNT(*) of the entity's base table, with its ``filter``
    ev.iter_items(entity, chunk_rows=1000)   # every source row -> EvalRow, keyset over the row key
    ev.items_for_source_keys(entity, keys)   # the rows with these keys (key_columns order), input order;
                                             # keys without a source row are left out
    ev.sample(entity, n, seed)       # n random source rows (all when fewer), reproducible by seed
    ev.key_columns(entity)           # the columns of EvalRow.source_key
    ev.plan(entity).notes            # interpretations the evaluator made (self-references...)
    ev.close()                       # (also a context manager)

``entity`` is an :class:`~dynamigrate.contract.model.Entity`, an entity_type, or None for a
single-entity table. :class:`EvalRow` has ``source_key`` (tuple of the row key's values: the primary
key, else a NOT NULL unique key, else every column), ``item`` (low-level DynamoDB JSON: ``{"S": ..}``,
``{"N": "12.5"}``, ``{"L": [...]}``, ``{"M": {...}}``, ``{"B": bytes}``, ``{"SS": [...]}``... without the
migration marker; None when rejected), ``rejection`` (reason text) and ``code`` (``null_key``,
``empty_key``, ``too_large``, ``bad_number``, ``bad_json``, ``bad_bool``, ``bad_binary``, ``bad_set``,
``bad_string``: the encoder's codes), ``entity``, ``omitted_gsi_keys`` (empty GSI key attributes left
out), ``notes`` (e.g. a to-one join that matched several rows) and ``key``: a rejected row's table key
when a non-key attribute rejects it (None when the key itself fails, and for items).

Compare with :func:`compare_items(expected, actual, json_text_attrs)` (``json_text_attrs =
json_text_attributes(entity)``): N values are compared numerically exactly (``Decimal``, ``1.50`` ==
``1.5``: the evaluator emits DynamoDB's canonical form, but a view or another writer may not), sets as
sets, and JSON text built by a json-construction of type S as a JSON document.

How it computes (docs/validation.md, "The reference evaluator"):

* Rows come from plain parameterised SELECTs on the base tables, per chunk of source rows: the source
  rows (keyset on the row key; one streaming pass when the table has no key), then for each join or
  related collection one SELECT per chunk with an ``IN`` list of the values the chunk's rows look for.
* Which joined row belongs to which source row (to-one joins, chains, self-references by the primary
  key rule), grouping of related rows, ``order_by`` (then the target's primary key; the default order is
  the primary key), ``limit``, aggregation (COUNT of nothing 0, the others absent; AVG rounded like the
  server, ``div_precision_increment``), NULL handling (absent attributes, NULL placeholders, NULLs
  skipped by separators), key and size rules and the typing into DynamoDB values are Python.
* Contract SQL fragments (select expressions, conditions, ``case`` parts, filters) are SQL by
  definition: the server evaluates each over one row of one table, in the SELECT that fetches that row.
  A join-condition part over both rows that is not an equality of columns (``p.since <= o.created``) is
  evaluated for each (row, candidate) pair the equalities found, both rows located by their keys (it
  needs a row key on the current table and a primary key on the target). Other fragments that mix two
  rows, and join conditions without any equality between the rows, raise
  :class:`EvaluationUnsupported`.

Text is matched, ordered, deduplicated and compared for MIN/MAX by the server's collation weights
(``WEIGHT_STRING``, trailing spaces dropped: PAD SPACE collations), fetched with the rows; the logic stays
Python. Known approximations (documented): a key given to ``items_for_source_keys`` is matched to the
fetched row case- and accent-insensitively; FLOAT columns are fetched as ``CAST(col AS DOUBLE)`` (the
server sends a FLOAT with 6 digits); doubles are printed as MariaDB prints them (``values.double_text``:
repr's shortest digits, MariaDB's choice between written-out and exponent form; 60,000 values compared
with the server, none differ); ties in ``order_by`` are broken by the primary key (the
server's order of ties is undefined), ties of MIN/MAX on text by the first row in key order; on a NO PAD
collation (MySQL 8's ``utf8mb4_0900_ai_ci``) trailing spaces would count for the server but not here.
"""

from dynamigrate.evaluate.compare import Difference, compare_items, json_text_attributes, values_equal
from dynamigrate.evaluate.engine import DEFAULT_MARKER_OVERHEAD, EvalRow, Evaluator
from dynamigrate.evaluate.fragments import EvaluationUnsupported

__all__ = [
    "DEFAULT_MARKER_OVERHEAD",
    "Difference",
    "EvalRow",
    "EvaluationUnsupported",
    "Evaluator",
    "compare_items",
    "json_text_attributes",
    "values_equal",
]
