"""Secrets masked by value: one registry, applied wherever the tool writes text.

Masking by key name (``password``, ``*_TOKEN``) misses secrets that sit elsewhere: an MCP server's
``env`` under a name such as ``MYSQL_PASS``, a password passed in an MCP server's ``args``, the
credentials inside ``mysql://user:pw@host``. So every secret the configuration resolves is
*registered* here (:func:`register_config`, called by ``load_config``) and every writer replaces it
by value:

* the run-directory writers (``runstate.write_json_atomic``, ``runstate.JsonlWriter``, the reports,
  preflight.json) call :func:`redact` on the text they are about to write;
* the CLI wraps ``sys.stdout``/``sys.stderr`` in :class:`RedactingStream` and the log handler gets a
  :class:`RedactingFilter`, so messages, errors, JSON logs and ``-vv`` output are covered too.

A value is also registered in the forms it takes once escaped (JSON with and without
``ensure_ascii``, ``repr``, percent-encoding). Values shorter than :data:`MIN_LENGTH` characters and
values equal to a setting the tool shows openly (the MySQL user, host or database) are not registered:
masking them would blank ordinary words everywhere without hiding anything.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote

MASK = "***"
MIN_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()
_ordered: tuple[str, ...] = ()  # longest first, so a secret containing another is masked whole
_public: set[str] = set()

#: names (of settings, environment variables, flags) that hold a secret
SECRET_NAME_PARTS = ("password", "passwd", "pass", "secret", "token", "key", "pwd", "credential", "auth")

#: environment variable names that hold no secret (an MCP server's ``env``: everything else is one)
_PUBLIC_ENV_NAME = re.compile(
    r"(^|_)(HOST|HOSTNAME|PORT|USER|USERNAME|DB|DATABASE|SCHEMA|NAME|REGION|PROFILE|PATH|HOME|DIR|"
    r"LEVEL|MODE|CHARSET|COLLATION|TIMEOUT|ENDPOINT|ENDPOINT_URL|URL|LOG|LANG|TZ|READONLY|SSL_MODE|"
    r"SSL_CA|DEBUG|VERBOSE|FORMAT|ENCODING)$",
    re.IGNORECASE,
)

#: ``scheme://user:password@host``
_URL_CREDENTIALS = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/\s:@]*:([^@\s/]+)@")

#: environment variables whose value is always a secret when set
SECRET_ENV_VARS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "MYSQL_PWD",
    "MYSQL_PASSWORD",
    "DYNAMIGRATE_MYSQL_PASSWORD",
)


def is_secret_name(name: str) -> bool:
    """True for names such as ``password``, ``MYSQL_PASS``, ``aws_secret_access_key``, ``--db-token``."""
    low = name.lower()
    return any(part in low for part in SECRET_NAME_PARTS)


def _variants(value: str) -> set[str]:
    out = {value, unquote(value), quote(value, safe=""), quote_plus(value, safe="")}
    out.add(json.dumps(value, ensure_ascii=False)[1:-1])
    out.add(json.dumps(value)[1:-1])
    out.add(repr(value)[1:-1])
    return {v for v in out if len(v) >= MIN_LENGTH}


def register(*values: str | None) -> None:
    """Register secret values (and their escaped forms) for masking everywhere."""
    global _ordered
    with _lock:
        added = False
        for value in values:
            if not value or not isinstance(value, str):
                continue
            value = value.strip() if value.strip() else value
            if len(value) < MIN_LENGTH or value in _public:
                continue
            for v in _variants(value):
                if v not in _values:
                    _values.add(v)
                    added = True
        if added:
            _ordered = tuple(sorted(_values, key=len, reverse=True))


def declare_public(*values: str | None) -> None:
    """Values the tool shows openly (user, host, database): never registered as secrets, even when a
    password equals one of them (masking it would blank the user name and hide nothing)."""
    global _ordered
    with _lock:
        for value in values:
            if value:
                _public.add(str(value))
                _values.discard(str(value))
        _ordered = tuple(sorted(_values, key=len, reverse=True))


def clear() -> None:
    """Forget every registered value (tests)."""
    global _ordered
    with _lock:
        _values.clear()
        _public.clear()
        _ordered = ()


def registered() -> tuple[str, ...]:
    return _ordered


_WORDLIKE = re.compile(r"[A-Za-z]+")
_word_patterns: dict[str, re.Pattern[str]] = {}


def _word_pattern(secret: str) -> re.Pattern[str]:
    # the secret as a whole word, or glued to the mysql client's -p flag
    pat = _word_patterns.get(secret)
    if pat is None:
        pat = re.compile(rf"(?:(?<=-p)|(?<![A-Za-z0-9_])){re.escape(secret)}(?![A-Za-z0-9_])")
        _word_patterns[secret] = pat
    return pat


def redact(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``.

    A secret made of letters only (a dictionary word such as ``runs`` or ``shop``) is masked where it
    stands as a word of its own, not inside longer words: masking ``shop`` inside ``dm_shop_runs`` or
    ``workshop`` would corrupt ordinary text (paths, table names, data) and hide nothing. Every other
    secret is masked wherever it occurs.
    """
    secrets = _ordered
    if not secrets or not text:
        return text
    for secret in secrets:
        if secret in text:
            if _WORDLIKE.fullmatch(secret):
                text = _word_pattern(secret).sub(MASK, text)
            else:
                text = text.replace(secret, MASK)
    return text


# ------------------------------------------------------------------------------ finding secrets


def secrets_in_args(args: Iterable[Any]) -> list[str]:
    """Secret values in a command line: ``--password x``, ``--db-token=x``, ``-pSECRET`` (the mysql
    client's form), ``MYSQL_PASS=x`` and credentials inside URLs."""
    out: list[str] = []
    take_next = False
    for raw in args:
        arg = str(raw)
        if take_next:
            out.append(arg)
            take_next = False
            continue
        out += secrets_in_text(arg)
        if arg.startswith("-"):
            name, eq, value = arg.partition("=")
            if is_secret_name(name.lstrip("-")):
                if eq:
                    out.append(value)
                else:
                    take_next = True
            elif not arg.startswith("--") and len(arg) > 2 and arg[1] == "p":
                out.append(arg[2:])  # mysql -pSECRET
        elif "=" in arg:
            name, _, value = arg.partition("=")
            if is_secret_name(name):
                out.append(value)
    return out


def secrets_in_text(text: str) -> list[str]:
    """Passwords inside URLs (``mysql://user:pw@host``), raw and percent-decoded."""
    found: list[str] = []
    for m in _URL_CREDENTIALS.finditer(text):
        found += [m.group(1), unquote(m.group(1))]
    return found


def _is_plain_setting(value: str) -> bool:
    low = value.lower()
    return (
        value.isdigit()
        or low in ("true", "false", "yes", "no", "on", "off", "none", "null")
        or value.startswith(("/", "~", "./"))
        or (("://" in value) and not secrets_in_text(value))
    )


def secrets_in_env(env: Mapping[str, Any]) -> list[str]:
    """An MCP server's ``env``: every value is a secret unless its name says it is a plain setting
    (``*_HOST``, ``*_PORT``, ``*_USER``...) or the value is one (a number, a path, a boolean)."""
    out: list[str] = []
    for key, raw in env.items():
        if raw is None:
            continue
        value = str(raw)
        out += secrets_in_text(value)
        if is_secret_name(str(key)) or (
            not _PUBLIC_ENV_NAME.search(str(key)) and not _is_plain_setting(value)
        ):
            out.append(value)
    return out


def secrets_in_config(raw: Any, _key: str = "", _under_env: bool = False) -> list[str]:
    """Every secret in a config file's structure: values of secret-named keys, everything under an
    MCP server's ``env``, secret flags in ``args``, credentials inside URLs anywhere."""
    out: list[str] = []
    if isinstance(raw, Mapping):
        if _key == "env":
            out += secrets_in_env(raw)
        for key, value in raw.items():
            out += secrets_in_config(value, str(key))
    elif isinstance(raw, list):
        if all(isinstance(v, str | int | float) for v in raw):
            out += secrets_in_args(raw)
        if is_secret_name(_key):
            out += [str(v) for v in raw if isinstance(v, str)]
        for value in raw:
            if isinstance(value, Mapping | list):
                out += secrets_in_config(value, _key)
    elif isinstance(raw, str):
        out += secrets_in_text(raw)
        if is_secret_name(_key):
            out.append(raw)
    return out


def register_config(raw: Mapping[str, Any], *, password: str = "", public: Iterable[str | None] = ()) -> None:
    """Register what a configuration resolves: its file's secrets, the MySQL password however it was
    given, the AWS secret key and session token from the environment, secret ``MYSQL_*`` variables
    (they reach an MCP server)."""
    declare_public(*public)
    env_secrets = [os.environ.get(name) for name in SECRET_ENV_VARS]
    env_secrets += [v for k, v in os.environ.items() if k.startswith("MYSQL_") and is_secret_name(k)]
    env_secrets += secrets_in_text(" ".join(v for v in os.environ.values() if "://" in v))
    register(password, *secrets_in_config(dict(raw)), *env_secrets)


# ------------------------------------------------------------------------------ output streams


class RedactingStream:
    """A text stream that masks registered secrets in everything written to it."""

    def __init__(self, inner: Any):
        self._inner = inner

    @property
    def inner(self) -> Any:
        return self._inner

    def write(self, text: str) -> int:
        self._inner.write(redact(text))
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@contextlib.contextmanager
def redacted_std_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` masked for the duration (nested uses are no-ops)."""
    old_out, old_err = sys.stdout, sys.stderr
    if not isinstance(old_out, RedactingStream):
        sys.stdout = RedactingStream(old_out)
    if not isinstance(old_err, RedactingStream):
        sys.stderr = RedactingStream(old_err)
    try:
        yield
    finally:
        # restore only what we replaced (a test may have swapped the streams meanwhile)
        if sys.stdout is not old_out and isinstance(sys.stdout, RedactingStream):
            sys.stdout = old_out
        if sys.stderr is not old_err and isinstance(sys.stderr, RedactingStream):
            sys.stderr = old_err


class RedactingFilter(logging.Filter):
    """Masks registered secrets in a log record's message and exception text (before formatting)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _ordered:
            try:
                message = record.getMessage()
            except Exception:  # a bad format string: let the handler report it as logging does
                return True
            record.msg = redact(message)
            record.args = None
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = redact(record.exc_text)
            fields = getattr(record, "fields", None)
            if isinstance(fields, dict):
                record.fields = json.loads(redact(json.dumps(fields, default=str)))
        return True
