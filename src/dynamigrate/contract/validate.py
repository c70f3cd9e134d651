"""Semantic checks of a loaded contract (no database needed), and the combined contract check.

The structural loader (:mod:`dynamigrate.contract.load`) has already verified shapes and types of
fields; here we check what needs the whole model: keys present in every entity with a key type,
consistent types across entities, GSI definitions, reserved names, and the small languages inside
transformations (``{col}`` placeholders, date-format tokens, number-format patterns). Every problem
carries its JSON path, a fix and a stable code (docs/contract-checks.md lists them all).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from dynamigrate.contract.model import (
    DOCUMENT_TYPES,
    HELPER_PREFIX,
    KEY_TYPES,
    Attribute,
    Contract,
    Entity,
    Table,
)
from dynamigrate.contract.problems import ProblemList, did_you_mean
from dynamigrate.source.schema import SchemaInfo

#: DynamoDB's default quota of global secondary indexes per table
MAX_GSIS = 20
#: tokens of a date-format ``format`` (docs/contract-format.md), longest first for the scanner
DATE_TOKENS = ("YYYY", "MM", "DD", "HH", "mm", "ss")
#: MySQL DATE_FORMAT specifiers people write instead of tokens -> the token to use
MYSQL_TO_TOKEN = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH", "%i": "mm", "%s": "ss"}
#: letters allowed as literals inside a date format (ISO 8601 separators)
DATE_LITERAL_LETTERS = {"T", "Z"}
#: names a date-format ``source_format`` may take instead of a token pattern (docs/contract-checks.md)
SOURCE_FORMAT_NAMES = ("date", "datetime", "iso8601", "epoch", "epoch_ms")
#: what people write for those names -> the name (compared case-insensitively, '-' as '_')
SOURCE_FORMAT_ALIASES = {
    "iso_8601": "iso8601",
    "iso": "iso8601",
    "epoch_s": "epoch",
    "epoch_seconds": "epoch",
    "unix": "epoch",
    "unix_seconds": "epoch",
    "epoch_millis": "epoch_ms",
    "epoch_milliseconds": "epoch_ms",
    "unix_ms": "epoch_ms",
}
NUMBER_FORMAT_RE = re.compile(r"^0+(\.0+)?$")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
QUALIFIED_NAME_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_$]*\s*\.\s*)?[A-Za-z_][A-Za-z0-9_$ ]*$")
NUMERIC_LITERAL_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
#: values a BOOL attribute may take from a static transformation
BOOL_LITERALS = {"0", "1", "true", "false"}


def check_contract(contract: Contract, schema: SchemaInfo | None = None) -> ProblemList:
    """Semantic validation, the readings that are not certain (C301; with a schema they use its
    foreign keys), plus the live-schema lint when a schema is given."""
    from dynamigrate.contract.readings import reading_problems

    problems = validate_contract(contract)
    problems.extend(reading_problems(contract, schema))
    if schema is not None:
        from dynamigrate.contract.lint import lint_contract

        problems.extend(lint_contract(contract, schema))
    return problems


def validate_contract(contract: Contract) -> ProblemList:
    """Every semantic problem of the contract (errors and warnings), each with its JSON path."""
    problems = ProblemList()
    for table in contract.tables:
        _check_table(table, problems)
    return problems


# -- placeholders (also used by the lint) ------------------------------------------------------------


def _scan_format(text: str) -> tuple[list[str], str | None]:
    """(placeholder names, syntax error) of a format text; ``{{`` and ``}}`` are literal braces."""
    names: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("{{", i) or text.startswith("}}", i):
            i += 2
            continue
        ch = text[i]
        if ch == "}":
            return names, "'}' without a matching '{' (write '}}' for a literal brace)"
        if ch == "{":
            end = text.find("}", i)
            if end < 0:
                return names, "'{' without a closing '}' (write '{{' for a literal brace)"
            name = text[i + 1 : end].strip()
            if "{" in name:
                return names, "nested '{' (placeholders cannot contain braces)"
            names.append(name)
            i = end + 1
            continue
        i += 1
    return names, None


def placeholders(text: str) -> list[str]:
    """Column names inside ``{...}`` of a string-format/template text, in order (``{t.col}`` -> col)."""
    names, _ = _scan_format(text)
    return [n.split(".", 1)[1].strip() if "." in n else n for n in names]


def placeholder_qualifiers(text: str) -> list[str]:
    """Table names of qualified placeholders (``{orders.id}`` -> orders)."""
    names, _ = _scan_format(text)
    return [n.split(".", 1)[0].strip() for n in names if "." in n]


def placeholder_syntax_error(text: str) -> str | None:
    """What is wrong with the braces of a format text, or None when it is well formed."""
    names, err = _scan_format(text)
    if err:
        return err
    for name in names:
        if not name:
            return "empty placeholder '{}'"
        if not QUALIFIED_NAME_RE.match(name):
            return f"placeholder '{{{name}}}' is not a column name"
    return None


def date_format_unknown_tokens(fmt: str) -> list[str]:
    """Letter runs of a date format that are not known tokens (empty list when the format is fine).

    MySQL ``DATE_FORMAT`` specifiers (``%Y``) are unknown too: the view generator copies them as literal
    text, so ``%Y-%m`` would silently become the text "%Y-%m" in every item.
    """
    bad = []
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if not ch.isalpha():
            i += 1
            continue
        token = next((t for t in DATE_TOKENS if fmt.startswith(t, i)), None)
        if token is not None:
            i += len(token)
            continue
        if ch in DATE_LITERAL_LETTERS:
            i += 1
            continue
        if i > 0 and fmt[i - 1] == "%":
            bad.append("%" + ch)
            i += 1
            continue
        j = i
        while j < len(fmt) and fmt[j] == ch:
            j += 1
        bad.append(fmt[i:j])
        i = j
    return bad


def source_format_name(value: str) -> str | None:
    """The documented name a ``source_format`` stands for (``"ISO-8601"`` -> iso8601), or None when it
    is not a name (then it must be a token pattern)."""
    key = value.strip().lower().replace("-", "_").replace(" ", "_")
    if key in SOURCE_FORMAT_NAMES:
        return key
    return SOURCE_FORMAT_ALIASES.get(key)


def source_format_problem(value: object) -> tuple[str, str] | None:
    """(message, fix) when a date-format ``source_format`` is neither a documented name nor a token
    pattern; None when it can be read. Anything else would make STR_TO_DATE return NULL in every row."""
    names = ", ".join(SOURCE_FORMAT_NAMES)
    if not isinstance(value, str) or not value.strip():
        return (
            f"source_format must be a name ({names}) or a token pattern, got {value!r}",
            'e.g. "source_format": "iso8601" or "source_format": "DD/MM/YYYY"',
        )
    if source_format_name(value) is not None:
        return None
    bad = date_format_unknown_tokens(value)
    has_token = any(t in value for t in DATE_TOKENS)
    if not bad and has_token:
        missing = [t for t in ("YYYY", "MM", "DD") if t not in value]
        if not missing:
            return None
        return (
            f"source_format '{value}' has no {' or '.join(missing)}: it never names a day, every value would be NULL",
            'a pattern read as a date needs YYYY, MM and DD, e.g. "YYYY-MM-DD" or "DD/MM/YYYY HH:mm"; text that '
            "holds no day cannot be read as a date",
        )
    fix = f'use a name ({names}) or a pattern of the tokens {" ".join(DATE_TOKENS)}, e.g. "DD/MM/YYYY HH:mm"'
    if "%" in value:
        suggestion = value
        for spec, token in MYSQL_TO_TOKEN.items():
            suggestion = suggestion.replace(spec, token)
        fix = f'MySQL specifiers are not read here: write "{suggestion}" ({fix})'
    else:
        guess = did_you_mean(value.strip().lower(), [*SOURCE_FORMAT_NAMES, *SOURCE_FORMAT_ALIASES])
        if guess:
            fix = f'did you mean "{source_format_name(guess)}"? ({fix})'
    what = f"unknown token(s) {', '.join(repr(b) for b in bad)}" if bad else "no date token"
    return (f"source_format '{value}' is not a known name and not a date pattern ({what})", fix)


# -- table level -------------------------------------------------------------------------------------


def _all_attributes(table: Table) -> Iterator[tuple[Entity, Attribute]]:
    for entity in table.entities:
        for attr in entity.attributes:
            yield entity, attr


def _entity_label(table: Table, entity: Entity) -> str:
    return f"entity '{entity.entity_type}'" if table.multi_entity else f"table '{table.name}'"


def _check_table(table: Table, problems: ProblemList) -> None:
    if table.sk is not None and table.sk == table.pk:
        problems.error(
            f"{table.path}.sk",
            f"the sort key '{table.sk}' is the partition key too",
            'use a different attribute as sort key, or set "sk": null',
            code="C101",
        )
    all_names = table.attribute_names
    # table keys: present in every entity, with a key type, the same type everywhere
    for role, key in (("pk", table.pk), ("sk", table.sk)):
        if key is None:
            continue
        for entity in table.entities:
            attr = entity.attribute(key)
            if attr is None:
                guess = did_you_mean(key, entity.attribute_names)
                fix = f"add an attribute named '{key}' to {_entity_label(table, entity)}"
                if guess:
                    fix += f" (or did you mean '{guess}'?)"
                problems.error(
                    f"{entity.path}.attributes",
                    f"the table's {'partition' if role == 'pk' else 'sort'} key '{key}' is not produced by "
                    f"{_entity_label(table, entity)}: every item needs it",
                    fix,
                    code="C102",
                )
        _check_key_types(table, key, f"table {'partition' if role == 'pk' else 'sort'} key", problems)

    # GSIs
    if len(table.gsis) > MAX_GSIS:
        problems.error(
            f"{table.path}.gsis",
            f"{len(table.gsis)} global secondary indexes: DynamoDB allows {MAX_GSIS} per table",
            "merge indexes (overload GSI keys) or move access patterns to another table",
            code="C110",
        )
    for gsi in table.gsis:
        for role, key in (("pk", gsi.pk), ("sk", gsi.sk)):
            if key is None:
                continue
            if key not in all_names:
                guess = did_you_mean(key, all_names)
                problems.error(
                    f"{gsi.path}.{role}",
                    f"index '{gsi.index_name}' uses key attribute '{key}', which no entity produces",
                    f"did you mean '{guess}'?" if guess else f"add an attribute named '{key}'",
                    code="C111",
                )
                continue
            _check_key_types(table, key, f"key of index '{gsi.index_name}'", problems)
        for entity in table.entities:
            missing = [
                (role, key)
                for role, key in (("pk", gsi.pk), ("sk", gsi.sk))
                if key is not None and key in all_names and entity.attribute(key) is None
            ]
            if missing:
                names = " and ".join(f"'{k}'" for _, k in missing)
                problems.warning(
                    f"{gsi.path}.{missing[0][0]}",
                    f"{_entity_label(table, entity)} does not produce {names}: its items will not "
                    f"appear in index '{gsi.index_name}'",
                    f"add {names} to {_entity_label(table, entity)} if its items belong in the index",
                    code="C112",
                )
        if gsi.sk is not None and gsi.sk == gsi.pk:
            problems.error(
                f"{gsi.path}.sk",
                f"index '{gsi.index_name}' uses '{gsi.pk}' as both partition and sort key",
                "use a different sort key attribute, or remove 'sk'",
                code="C113",
            )
        for k, name in enumerate(gsi.projected_attributes):
            if name not in all_names:
                guess = did_you_mean(name, all_names)
                problems.error(
                    f"{gsi.path}.projected_attributes[{k}]",
                    f"projected attribute '{name}' of index '{gsi.index_name}' is not produced by any entity",
                    f"did you mean '{guess}'?" if guess else "remove it or add the attribute",
                    code="C114",
                )

    # the same attribute name with different types across entities: the view has one column per
    # name and the item encoder uses one type per column, so one entity would be encoded wrongly
    first: dict[str, Attribute] = {}
    for entity, attr in _all_attributes(table):
        prev = first.setdefault(attr.name, attr)
        if prev is not attr and prev.type != attr.type:
            key_names = set(table.key_names) | set(table.index_key_names)
            if attr.name in key_names:
                continue  # reported by _check_key_types
            problems.error(
                f"{attr.path}.type",
                f"attribute '{attr.name}' is {attr.type} here but {prev.type} in {prev.path}: one view "
                f"column cannot carry both types",
                f"use the same type in every entity, or rename one of them (e.g. '{attr.name}_{entity.entity_type.lower()}')",
                code="C104",
            )

    # constant keys: every item of an entity would get the same key
    for entity in table.entities:
        keys = [entity.attribute(k) for k in table.key_names]
        if all(a is not None and _is_constant(a) for a in keys):
            problems.error(
                f"{entity.path}.attributes",
                f"every key attribute of {_entity_label(table, entity)} is a constant "
                f"({', '.join(table.key_names)}): all its rows would collapse into one item",
                'build the partition or sort key from a column that identifies the row, e.g. "USER#{id}"',
                code="C105",
            )

    for entity, attr in _all_attributes(table):
        _check_attribute(table, entity, attr, problems)
    for entity in table.entities:
        _check_filter(table, entity, problems)


def _check_filter(table: Table, entity: Entity, problems: ProblemList) -> None:
    """dynamigrate's ``filter``: one safe SQL condition over the source row (the generator's rules)."""
    if entity.filter is None:
        return
    from dynamigrate.errors import ContractError, SqlGenError
    from dynamigrate.sqlgen.filters import filter_path, filter_tree

    try:
        filter_tree(entity, table=table.name)
    except SqlGenError as exc:
        problems.error(
            filter_path(entity),
            exc.message,
            exc.hint or "write one SQL condition, e.g. deleted_at IS NULL",
            code="C140",
        )
    except ContractError as exc:
        problems.error(filter_path(entity), exc.message, exc.hint, code="C141")


def _check_key_types(table: Table, key: str, what: str, problems: ProblemList) -> None:
    types: dict[str, Attribute] = {}
    for _entity, attr in _all_attributes(table):
        if attr.name != key:
            continue
        if attr.type not in KEY_TYPES:
            problems.error(
                f"{attr.path}.type",
                f"'{key}' is the {what} but has type {attr.type}: key attributes must be S, N or B",
                'use "type": "S" (or N for numbers, B for binary)',
                code="C103",
            )
            continue
        types.setdefault(attr.type, attr)
    if len(types) > 1:
        (t1, a1), (t2, a2) = list(types.items())[:2]
        problems.error(
            f"{a2.path}.type",
            f"'{key}' is the {what} but its type differs between entities ({t1} in {a1.path}, {t2} here)",
            "use one key type in every entity (usually S; format numbers into text with {col})",
            code="C103",
        )


def _is_constant(attr: Attribute) -> bool:
    t = attr.transformation
    if t is None or attr.join is not None or attr.calculation is not None:
        return False
    if t.type == "static":
        return True
    return t.type in ("string-format", "template") and t.format is not None and not placeholders(t.format)


# -- attribute level ---------------------------------------------------------------------------------


def _check_attribute(table: Table, entity: Entity, attr: Attribute, problems: ProblemList) -> None:
    path = attr.path
    if attr.name.startswith(HELPER_PREFIX):
        problems.error(
            f"{path}.name",
            f"attribute names starting with '{HELPER_PREFIX}' are reserved for dynamigrate's helper columns",
            f"rename it (e.g. '{attr.name[len(HELPER_PREFIX) :] or 'value'}')",
            code="C106",
        )
    if not attr.name.strip():
        problems.error(f"{path}.name", "attribute name is blank", "give the attribute a name", code="C106")

    is_plain = attr.join is None and attr.calculation is None
    if (
        is_plain
        and attr.source_table
        and attr.source_table.lower() != entity.source_table.lower()
        and not (attr.transformation is not None and attr.transformation.type == "static")
    ):
        problems.error(
            f"{path}.source_table",
            f"attribute '{attr.name}' reads from '{attr.source_table}' but the rows of "
            f"{_entity_label(table, entity)} come from '{entity.source_table}', and it has no join",
            f"add a foreign-key join to '{attr.source_table}', or set source_table to '{entity.source_table}'",
            code="C107",
        )

    t = attr.transformation
    if t is not None:
        _check_transformation(attr, problems)
        if t.type in ("string-format", "template") and t.format and not placeholder_syntax_error(t.format):
            for qual in placeholder_qualifiers(t.format):
                if qual.lower() != entity.source_table.lower():
                    problems.error(
                        f"{t.path}.{'template' if t.type == 'template' else 'format'}",
                        f"placeholder names table '{qual}': placeholders name columns of the source row "
                        f"('{entity.source_table}')",
                        "join the other table in a separate attribute (foreign-key or chain join)",
                        code="C120",
                    )
    if attr.join is not None:
        _check_join(table, attr, problems)
    c = attr.calculation
    if c is not None and c.type == "aggregate":
        op = (c.operation or "").upper()
        if op in ("COUNT", "SUM", "AVG") and attr.type != "N":
            if attr.type == "S":
                problems.warning(
                    f"{path}.type",
                    f"{op} gives a number, but '{attr.name}' is S: it will be stored as text",
                    'use "type": "N" unless the text form is wanted (e.g. inside a key)',
                    code="C130",
                )
            else:
                problems.error(
                    f"{path}.type",
                    f"{op} gives a number, but '{attr.name}' is {attr.type}",
                    'use "type": "N"',
                    code="C130",
                )
        if op in ("MIN", "MAX") and attr.type in (*DOCUMENT_TYPES, "BOOL", "SS", "NS", "BS"):
            problems.error(
                f"{path}.type",
                f"{op} gives a single value, but '{attr.name}' is {attr.type}",
                'use "type": "S" or "N"',
                code="C130",
            )
    if c is not None and attr.type in DOCUMENT_TYPES and c.type in ("concat", "date-math"):
        problems.error(
            f"{path}.type",
            f"a {c.type} calculation gives text, but '{attr.name}' is {attr.type}",
            'use "type": "S"',
            code="C131",
        )
    if attr.type == "NULL" and (attr.join or c or t):
        problems.warning(
            f"{path}.type",
            f"'{attr.name}' has type NULL: its computed value is discarded",
            "use the type of the value, or remove the join/calculation/transformation",
            code="C132",
        )


def _check_transformation(attr: Attribute, problems: ProblemList) -> None:
    t = attr.transformation
    assert t is not None
    fpath = f"{t.path}.template" if t.type == "template" and t.format is not None else f"{t.path}.format"
    if t.type in ("string-format", "template") and t.format is not None:
        err = placeholder_syntax_error(t.format)
        if err:
            problems.error(
                fpath,
                f"malformed format '{t.format}': {err}",
                'write placeholders as {column_name}, e.g. "ORDER#{created_at}#{id}"',
                code="C120",
            )
        elif attr.type == "N":
            literal = PLACEHOLDER_RE.sub("", t.format.replace("{{", "").replace("}}", ""))
            if literal.strip() and not NUMERIC_LITERAL_RE.match(literal.strip()):
                problems.error(
                    f"{attr.path}.type",
                    f"'{attr.name}' is N but its format '{t.format}' adds text ('{literal}'): the value "
                    f"is not a number",
                    'use "type": "S" for composite keys',
                    code="C121",
                )
        if attr.type in (*DOCUMENT_TYPES, "BOOL", "NS", "BS", "B"):
            problems.error(
                f"{attr.path}.type",
                f"a {t.type} transformation gives text, but '{attr.name}' is {attr.type}",
                'use "type": "S"',
                code="C122",
            )
    elif t.type == "date-format" and t.format is not None:
        if t.source_format is not None:
            sf = source_format_problem(t.source_format)
            if sf is not None:
                problems.error(f"{t.path}.source_format", sf[0], sf[1], code="C134")
        bad = date_format_unknown_tokens(t.format)
        if bad:
            fix = f'use the tokens {" ".join(DATE_TOKENS)} (e.g. "YYYY-MM-DD HH:mm:ss")'
            if "%" in t.format:
                suggestion = t.format
                for spec, token in MYSQL_TO_TOKEN.items():
                    suggestion = suggestion.replace(spec, token)
                fix = f'MySQL specifiers are copied as text here: write "{suggestion}" ({fix})'
            problems.error(
                fpath,
                f"unknown date-format token(s) {', '.join(repr(b) for b in bad)} in '{t.format}'",
                fix,
                code="C123",
            )
        elif attr.type == "N" and any(not ch.isalpha() for ch in t.format):
            problems.error(
                f"{attr.path}.type",
                f"'{attr.name}' is N but the date format '{t.format}' has separators: not a number",
                'use "type": "S", or a format of digits only such as "YYYYMMDD"',
                code="C121",
            )
        if attr.type not in ("S", "N"):
            problems.error(
                f"{attr.path}.type",
                f"a date-format transformation gives text, but '{attr.name}' is {attr.type}",
                'use "type": "S"',
                code="C122",
            )
    elif t.type == "number-format" and t.format is not None:
        if not NUMBER_FORMAT_RE.match(t.format):
            problems.error(
                fpath,
                f"invalid number-format pattern '{t.format}'",
                'use zeros: "000000" left-pads an integer to 6 digits, "0.00" fixes 2 decimals',
                code="C124",
            )
        elif attr.type == "N" and re.match(r"^00", t.format):
            problems.warning(
                f"{attr.path}.type",
                f"'{attr.name}' is N: the zero padding of '{t.format}' is lost in a DynamoDB number",
                'use "type": "S" for sortable padded keys',
                code="C125",
            )
        if attr.type not in ("S", "N"):
            problems.error(
                f"{attr.path}.type",
                f"a number-format transformation gives text, but '{attr.name}' is {attr.type}",
                'use "type": "S" or "N"',
                code="C122",
            )
    elif t.type == "json-parse":
        if attr.type not in DOCUMENT_TYPES:
            problems.warning(
                f"{attr.path}.type",
                f"json-parse yields a document, but '{attr.name}' is {attr.type}: the JSON text is stored as is",
                'use "type": "M" for an object or "L" for an array',
                code="C126",
            )
    elif t.type == "static":
        value = t.value
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if attr.type == "N" and (isinstance(value, bool) or not NUMERIC_LITERAL_RE.match(text)):
            problems.error(
                f"{t.path}.value",
                f"static value {value!r} is not a number, but '{attr.name}' is N",
                'use a numeric value, or "type": "S"',
                code="C127",
            )
        if attr.type == "BOOL" and text not in BOOL_LITERALS:
            problems.error(
                f"{t.path}.value",
                f"static value {value!r} is not a boolean, but '{attr.name}' is BOOL",
                "use true or false",
                code="C127",
            )


def _check_join(table: Table, attr: Attribute, problems: ProblemList) -> None:
    j = attr.join
    assert j is not None
    if j.type == "json-construction" and j.construction is not None:
        ctype = j.construction.type
        allowed = ("L", "S") if ctype == "array" else ("M", "S")
        if attr.type not in allowed:
            problems.error(
                f"{attr.path}.type",
                f"a json-construction of type {ctype} gives a JSON {ctype}, but '{attr.name}' is {attr.type}",
                f'use "type": "{allowed[0]}" (a native {"list" if ctype == "array" else "map"}) or "S" (JSON text)',
                code="C128",
            )
        return
    if attr.type == "BOOL":
        problems.warning(
            f"{attr.path}.join",
            f"'{attr.name}' is BOOL from a {j.type} join: the joined value must be 0/1 (or true/false), "
            f"and a row without a match gets no attribute",
            "make sure select_column yields a 0/1 flag, e.g. 'users.is_active'",
            code="C129",
        )
    if attr.type in DOCUMENT_TYPES:
        problems.warning(
            f"{attr.path}.type",
            f"'{attr.name}' is {attr.type} from a {j.type} join: the joined value must be JSON text",
            "use json-construction to build documents from columns",
            code="C129",
        )
    if j.chain_separator is not None and attr.type != "S":
        problems.error(
            f"{attr.path}.type",
            f"a chain with chain_separator concatenates text, but '{attr.name}' is {attr.type}",
            'use "type": "S"',
            code="C122",
        )
    if attr.name in (table.pk, table.sk) and j.type in (
        "foreign-key",
        "lookup-table",
        "multi-column",
        "chain",
    ):
        problems.warning(
            f"{attr.path}.join",
            f"table key '{attr.name}' comes from a {j.type} join: a row without a matching "
            f"'{j.target_table or (j.joins[-1].target_table if j.joins else '?')}' row has no key and is rejected",
            "make sure every source row has a match (preflight counts the rows without one)",
            code="C108",
        )
