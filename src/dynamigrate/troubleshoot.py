"""Troubleshooting catalogue: maps errors people really hit to cause and fix.

Used by the CLI, the logs and the reports. Entries are keyed by the error ``code`` of a
DynamigrateError or by a driver error number / AWS error code found in its text.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Guidance:
    key: str
    title: str
    cause: str
    fix: str

    def __str__(self) -> str:
        return f"{self.title}: {self.cause} Fix: {self.fix}"


CATALOGUE: dict[str, Guidance] = {}


def add(key: str, title: str, cause: str, fix: str) -> None:
    CATALOGUE[key] = Guidance(key, title, cause, fix)


def guidance_for(exc: BaseException) -> str | None:
    """The catalogue entry that matches an exception (by code, then by known markers in its text)."""
    code = getattr(exc, "code", None)
    if code and code in CATALOGUE:
        return str(CATALOGUE[code])
    text = str(exc)
    for key, entry in CATALOGUE.items():
        if key and key in text:
            return str(entry)
    return None
