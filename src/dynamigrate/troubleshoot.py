"""Troubleshooting catalogue: maps errors people really hit to cause and fix.

Used by the CLI (``error: ...`` followed by ``troubleshooting: ...``), the logs and the reports
(rejected rows and failures are listed with what to do). Documented in docs/troubleshooting.md.

How an error is matched (first entry that matches wins, in catalogue order):

1. *facts* are collected from the exception and its ``__cause__``/``__context__`` chain: the
   ``code`` of a :class:`~dynamigrate.errors.DynamigrateError` (``DM700``), the error number of a
   PyMySQL error (``mysql:1045``), the ``Error.Code`` of a botocore ``ClientError``
   (``aws:AccessDeniedException``), and the text of every exception in the chain;
2. an entry matches when one of its ``codes`` is among the facts, or one of its ``patterns`` (regular
   expressions) occurs in the text; an entry with ``context`` additionally needs that pattern in the
   text (e.g. Glue entries only apply to errors that mention Glue).

Some entries specialise their fix from the message: AccessDenied names the missing IAM action and
prints the policy statement that grants it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Guidance:
    key: str
    title: str
    cause: str
    fix: str

    def __str__(self) -> str:
        return f"{self.title}: {self.cause} Fix: {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "title": self.title, "cause": self.cause, "fix": self.fix}


@dataclass(frozen=True)
class _Matcher:
    key: str
    codes: tuple[str, ...] = ()
    patterns: tuple[re.Pattern[str], ...] = ()
    context: re.Pattern[str] | None = None
    specialise: Callable[[Guidance, str], Guidance] | None = field(default=None, compare=False)


CATALOGUE: dict[str, Guidance] = {}
_MATCHERS: list[_Matcher] = []


def add(
    key: str,
    title: str,
    cause: str,
    fix: str,
    *,
    codes: Iterable[str] = (),
    patterns: Iterable[str] = (),
    context: str | None = None,
    specialise: Callable[[Guidance, str], Guidance] | None = None,
) -> None:
    """Add (or replace) an entry. Without codes/patterns the key itself is looked for in the text."""
    CATALOGUE[key] = Guidance(key, title, cause, fix)
    global _MATCHERS
    _MATCHERS = [m for m in _MATCHERS if m.key != key]
    _MATCHERS.append(
        _Matcher(
            key=key,
            codes=tuple(codes),
            patterns=tuple(re.compile(p) for p in patterns) or (re.compile(re.escape(key)),),
            context=re.compile(context) if context else None,
            specialise=specialise,
        )
    )


# -- facts from an exception ---------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    out: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(out) < 10:
        out.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return out


def _facts(exc: BaseException) -> tuple[set[str], str]:
    codes: set[str] = set()
    texts: list[str] = []
    for e in _chain(exc):
        code = getattr(e, "code", None)
        if isinstance(code, str) and code:
            codes.add(code)
        # PyMySQL: args = (errno, message); errno 2003/2013... for connection failures
        mod = type(e).__module__ or ""
        if mod.startswith("pymysql") and e.args and isinstance(e.args[0], int):
            codes.add(f"mysql:{e.args[0]}")
        # our SourceError carries the driver's number (source.connect.translate_error)
        where_ctx = getattr(e, "where", None) or {}
        for errno in (
            getattr(e, "mysql_errno", None),
            where_ctx.get("mysql_errno") if isinstance(where_ctx, dict) else None,
        ):
            if isinstance(errno, int) or (isinstance(errno, str) and errno.isdigit()):
                codes.add(f"mysql:{errno}")
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            err = response.get("Error") or {}
            if err.get("Code"):
                codes.add(f"aws:{err['Code']}")
            if err.get("Message"):
                texts.append(str(err["Message"]))
        where = getattr(e, "where", None)
        if isinstance(where, dict):
            texts.append(" ".join(f"{k}={v}" for k, v in where.items()))
        texts.append(f"{type(e).__name__}: {e}")
    return codes, "\n".join(texts)


def lookup_text(text: str, codes: Iterable[str] = ()) -> Guidance | None:
    """The entry for an error known only by its text (and optional codes), e.g. a logged message,
    a Glue job run's ``ErrorMessage`` or a rejected row's reason."""
    code_set = set(codes)
    for m in _MATCHERS:
        if m.context is not None and not m.context.search(text):
            continue
        if code_set.intersection(m.codes) or any(p.search(text) for p in m.patterns):
            entry = CATALOGUE[m.key]
            return m.specialise(entry, text) if m.specialise else entry
    return None


def lookup(exc: BaseException) -> Guidance | None:
    """The catalogue entry that matches an exception (or None)."""
    codes, text = _facts(exc)
    return lookup_text(text, codes)


def guidance_for(exc: BaseException) -> str | None:
    """The catalogue entry that matches an exception, as one line of text (or None)."""
    entry = lookup(exc)
    return str(entry) if entry else None


# -- specialisations -----------------------------------------------------------------------------

_ACTION_RE = re.compile(r"not authorized to perform:?\s+([A-Za-z0-9-]+:[A-Za-z0-9*]+)")
_RESOURCE_RE = re.compile(r"on resource:?\s+(arn:[^\s,;]+)")


def iam_policy_snippet(action: str, resource: str = "*") -> str:
    """The IAM policy statement that grants ``action`` on ``resource``."""
    return json.dumps({"Effect": "Allow", "Action": [action], "Resource": resource}, separators=(", ", ": "))


def _access_denied(entry: Guidance, text: str) -> Guidance:
    m = _ACTION_RE.search(text)
    if not m:
        return entry
    action = m.group(1)
    r = _RESOURCE_RE.search(text)
    resource = r.group(1).rstrip(".") if r else "*"
    if (
        resource.startswith("arn:aws:dynamodb")
        and "/index/" not in resource
        and action.startswith("dynamodb:")
    ):
        # queries on GSIs need the index ARN too
        resource_text = f"{resource} (and {resource}/index/* for index queries)"
    else:
        resource_text = resource
    return replace(
        entry,
        title=f"AWS access denied: missing IAM permission {action}",
        cause=f"The AWS identity in use is not allowed to call {action} on {resource_text}.",
        fix=(
            f"Add the action to the policy of that identity (user or role), e.g. the statement "
            f"{iam_policy_snippet(action, resource)}; check also that you use the intended profile "
            f"(AWS_PROFILE) and that no SCP or permission boundary denies it."
        ),
    )


def _tables_doc(entry: Guidance, text: str) -> Guidance:
    m = re.search(r"Table '([^']+)' doesn't exist", text)
    if not m:
        return entry
    return replace(entry, cause=f"The table {m.group(1)} does not exist in that database. " + entry.cause)


def _unknown_column(entry: Guidance, text: str) -> Guidance:
    m = re.search(r"Unknown column '([^']+)'(?: in '([^']+)')?", text)
    if not m:
        return entry
    return replace(entry, cause=f"Column {m.group(1)} is not there. " + entry.cause)


def _key_mismatch(entry: Guidance, text: str) -> Guidance:
    m = re.search(r"Type mismatch for key (\S+) expected: (\S+) actual: (\S+)", text)
    if not m:
        return entry
    name, expected, actual = m.groups()
    return replace(
        entry,
        cause=f"Key attribute {name} is {expected} in the DynamoDB table but the item has {actual}. "
        + entry.cause,
    )


# -- the catalogue ---------------------------------------------------------------------------------
# Order matters: specific entries first. docs/troubleshooting.md lists the same entries.

# MySQL / MariaDB (https://mariadb.com/kb/en/mariadb-error-code-reference/)
add(
    "mysql-1045",
    "MySQL 1045: access denied",
    "The MySQL server refused the user name / password (or the user is not allowed from this host).",
    "Check mysql.user and the password (config file, or MYSQL_PASSWORD / DYNAMIGRATE_MYSQL_PASSWORD); "
    "the user must exist for the host you connect from (CREATE USER 'u'@'%' ...) and have SELECT and "
    "CREATE VIEW on the database.",
    codes=["mysql:1045"],
    patterns=[r"Access denied for user"],
)
add(
    "mysql-2003",
    "MySQL 2003: cannot connect to the server",
    "Nothing answers at mysql.host:mysql.port (server down, wrong port, firewall or security group, or "
    "the private address used from outside the VPC).",
    "Check host and port (mysql.host / public_host for a laptop, private_host for Glue), that the server "
    "listens on that interface (bind-address), and that the security group allows your address on the "
    "port; try `mysql -h HOST -P PORT -u USER -p`.",
    codes=["mysql:2003", "mysql:2005", "mysql:2013"],
    patterns=[r"Can't connect to (MySQL|MariaDB)? ?server", r"Unknown MySQL server host"],
)
add(
    "mysql-1049",
    "MySQL 1049: unknown database",
    "The database named in mysql.database does not exist on that server.",
    "Fix mysql.database (SHOW DATABASES lists them); names are case-sensitive on Linux servers.",
    codes=["mysql:1049"],
    patterns=[r"Unknown database '"],
)
add(
    "mysql-1356",
    "MySQL 1356: invalid view",
    "A view refers to a table, column or function that no longer exists (the source schema changed "
    "after the views were created), or its definer lacks rights.",
    "Recreate the views from the contract (`dynamigrate views generate` then `dynamigrate views apply`, or run the generated views.sql "
    "again); if a column was renamed or dropped, update the contract first (`dynamigrate contract check` "
    "lints it against the live schema).",
    codes=["mysql:1356"],
    patterns=[r"references invalid table\(s\) or column\(s\)"],
)
add(
    "mysql-1146",
    "MySQL 1146: table does not exist",
    "A source table or view named by the contract is not in the database (typo, wrong database, or the "
    "views were not created yet).",
    "Check source_table / target_table names in the contract against SHOW TABLES, check mysql.database, "
    "and create the views before migrating (`dynamigrate views generate` + `views apply`).",
    codes=["mysql:1146"],
    patterns=[r"Table '[^']+' doesn't exist"],
    specialise=_tables_doc,
)
add(
    "mysql-1054",
    "MySQL 1054: unknown column",
    "The contract names a column that the source table does not have (source_column, select_column, a "
    "join_condition or a {placeholder} in a format).",
    "Correct the column name in the contract (`dynamigrate contract check` lists every unknown column with its "
    "JSON path and a did-you-mean), then regenerate the views.",
    codes=["mysql:1054"],
    patterns=[r"Unknown column '"],
    specialise=_unknown_column,
)

# MCP servers
add(
    "mcp-read-only",
    "MCP server is read-only",
    "The MySQL MCP server refuses statements that change the schema, so CREATE VIEW cannot run through it "
    "(e.g. awslabs mysql-mcp-server started with --readonly, or mcp-server-mysql without "
    "ALLOW_DDL_OPERATION).",
    "Start the MCP server with writes allowed for the view step (remove --readonly / set "
    "ALLOW_DDL_OPERATION=true), or create the views with a direct connection (--via direct), or run "
    "views.sql yourself and continue with the migration.",
    codes=["DM451"],  # source.mcp_client.McpReadOnlyError
    patterns=[
        r"(?i)read[- ]?only",
        r"(?i)only allows? read",
        r"(?i)(DDL|write|insert) operations? (is|are) not (allowed|permitted|enabled)",
    ],
    context=r"(?i)mcp",
)
add(
    "mcp-no-sql-tool",
    "MCP server has no SQL tool",
    "The configured MCP server is running but offers no tool that executes SQL (wrong server, or a "
    "server for another database).",
    "Point mcpServers at a MySQL MCP server (e.g. awslabs.mysql-mcp-server or mcp-server-mysql) or name "
    "the tool to use in the config; the error message lists the tools the server offers.",
    patterns=[
        r"(?i)no (sql|query|mysql)[- ]?(execution )?tool",
        r"(?i)tool '[^']*' (is )?not (found|offered)",
    ],
    context=r"(?i)mcp",
)
add(
    "mcp-missing",
    "MCP server missing or not starting",
    "The MCP server configured in mcpServers could not be started or reached (command not installed, "
    "wrong path, missing environment, or no server configured).",
    "Install the server's command (e.g. `uvx awslabs.mysql-mcp-server@latest`), check the mcpServers "
    "block (command, args, env), or use a direct MySQL connection (--via direct).",
    patterns=[
        r"(?i)mcp server\b.*(not found|not configured|no such file|failed to start|exited|not running|cannot start|could not start|is missing)",
        r"(?i)no mcp servers? (is |are )?configured",
        r"(?i)(no such file or directory|command not found|not found in PATH).*(mcp|uvx|npx)",
    ],
    context=r"(?i)mcp",
)

# DynamoDB
add(
    "ddb-access-denied",
    "AWS access denied",
    "The AWS identity in use lacks an IAM permission the migration needs.",
    "Grant the missing action (dynamodb:DescribeTable, CreateTable, PutItem, BatchWriteItem, DeleteItem, "
    "GetItem, BatchGetItem, Query, Scan; glue:*Job*; s3:PutObject/GetObject) to that identity.",
    codes=["aws:AccessDeniedException", "aws:AccessDenied"],
    patterns=[r"is not authorized to perform", r"AccessDenied"],
    specialise=_access_denied,
)
add(
    "aws-credentials",
    "AWS credentials invalid or missing",
    "The request was signed with credentials AWS does not accept (unknown key, expired session token) "
    "or no credentials were found.",
    "Check AWS_PROFILE / aws.profile and refresh the session (`aws sso login`, new STS token); "
    "`aws sts get-caller-identity` shows which identity is used.",
    codes=[
        "aws:UnrecognizedClientException",
        "aws:InvalidSignatureException",
        "aws:ExpiredTokenException",
        "aws:InvalidClientTokenId",
    ],
    patterns=[
        r"Unable to locate credentials",
        r"security token included in the request is (invalid|expired)",
    ],
)
add(
    "ddb-resource-not-found",
    "DynamoDB table (or index) not found",
    "The table does not exist in this region/endpoint, is still being created, or the name differs "
    "(DynamoDB names are case-sensitive).",
    "Check the table name in the contract, aws.region and the endpoint; let `dynamigrate migrate` create "
    "missing tables (or create them from the contract), and wait for ACTIVE.",
    codes=["aws:ResourceNotFoundException"],
    patterns=[r"Requested resource not found", r"Cannot do operations on a non-existent table"],
)
add(
    "ddb-key-type-mismatch",
    "DynamoDB key type mismatch",
    "The item's key attribute has another type than the table's key schema (e.g. N in the contract, S in "
    "an existing table), or the key attributes do not match the schema.",
    "Make the contract's key attribute types equal to the table's (`aws dynamodb describe-table` shows "
    "AttributeDefinitions), or recreate the table from the contract.",
    codes=["key_type_mismatch"],
    patterns=[r"Type mismatch for key", r"provided key element does not match the schema"],
    specialise=_key_mismatch,
)
add(
    "ddb-empty-key",
    "Empty or NULL key value",
    "A key attribute (table key or GSI key) is an empty string or NULL for this row; DynamoDB refuses "
    "empty key values.",
    "Fix the source rows (they are listed in rejected.jsonl with their source key) or the contract's key "
    "expression (e.g. COALESCE a nullable column, or use another column); GSI keys that are empty are "
    "left out on purpose so the item is simply not in that index.",
    codes=["empty_key", "null_key", "missing_key"],
    patterns=[
        r"key attribute cannot contain an empty (string|binary) value",
        r"(?i)\b(empty|null)\b[^.\n]{0,30}\bkey\b",
        r"(?i)\bkey\b[^.\n]{0,30}\b(is|are) (empty|null)\b",
        r"Missing the key \w+ in the item",
    ],
)
add(
    "ddb-key-too-long",
    "Key value too long",
    "A key attribute (of the table or of a GSI) is longer than DynamoDB keeps: 2048 bytes for a partition "
    "key, 1024 bytes for a sort key (UTF-8 bytes of a string, bytes of a binary).",
    "Build the key from a shorter value (an id, a hash of the long text), or keep the long text in a "
    "non-key attribute; the rows are in rejected.jsonl.",
    codes=["key_too_long"],
    patterns=[r"(?i)primary key values must be under \d+ bytes", r"is \d+ bytes; DynamoDB allows \d+ for a"],
)
add(
    "ddb-item-too-large",
    "Item too large (over 400 KB)",
    "The item built from this row exceeds DynamoDB's 400 KB item size limit (long texts, big "
    "json-construction lists).",
    "Drop or shorten the large attribute in the contract (limit the json-construction, move large texts "
    "to S3 and store the object key), or split the entity; the rows are in rejected.jsonl.",
    codes=["item_too_large", "too_large"],
    patterns=[
        r"Item size has exceeded the maximum allowed size",
        r"Item size to update has exceeded",
        r"(?i)item (is )?(too large|larger than|over 400)",
    ],
)
add(
    "ddb-throttling",
    "DynamoDB throttling",
    "Requests exceed the table's provisioned capacity (or the account/partition limits); the writer "
    "retries with backoff but throughput drops.",
    "Use on-demand capacity (billing_mode PAY_PER_REQUEST) or raise the table's write capacity for the "
    "migration, lower the engine's parallelism, and make sure the keys spread over many partitions.",
    codes=[
        "aws:ProvisionedThroughputExceededException",
        "aws:ThrottlingException",
        "aws:RequestLimitExceeded",
        "aws:LimitExceededException",
    ],
    patterns=[r"ProvisionedThroughputExceeded", r"ThrottlingException", r"(?i)rate of requests exceeds"],
)
add(
    "region-mismatch",
    "AWS region mismatch",
    "Resources of one migration are in different regions (tables, Glue job, bucket, the CLI's default "
    "region), so jobs write to the wrong tables or find none.",
    "Use one region everywhere: set aws.region in the config and AWS_REGION for the CLI, and recreate "
    "what was created elsewhere: the region check prints the resource -> region table.",
    codes=["DM700"],
    patterns=[r"(?i)region mismatch", r"(?i)regions? (differ|disagree)", r"(?i)disagree on the region"],
)

# Glue job failures (match only texts that are about Glue)
add(
    "glue-vpc",
    "Glue job: network/VPC setup",
    "The Glue connection's subnet cannot reach S3 or the database: no S3 VPC endpoint or NAT gateway, or "
    "the security group lacks the self-referencing rule Glue requires.",
    "Add an S3 gateway endpoint to the subnet's route table, and a security group rule allowing all TCP "
    "from the group itself; check the database security group allows the Glue group on 3306.",
    patterns=[
        r"VPC S3 endpoint validation failed",
        r"(?i)could not find S3 endpoint or NAT gateway",
        r"(?i)security group.*(self-referencing|open all ingress)",
        r"(?i)at least one security group must open all ingress ports",
    ],
    context=r"(?i)glue|vpc",
)
add(
    "glue-connection",
    "Glue job: cannot reach MySQL",
    "The Glue job could not connect to the database (private_host wrong, port closed to the Glue "
    "security group, wrong credentials in the Glue connection, or the connection is missing).",
    "Use the database's private address in the Glue connection, allow the Glue security group on port "
    "3306, test the connection in the Glue console (Test connection) and check its user/password.",
    patterns=[
        r"Communications link failure",
        r"(?i)(glue )?connection .*(not found|does not exist)",
        r"(?i)connect(ion)? (timed out|refused)",
        r"(?i)jdbc.*(failed|refused|timed out)",
    ],
    context=r"(?i)glue",
)
add(
    "glue-timeout",
    "Glue job: timeout",
    "The job run hit its Timeout (minutes) before finishing.",
    "Raise the job's Timeout, add workers (NumberOfWorkers / WorkerType) or partitions; the migration "
    "resumes from its checkpoints when run again.",
    patterns=[r"\bTIMEOUT\b", r"(?i)job run (has )?timed out", r"(?i)exceeded the (job )?timeout"],
    context=r"(?i)glue",
)
add(
    "glue-oom",
    "Glue job: out of memory",
    "An executor or the driver ran out of memory (large rows, skewed partitions, or collecting data to "
    "the driver).",
    "Use a larger worker type (G.2X), more partitions (smaller chunks per task), and avoid collecting to "
    "the driver; check the executor logs in CloudWatch.",
    patterns=[
        r"OutOfMemoryError",
        r"(?i)exceeding memory limits",
        r"(?i)exit code 137",
        r"(?i)out of memory",
        r"(?i)Container killed",
    ],
    context=r"(?i)glue",
)
add(
    "glue-script-error",
    "Glue job: script error",
    "The job's Python/Spark script failed (syntax error, missing module, wrong argument, or a Spark "
    "analysis error on the view's columns).",
    "Read the traceback in the job run's error message / CloudWatch logs (/aws-glue/jobs/error); "
    "regenerate and redeploy the script with `dynamigrate migrate --engine glue`, and check the job "
    "arguments (--view, --table, --region).",
    patterns=[
        r"(?i)(SyntaxError|NameError|ModuleNotFoundError|ImportError|AnalysisException|Py4JJavaError|"
        r"Traceback|IllegalArgumentException|KeyError|TypeError)",
        r"(?i)script.*(not found|NoSuchKey)",
    ],
    context=r"(?i)glue",
)
add(
    "missing-version",
    "Version attribute missing",
    "Write mode 'newer' compares a version attribute, but this row has none (NULL or not produced by the "
    "contract).",
    "Make the contract produce the version attribute for every entity (e.g. updated_at), or use write "
    "mode sync / overwrite.",
    codes=["missing_version"],
    patterns=[r"(?i)version attribute .*(missing|absent|NULL)"],
)
add(
    "value-not-convertible",
    "Value cannot be converted to the DynamoDB type",
    "A source value does not fit the contract's attribute type (text in an N attribute, invalid JSON for "
    "M/L, a non-list for a set type).",
    "Fix the attribute's type or transformation in the contract (e.g. json-parse for JSON text, S "
    "instead of N), or clean the source rows listed in rejected.jsonl.",
    codes=["bad_number", "bad_json", "bad_bool", "bad_binary", "bad_set", "bad_string", "not_convertible"],
    # conversion words only: "is not a valid SQL expression" (a contract fragment) is not a value problem
    patterns=[r"(?i)not convertible|cannot (be )?convert"],
)


def describe_catalogue() -> list[dict[str, Any]]:
    """Every entry, in matching order (for docs and `dynamigrate` help)."""
    return [CATALOGUE[m.key].to_dict() for m in _MATCHERS]
