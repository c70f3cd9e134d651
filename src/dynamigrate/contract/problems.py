"""Problems found in a contract: each with its JSON path, what is wrong and how to fix it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

from dynamigrate.errors import ContractError

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    fix: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        if self.severity == "warning":
            text = "warning: " + text
        return text

    def to_dict(self) -> dict[str, str | None]:
        return {"path": self.path, "severity": self.severity, "message": self.message, "fix": self.fix}


class ProblemList(list[Problem]):
    """Collects problems; ``raise_if_errors`` fails once with all of them."""

    def error(self, path: str, message: str, fix: str | None = None) -> None:
        self.append(Problem(path, message, fix, "error"))

    def warning(self, path: str, message: str, fix: str | None = None) -> None:
        self.append(Problem(path, message, fix, "warning"))

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
    return close[0] if close else None
