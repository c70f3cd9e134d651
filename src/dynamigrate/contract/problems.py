"""Problems found in a contract: each with its JSON path, what is wrong and how to fix it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from dynamigrate.errors import ContractError

Severity = Literal["error", "warning"]

#: code reported for problems found by the structural loader (contract/load.py)
STRUCTURE_CODE = "C000"


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    fix: str | None = None
    severity: Severity = "error"
    #: stable identifier of the check that found the problem (docs/contract-checks.md); None for
    #: structural problems of the loader that have no code of their own
    code: str | None = None

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        if self.severity == "warning":
            text = "warning: " + text
        return text

    def to_dict(self) -> dict[str, str | None]:
        return {
            "path": self.path,
            "severity": self.severity,
            "code": self.code or STRUCTURE_CODE,
            "message": self.message,
            "fix": self.fix,
        }


class ProblemList(list[Problem]):
    """Collects problems; ``raise_if_errors`` fails once with all of them."""

    def error(self, path: str, message: str, fix: str | None = None, code: str | None = None) -> None:
        self.append(Problem(path, message, fix, "error", code))

    def warning(self, path: str, message: str, fix: str | None = None, code: str | None = None) -> None:
        self.append(Problem(path, message, fix, "warning", code))

    def at(self, path: str) -> list[Problem]:
        """The problems reported exactly at ``path``."""
        return [p for p in self if p.path == path]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self if p.severity == "warning"]

    def raise_if_errors(self, what: str = "the contract is invalid") -> None:
        if self.errors:
            raise ContractError(what, problems=list(self.errors), hint="fix each path listed, then run again")


def did_you_mean(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return close[0]
    # 'price' -> 'price_at_time': a unique choice that extends the word (or that the word extends)
    low = word.lower()
    if len(low) >= 3:
        prefixed = [c for c in choices if c.lower().startswith(low) or low.startswith(c.lower())]
        if len(prefixed) == 1:
            return prefixed[0]
    return None
