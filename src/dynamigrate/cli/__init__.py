"""Command-line entry point.

Each module in this package that defines ``register(subparsers)`` adds its commands; modules are
discovered automatically, so a new command is a new module and nothing else changes. A command's
handler receives the parsed ``argparse.Namespace`` and returns an exit code.

Exit codes: 0 success, 1 the operation ran and found problems (validation failed, statements failed),
2 usage or configuration error, 3 unexpected internal error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from dynamigrate import __version__
from dynamigrate.errors import ConfigError, ContractError, DynamigrateError, SqlGenError

log = logging.getLogger("dynamigrate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dynamigrate",
        description="Move a live application's data from MySQL to Amazon DynamoDB, driven by a migration contract.",
    )
    parser.add_argument("--version", action="version", version=f"dynamigrate {__version__}")
    add_global_arguments(parser, defaults=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subparsers)
    for sub in _subparsers(parser):
        add_global_arguments(sub, defaults=False)
    for each in [parser, *_subparsers(parser)]:
        _plain_texts(each)
    return parser


def _plain_texts(parser: argparse.ArgumentParser) -> None:
    """Descriptions and help texts as plain text (module docstrings reused as descriptions carry
    reStructuredText markup)."""
    from dynamigrate.cli._common import plain_help

    parser.description = plain_help(parser.description)
    parser.epilog = plain_help(parser.epilog)
    for action in parser._actions:
        if isinstance(action.help, str):
            action.help = plain_help(action.help)
        for choice in getattr(action, "_choices_actions", []):
            choice.help = plain_help(choice.help)


def add_global_arguments(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """-v, -q and --log-format: on the main parser with their defaults, and on every command too
    (``dynamigrate migrate -v`` = ``dynamigrate -v migrate``), where an absent flag leaves the main
    parser's value alone."""
    unset: dict[str, Any] = {} if defaults else {"default": argparse.SUPPRESS}
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="more detail: -v also shows how the contract was interpreted and each step, -vv debug",
        **({"default": 0} if defaults else unset),
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only errors (hides warnings and progress)", **unset
    )
    parser.add_argument(
        "--log-format",
        choices=["text", "json"],
        help="log lines as text or as JSON objects",
        **({"default": "text"} if defaults else unset),
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command and action parser below ``parser`` (depth first)."""
    out: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                out.append(sub)
                out.extend(_subparsers(sub))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from dynamigrate.cli._logging import setup_logging

    setup_logging(verbosity=args.verbose, quiet=args.quiet, fmt=args.log_format)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    return run_command(handler, args)


def run_command(handler: Callable[[Any], Any], args: Any) -> int:
    """Run a command handler with the CLI's mapping of errors to exit codes and guidance (shared by
    ``dynamigrate`` and the workshop scripts in tools/). Everything it prints goes through
    :mod:`dynamigrate.redact` (secrets masked by value)."""
    from dynamigrate.cli._streams import pipe_safe_std_streams
    from dynamigrate.redact import redacted_std_streams

    # a closed pipe (`dynamigrate migrate | head -1`) stops the printing, never the command
    with pipe_safe_std_streams(), redacted_std_streams():
        try:
            return int(handler(args) or 0)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except (ConfigError, ContractError) as exc:
            _print_error(exc)
            return 2
        except DynamigrateError as exc:
            _print_error(exc)
            return 1
        except Exception as exc:  # a bug: say so plainly, the traceback only with -vv
            translated = translate_environment_error(exc)
            if translated is not None:  # the environment, not a bug: bad input, exit 2
                log.debug("%s", type(exc).__name__, exc_info=True)
                _print_error(translated)
                return 2
            log.debug("internal error", exc_info=True)
            command = getattr(args, "command", None) or "dynamigrate"
            print(
                f"internal error in '{command}': {type(exc).__name__}: {exc}\n"
                "  hint: this is a bug in dynamigrate, not in your input; rerun with -vv for the "
                "traceback and report it",
                file=sys.stderr,
            )
            return 3


def translate_environment_error(exc: BaseException) -> ConfigError | None:
    """Errors of the environment that reach the CLI untranslated (an AWS profile that does not exist,
    no credentials, a path that cannot be written) as the ConfigError they are; None for anything else."""
    try:
        import botocore.exceptions as boto
    except ImportError:  # pragma: no cover - boto3 is a dependency
        boto = None  # type: ignore[assignment]
    if boto is not None:
        if isinstance(exc, boto.ProfileNotFound):
            profile = getattr(exc, "kwargs", {}).get("profile") or "?"
            return ConfigError(
                f"AWS profile '{profile}' not found",
                hint="check AWS_PROFILE / aws.profile against ~/.aws/config (`aws configure list-profiles`)",
            )
        if isinstance(exc, boto.NoRegionError):
            return ConfigError(
                "no AWS region is configured",
                hint="set aws.region in the config file, pass --region, or export AWS_REGION",
            )
        if isinstance(exc, boto.NoCredentialsError | boto.PartialCredentialsError):
            return ConfigError(
                f"AWS credentials are missing or incomplete: {exc}",
                hint="configure them (aws configure, AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); "
                "DynamoDB Local accepts any values",
            )
    if isinstance(exc, OSError) and exc.filename:
        return ConfigError(
            f"cannot use {exc.filename}: {exc.strerror or exc}",
            hint="check the path and its permissions (migration.output_dir / --output-dir, --output, --run)",
        )
    return None


def _print_error(exc: DynamigrateError) -> None:
    from dynamigrate.troubleshoot import guidance_for

    print(f"error: {exc}", file=sys.stderr)
    if isinstance(exc, ContractError | SqlGenError):
        return  # they name the JSON path and carry their own fix: a catalogue guess would mislead
    guide = guidance_for(exc)
    if guide and guide not in str(exc):
        print(f"  troubleshooting: {guide}", file=sys.stderr)
