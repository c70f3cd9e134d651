"""AWS Glue callers: the same requests sent through boto3 (:class:`DirectGlue`) or through the AWS
Labs data-processing MCP server (:class:`McpGlue`, ``--glue-via mcp``), a run's CloudWatch log tail,
and troubleshooting guidance for the failures people really hit."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from dynamigrate import troubleshoot
from dynamigrate.config import Config
from dynamigrate.errors import ConfigError, EngineError
from dynamigrate.etl.glue_requests import (
    CONTINUOUS_LOG_GROUP,
    ERROR_LOG_GROUP,
    FAILED_STATES,
    OUTPUT_LOG_GROUP,
)

log = logging.getLogger(__name__)

# Glue failures people really hit, matched in a run's ErrorMessage / log tail.
troubleshoot.add(
    "Communications link failure",
    "Glue cannot reach MySQL",
    "the job's network (the Glue connection's subnet and security group) has no route to the database.",
    "attach the Glue connection whose subnet can reach MySQL's private IP, allow port 3306 from the "
    "connection's security group (self-referencing rule), and use mysql.private_host in the connection URL.",
)
troubleshoot.add(
    "Access denied for user",
    "MySQL refused the Glue connection's credentials",
    "the user/password stored in the Glue connection are wrong or the user may not connect from the VPC.",
    "edit the Glue connection's credentials; GRANT SELECT on the views to that user@'%'.",
)
troubleshoot.add(
    "is not authorized to perform: dynamodb",
    "the Glue role may not write to DynamoDB",
    "aws.glue_role lacks dynamodb:BatchWriteItem/PutItem/TransactWriteItems/DescribeTable on the tables.",
    "add the policy from docs/spark-glue.md (IAM section) to the Glue role.",
)
troubleshoot.add(
    "No module named 'dynamigrate'",
    "the package zip was not loaded",
    "--extra-py-files does not point at the uploaded dynamigrate zip, or the role cannot read it.",
    "re-run the deployment (it re-uploads the zip) and give the role s3:GetObject on the script prefix.",
)
troubleshoot.add(
    "Requested resource not found",
    "the DynamoDB table is not in the job's region",
    "the job writes to DynamoDB in its own region; the table was created elsewhere.",
    "run `dynamigrate migrate --dry-run` to see the region check, create the tables in aws.region.",
)
troubleshoot.add(
    "OutOfMemoryError",
    "a Glue worker ran out of memory",
    "partitions too large for the worker type (wide rows, 50 KB texts).",
    "raise --workers or use --worker-type G.2X, or lower the rows per partition (glue.partition_rows).",
)


# -- callers ---------------------------------------------------------------------------------------


class GlueApi(Protocol):
    def job_exists(self, job_name: str) -> bool: ...
    def create_job(self, request: dict[str, Any]) -> None: ...
    def update_job(self, request: dict[str, Any]) -> None: ...
    def start_job_run(self, request: dict[str, Any]) -> str: ...
    def get_job_run(self, job_name: str, run_id: str) -> dict[str, Any]: ...
    def get_job(self, job_name: str) -> dict[str, Any]: ...


class DirectGlue:
    """boto3 Glue client."""

    def __init__(self, client: Any):
        self.client = client

    def job_exists(self, job_name: str) -> bool:
        try:
            self.client.get_job(JobName=job_name)
            return True
        except self.client.exceptions.EntityNotFoundException:
            return False

    def get_job(self, job_name: str) -> dict[str, Any]:
        return dict(self.client.get_job(JobName=job_name)["Job"])

    def create_job(self, request: dict[str, Any]) -> None:
        self.client.create_job(**request)

    def update_job(self, request: dict[str, Any]) -> None:
        self.client.update_job(**request)

    def start_job_run(self, request: dict[str, Any]) -> str:
        return str(self.client.start_job_run(**request)["JobRunId"])

    def get_job_run(self, job_name: str, run_id: str) -> dict[str, Any]:
        return dict(self.client.get_job_run(JobName=job_name, RunId=run_id)["JobRun"])


class McpGlue:
    """Glue through the awslabs data-processing MCP server (tool ``manage_aws_glue_jobs``).

    The server must run with ``--allow-write``. ``call_tool(name, arguments) -> dict`` is the
    project's MCP client (a structured result or the parsed JSON text). Known quirks handled here:
    start-job-run serialises ``job_arguments`` to a JSON *string* and sends NumberOfWorkers as a
    string, both rejected by the Glue API, so runs are started with the job name only (arguments and
    workers live in the job definition); update-job only accepts jobs the server created (tagged).
    """

    TOOL = "manage_aws_glue_jobs"

    def __init__(self, call_tool: Callable[[str, dict[str, Any]], dict[str, Any]]):
        self.call_tool = call_tool

    def _call(self, arguments: dict[str, Any]) -> dict[str, Any]:
        result = self.call_tool(self.TOOL, arguments)
        if result.get("isError"):
            texts = [c.get("text", "") for c in result.get("content", []) if isinstance(c, dict)]
            raise EngineError(
                f"MCP {arguments['operation']} failed: {' '.join(texts) or result}",
                job=arguments.get("job_name"),
                hint="start the data-processing MCP server with --allow-write and the same AWS region",
            )
        return result

    @staticmethod
    def create_arguments(request: dict[str, Any]) -> dict[str, Any]:
        definition = {k: v for k, v in request.items() if k != "Name"}
        return {"operation": "create-job", "job_name": request["Name"], "job_definition": definition}

    @staticmethod
    def update_arguments(request: dict[str, Any]) -> dict[str, Any]:
        return {
            "operation": "update-job",
            "job_name": request["JobName"],
            "job_definition": request["JobUpdate"],
        }

    @staticmethod
    def start_arguments(request: dict[str, Any]) -> dict[str, Any]:
        return {"operation": "start-job-run", "job_name": request["JobName"]}

    def job_exists(self, job_name: str) -> bool:
        try:
            return bool(self.get_job(job_name))
        except EngineError:
            return False

    def get_job(self, job_name: str) -> dict[str, Any]:
        return dict(self._call({"operation": "get-job", "job_name": job_name}).get("job_details") or {})

    def create_job(self, request: dict[str, Any]) -> None:
        self._call(self.create_arguments(request))

    def update_job(self, request: dict[str, Any]) -> None:
        self._call(self.update_arguments(request))

    def start_job_run(self, request: dict[str, Any]) -> str:
        return str(self._call(self.start_arguments(request)).get("job_run_id") or "")

    def get_job_run(self, job_name: str, run_id: str) -> dict[str, Any]:
        result = self._call({"operation": "get-job-run", "job_name": job_name, "job_run_id": run_id})
        details = dict(result.get("job_run_details") or {})
        state = str(details.get("JobRunState") or "")
        if (
            state in FAILED_STATES
            and not details.get("ErrorMessage")
            and "ErrorMessage" in str(result.get("message"))
        ):
            # the server withholds ErrorMessage unless started with --allow-sensitive-data-access
            details["ErrorMessage"] = (
                f"run ended in state {state}; the MCP server withheld its ErrorMessage: add "
                "--allow-sensitive-data-access to its args to see it here (or read the log tail below)"
            )
        return details


def log_tail(logs_client: Any, run_id: str, lines: int = 30, log_group: str | None = None) -> list[str]:
    """Last lines of a run's CloudWatch log: the driver's stderr stream (named by the run id) in the
    run's own log group (``JobRun.LogGroupName`` + ``/error``), the standard error and output groups,
    then the continuous-logging group."""
    groups = [f"{log_group.rstrip('/')}/error"] if log_group else []
    groups += [ERROR_LOG_GROUP, OUTPUT_LOG_GROUP, CONTINUOUS_LOG_GROUP]
    for group in dict.fromkeys(groups):
        try:
            resp = logs_client.get_log_events(
                logGroupName=group, logStreamName=run_id, startFromHead=False, limit=lines
            )
        except Exception as exc:  # absent group/stream: try the next one
            log.debug("no log events in %s/%s: %s", group, run_id, exc)
            continue
        events = resp.get("events") or []
        if events:
            return [str(e.get("message", "")).rstrip("\n") for e in events[-lines:]]
    return []


def failure_guidance(text: str) -> str | None:
    return troubleshoot.guidance_for(EngineError(text))


def describe_mcp_request(operation: str, request: dict[str, Any]) -> str:
    """The same request as a call of the data-processing MCP server's tool (``--glue-via mcp``)."""
    shape = {
        "create_job": McpGlue.create_arguments,
        "update_job": McpGlue.update_arguments,
        "start_job_run": McpGlue.start_arguments,
    }[operation](request)
    return f"mcp {McpGlue.TOOL}(" + json.dumps(shape, sort_keys=True, default=str) + ")"


# -- MCP wiring ------------------------------------------------------------------------------------

DATAPROCESSING_SERVER = "aws-dataprocessing-mcp-server"


def find_dataprocessing_server(cfg: Config, name: str | None = None) -> tuple[str, dict[str, Any]]:
    """The mcpServers entry of the data-processing server (by name, or by its package in the command)."""
    servers = cfg.mcp_servers or {}
    if name:
        if name not in servers:
            raise ConfigError(
                f"no MCP server named '{name}' in mcpServers", hint=f"known: {', '.join(servers) or 'none'}"
            )
        return name, servers[name]
    for key, block in servers.items():
        text = " ".join([str(block.get("command", "")), *map(str, block.get("args") or [])])
        if DATAPROCESSING_SERVER in text or "dataprocessing" in key.lower() or "glue" in key.lower():
            return key, block
    raise ConfigError(
        "--glue-via mcp needs the AWS data-processing MCP server in the config's mcpServers",
        hint='add {"mcpServers": {"glue": {"command": "uvx", "args": '
        '["awslabs.aws-dataprocessing-mcp-server@latest", "--allow-write"], "env": {"AWS_REGION": "<region>"}}}}',
    )


def outcome_as_dict(outcome: Any) -> dict[str, Any]:
    """A ToolOutcome of the MCP client as the response model's fields.

    awslabs.aws-dataprocessing-mcp-server 0.2.2 answers with two text contents and no structured
    content: a sentence ("Successfully retrieved job run ...", with a note when fields were withheld)
    and the response model as JSON (``job_run_id``, ``job_details``, ``job_run_details``...). Every
    text that is a JSON object is merged; the others are kept as ``message``."""
    if outcome.protocol_error:
        return {"isError": True, "content": [{"type": "text", "text": outcome.protocol_error}]}
    data: dict[str, Any] = {}
    if isinstance(outcome.structured, dict):
        data = dict(outcome.structured.get("result", outcome.structured))
    sentences: list[str] = []
    for text in getattr(outcome, "texts", None) or [outcome.text]:
        try:
            parsed = json.loads(text)
        except (ValueError, TypeError):
            parsed = None
        if isinstance(parsed, dict):
            for k, v in parsed.items():
                data.setdefault(k, v)
        elif text:
            sentences.append(str(text))
    data.setdefault("isError", bool(outcome.is_error))
    data.setdefault("content", [{"type": "text", "text": outcome.text}])
    if sentences:
        data.setdefault("message", " ".join(sentences))
    return data


def mcp_glue(cfg: Config, server_name: str | None = None) -> tuple[McpGlue, Any]:
    """(McpGlue, session) talking to the configured data-processing MCP server; close the session after."""
    from dynamigrate.source.mcp_client import McpSession, build_server_env

    name, block = find_dataprocessing_server(cfg, server_name)
    args = [str(a) for a in block.get("args") or []]
    if "--allow-write" not in args:
        raise ConfigError(
            f"MCP server '{name}' is not started with --allow-write",
            hint="add --allow-write to its args: creating and starting Glue jobs are write operations",
        )
    env = build_server_env(block, aws_credentials=True)
    if cfg.aws.region:
        env.setdefault("AWS_REGION", cfg.aws.region)
    session = McpSession(name, str(block["command"]), args, env).start()
    return McpGlue(lambda tool, arguments: outcome_as_dict(session.call_tool(tool, arguments))), session
